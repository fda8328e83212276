/* tests/gateways/older.c: a plugin from an older minor whose descriptor ends before
 * `execute`. It must load, and the library must never read the slot past its struct_size:
 * the slot holds a function that fails with a message saying so, and the test checks that the
 * library's copy of the slot is NULL. It offers images only, so that a chat through it fails
 * the operation check. */
#include "fixture.h"
#include <stddef.h>
#include <stdio.h>

/* No host function here: an ABI 1.0 plugin resolves those in the global scope, which the
 * unit suites (the core linked statically, no -export-dynamic) do not offer. The real 1.0
 * fixture, built from the 1.0 header, is tests/gateways/abi-1.0/abi10.c. */
static bool older_execute(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                          json_object *out, hvb_error *err) {
  (void)spec, (void)op, (void)canonical, (void)out;
  err->status = HVB_EINVAL;
  snprintf(err->message, sizeof err->message, "older: execute lies past struct_size");
  return false;
}

static bool older_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                              bool *done, hvb_error *err) {
  (void)state, (void)ev, (void)chunks, (void)err;
  *done = true;
  return true;
}

FIXTURE_DEFINE(older, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR, 0,
               offsetof(hvb_gateway_descriptor, execute),
               HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_OFFLINE,
               .parse_event = older_parse_event,
               .execute = older_execute)
