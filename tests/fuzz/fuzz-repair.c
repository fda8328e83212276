/* tests/fuzz/fuzz-repair.c: libFuzzer target for tool-call argument repair.
 *
 * The first byte selects the options (split, strict, a schema, known tool names); the rest is
 * the arguments. Whatever the input, the result must be one strict JSON object that repairs to
 * itself unchanged, or UNFIXABLE with the original bytes and a reason; strict mode must turn
 * exactly the unfixable inputs into HVB_PARSE errors. Anything else aborts, so that libFuzzer
 * reports it.
 *
 *   ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz-repair
 *   ./tests/fuzz/fuzz-repair -dict=tests/fuzz/repair.dict -max_total_time=60 CORPUS_DIR
 */
#include "repair-invariant.h"

#include <stdint.h>
#include <stdlib.h>

static void check(bool ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static json_object *schema;
  static const char *const names[] = {"get_weather", "search_web", "send_email", NULL};
  if (!schema)
    schema = json_tokener_parse("{\"type\": \"object\", \"properties\": {\"unit\": "
                                "{\"default\": \"c\"}, \"city\": {}}, \"required\": [\"unit\"]}");
  unsigned sel = size ? data[0] : 0;
  const char *in = size ? (const char *)data + 1 : "";
  size_t len = size ? size - 1 : 0;
  unsigned flags = sel & (HVB_REPAIR_SPLIT | HVB_REPAIR_STRICT);

  hvb_error err = HVB_ERROR_INIT;
  hvb_repair_result *r = hvb_repair_arguments(in, len, (sel & 4) ? schema : NULL,
                                              (sel & 8) ? "get_wether" : NULL,
                                              (sel & 8) ? names : NULL, flags, &err);
  if (!r) {
    check((flags & HVB_REPAIR_STRICT) && err.status == HVB_PARSE && err.message[0]);
    return 0;
  }
  /* Strict mode reports unfixable input as an error, never as a result. */
  check(!(flags & HVB_REPAIR_STRICT) || hvb_repair_result_outcome(r) != HVB_REPAIR_UNFIXABLE);
  check(repair_invariant(r, in, len) == NULL);
  hvb_repair_result_free(r);
  return 0;
}
