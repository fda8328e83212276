/* tests/gateways/badmagic.c: the right symbol, a descriptor with the wrong magic. */
#include "fixture.h"

FIXTURE_DEFINE(badmagic, 0xdeadbeefu, HVB_GATEWAY_ABI_MAJOR, HVB_GATEWAY_ABI_MINOR,
               FIXTURE_SIZE, HVB_GATEWAY_CAP_CHAT)
