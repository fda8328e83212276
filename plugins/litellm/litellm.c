/* plugins/litellm/litellm.c: the litellm gateway (placeholder until implemented; loads but offers nothing). */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(litellm, "0.0.0", "placeholder", "MIT", 0)
