/* tests/gateways/abi-1.0/abi10.c: a plugin built against ABI 1.0, from a verbatim copy of the
 * 1.0 header (tests/gateways/abi-1.0/heavenbase/gateway.h, `git show <1.0>:include/heavenbase/
 * gateway.h`), which the Makefile puts first on the include path. It has no host table: it
 * calls the hvb_* functions the library still exports, resolved in the global scope, and its
 * init takes only the error. OpenAI-compatible, with one header to show that its prepare ran
 * (tests/cli/test-cli-abi.sh). */
#include <heavenbase/gateway.h>

#if HVB_GATEWAY_ABI_MINOR != 0
#error "abi10.c must be built against the ABI 1.0 header"
#endif

#include <stdio.h>
#include <stdlib.h>

static bool abi10_init(hvb_error *err) {
  /* Proves that the library called init the 1.0 way (err only). */
  if (!err) return false;
  return getenv("HB_TEST_ABI10_INIT_FAIL")
             ? hvb_gateway_fail(err, HVB_CONFIG, "abi10: init was asked to fail")
             : true;
}

static bool abi10_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                          hvb_wire_request *out, hvb_error *err) {
  return hvb_openai_prepare(spec, op, canonical, out, err) &&
         hvb_wire_request_add_header(out, "X-Abi10", hvb_spec_provider(spec), err);
}

HVB_GATEWAY_DEFINE(abi10, "1.0.0", "a plugin built against ABI 1.0", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM, .init = abi10_init,
                   .prepare = abi10_prepare, .parse = hvb_openai_parse,
                   .parse_event = hvb_openai_parse_event)
