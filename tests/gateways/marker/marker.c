/* tests/gateways/marker/marker.c: a well-formed offline gateway that leaves a mark when any of
 * its code runs: its constructor (run by dlopen) and its init each append a line to the file
 * named by $HB_TEST_MARKER. The permission tests copy it into a directory others can write and
 * check that the file stays empty: a refused plugin runs nothing. */
#include <heavenbase/gateway.h>
#include <stdio.h>
#include <stdlib.h>

static void mark(const char *what) {
  const char *path = getenv("HB_TEST_MARKER");
  FILE *f = path && *path ? fopen(path, "a") : NULL;
  if (!f) return;
  fprintf(f, "%s\n", what);
  fclose(f);
}

__attribute__((constructor)) static void marker_loaded(void) { mark("constructor"); }

static bool marker_init(const hvb_gateway_host *host, hvb_error *err) {
  (void)host;
  (void)err;
  mark("init");
  return true;
}

static bool marker_execute(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                           json_object *out, hvb_error *err) {
  (void)spec;
  (void)canonical;
  if (op != HVB_GATEWAY_OP_CHAT) return hvb_gateway_fail(err, HVB_UNSUPPORTED, "chat only");
  json_object_array_add(out, json_tokener_parse("{\"choices\":[{\"index\":0,\"delta\":"
                                                "{\"content\":\"marker reply\"},"
                                                "\"finish_reason\":\"stop\"}]}"));
  return true;
}

HVB_GATEWAY_DEFINE(marker, "1.0.0", "a test gateway that marks when its code runs", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_OFFLINE, .init = marker_init,
                   .execute = marker_execute)
