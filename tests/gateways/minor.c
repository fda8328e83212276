/* tests/gateways/minor.c: built for a newer minor of this major (1.3 against a 1.2 library).
 * Like a real plugin of that minor built carelessly, it also calls a host function this
 * library does not have: the loader opens files RTLD_LAZY and reads the descriptor before
 * binding, so the file is refused at stage "abi", never inside dlopen. (Linked -z lazy, in
 * case the toolchain binds everything at load by default.) */
#include "fixture.h"

bool hvb_gateway_from_the_future(hvb_error *err);

static bool minor_init(const hvb_gateway_host *host, hvb_error *err) {
  (void)host;
  return hvb_gateway_from_the_future(err);
}

FIXTURE_DEFINE(minor, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR, HVB_GATEWAY_ABI_MINOR + 1,
               FIXTURE_SIZE, HVB_GATEWAY_CAP_CHAT, .init = minor_init)
