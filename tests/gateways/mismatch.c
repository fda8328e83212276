/* tests/gateways/mismatch.c: built as hb-gateway-mismatch.so, calls itself "other". */
#include <heavenbase/gateway.h>

HVB_GATEWAY_DEFINE(other, "1.0.0", "a descriptor whose name is not its file's", "MIT",
                   HVB_GATEWAY_CAP_CHAT)
