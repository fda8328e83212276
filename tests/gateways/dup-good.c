/* tests/gateways/dup-good.c: a second hb-gateway-good.so (built into tests/gateways/dup/):
 * whichever directory comes first in the search path wins, the other is a duplicate. */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(good, "9.9.9", "the same name in a second directory", "MIT", 0)
