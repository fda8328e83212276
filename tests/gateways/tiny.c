/* tests/gateways/tiny.c: a struct_size that does not even cover the fixed fields. */
#include "fixture.h"

FIXTURE_DEFINE(tiny, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR, 0, 8, HVB_GATEWAY_CAP_CHAT)
