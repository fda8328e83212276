/* tests/gateways/undef.c: references a function that exists nowhere, so dlopen(RTLD_NOW)
 * refuses the file. */
#include <heavenbase/gateway.h>

bool hvb_no_such_function(hvb_error *err);

static bool undef_init(hvb_error *err) { return hvb_no_such_function(err); }

HVB_GATEWAY_DEFINE(undef, "1.0.0", "needs a symbol no library has", "MIT",
                   HVB_GATEWAY_CAP_CHAT, .init = undef_init)
