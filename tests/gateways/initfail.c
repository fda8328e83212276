/* tests/gateways/initfail.c: init reports a failure. */
#include <heavenbase/gateway.h>

static bool initfail_init(const hvb_gateway_host *host, hvb_error *err) {
  (void)host;
  return hvb_gateway_fail(err, HVB_CONFIG, "initfail: no licence file (fixture)");
}

HVB_GATEWAY_DEFINE(initfail, "1.0.0", "init always fails", "MIT", HVB_GATEWAY_CAP_CHAT,
                   .init = initfail_init)
