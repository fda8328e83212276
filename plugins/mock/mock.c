/* plugins/mock/mock.c: the mock gateway (placeholder until implemented; loads but offers nothing). */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(mock, "0.0.0", "placeholder", "MIT", 0)
