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
#include <heavenbase/repair.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_strict_object(const char *text, size_t len) {
  json_tokener *tok = json_tokener_new_ex(HVB_REPAIR_MAX_DEPTH + 8);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  bool ok = json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) == len && json_object_is_type(v, json_type_object);
  json_object_put(v);
  json_tokener_free(tok);
  return ok;
}

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
  size_t n;
  const char *out = hvb_repair_result_arguments(r, &n);
  if (hvb_repair_result_outcome(r) == HVB_REPAIR_UNFIXABLE) {
    check(!(flags & HVB_REPAIR_STRICT));
    check(n == len && !memcmp(out, in, len));
    check(hvb_repair_result_reason(r) && hvb_repair_result_reason_text(r));
    check(!hvb_repair_result_value(r) && hvb_repair_result_call_count(r) == 0);
  } else {
    check(!hvb_repair_result_reason(r));
    check(hvb_repair_result_call_count(r) >= 1);
    for (size_t i = 0; i < hvb_repair_result_call_count(r); i++) {
      const char *call = hvb_repair_result_call(r, i);
      check(is_strict_object(call, strlen(call)));
    }
    check(!strcmp(hvb_repair_result_call(r, 0), out) && strlen(out) == n);
    hvb_repair_result *again = hvb_repair_arguments(out, n, NULL, NULL, NULL, 0, NULL);
    check(again && hvb_repair_result_outcome(again) == HVB_REPAIR_VALID);
    check(hvb_repair_result_edit_count(again) == 0);
    check(!strcmp(hvb_repair_result_arguments(again, NULL), out));
    hvb_repair_result_free(again);
  }
  for (size_t i = 0; i < hvb_repair_result_edit_count(r); i++)
    check(hvb_repair_result_edit_code(r, i) && hvb_repair_result_edit_text(r, i));
  json_object *j = hvb_repair_result_to_json(r);
  const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
  check(is_strict_object(text, strlen(text)));
  json_object_put(j);
  hvb_repair_result_free(r);
  return 0;
}
