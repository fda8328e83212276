/* tests/gateways/minor.c: built for a newer minor of this major. */
#include "fixture.h"

FIXTURE_DEFINE(minor, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR, HVB_GATEWAY_ABI_MINOR + 1,
               FIXTURE_SIZE, HVB_GATEWAY_CAP_CHAT)
