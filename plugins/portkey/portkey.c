/* plugins/portkey/portkey.c: the portkey gateway (placeholder until implemented; loads but offers nothing). */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(portkey, "0.0.0", "placeholder", "MIT", 0)
