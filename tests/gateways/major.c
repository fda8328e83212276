/* tests/gateways/major.c: built for the next ABI major. */
#include "fixture.h"

FIXTURE_DEFINE(major, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR + 1, 0, FIXTURE_SIZE,
               HVB_GATEWAY_CAP_CHAT)
