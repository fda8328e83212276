/* plugins/anthropic/anthropic.c: the anthropic gateway (placeholder until implemented; loads but offers nothing). */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(anthropic, "0.0.0", "placeholder", "MIT", 0)
