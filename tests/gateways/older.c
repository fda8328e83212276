/* tests/gateways/older.c: a plugin from an older minor whose descriptor ends before
 * `execute`. It must load, and the library must never read the slot past its struct_size:
 * the slot holds a function that fails with a message saying so, and the test checks that the
 * library's copy of the slot is NULL. It offers images only, so that a chat through it fails
 * the operation check. */
#include "fixture.h"
#include <stddef.h>

static bool older_execute(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                          json_object *out, hvb_error *err) {
  (void)spec, (void)op, (void)canonical, (void)out;
  return hvb_gateway_fail(err, HVB_EINVAL, "older: execute lies past struct_size");
}

FIXTURE_DEFINE(older, HVB_GATEWAY_MAGIC, HVB_GATEWAY_ABI_MAJOR, 0,
               offsetof(hvb_gateway_descriptor, execute),
               HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_OFFLINE,
               .parse = hvb_openai_parse, .parse_event = hvb_openai_parse_event,
               .execute = older_execute)
