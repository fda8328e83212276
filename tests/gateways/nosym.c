/* tests/gateways/nosym.c: exports a function, but not hvb_gateway_query. */
#include <heavenbase/gateway.h>

HVB_GATEWAY_EXPORT int hvb_gateway_query_v0(void);
HVB_GATEWAY_EXPORT int hvb_gateway_query_v0(void) { return 0; }
