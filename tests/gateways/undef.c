/* tests/gateways/undef.c: references a function that exists nowhere. Its descriptor is fine,
 * so the file passes the lazy open and the descriptor's stages; binding it (dlopen RTLD_NOW)
 * refuses it at stage "open" instead of a crash at the first call. */
#include <heavenbase/gateway.h>

bool hvb_no_such_function(hvb_error *err);

static bool undef_init(const hvb_gateway_host *host, hvb_error *err) {
  (void)host;
  return hvb_no_such_function(err);
}

HVB_GATEWAY_DEFINE(undef, "1.0.0", "needs a symbol no library has", "MIT",
                   HVB_GATEWAY_CAP_CHAT, .init = undef_init)
