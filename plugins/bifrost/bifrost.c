/* plugins/bifrost/bifrost.c: the bifrost gateway (placeholder until implemented; loads but offers nothing). */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(bifrost, "0.0.0", "placeholder", "MIT", 0)
