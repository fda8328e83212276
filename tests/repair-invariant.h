/* tests/repair-invariant.h: what every tool-call repair result must satisfy, whatever the
 * input. Shared by tests/unit/test-repair.c and tests/fuzz/fuzz-repair.c; header-only. */
#ifndef HVB_REPAIR_INVARIANT_H
#define HVB_REPAIR_INVARIANT_H

#include <heavenbase/repair.h>

#include <stdbool.h>
#include <string.h>

/* Strict JSON (no comments, no trailing commas, valid UTF-8), one object, nothing after. */
static inline bool repair_is_strict_object(const char *text, size_t len) {
  json_tokener *tok = json_tokener_new_ex(HVB_REPAIR_MAX_DEPTH + 8);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  bool ok = json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) == len && json_object_is_type(v, json_type_object);
  json_object_put(v);
  json_tokener_free(tok);
  return ok;
}

/* NULL when `r`, the result for the `len` bytes at `in`, keeps the invariant; else what broke.
 * VALID and REPAIRED: every call is one strict JSON object, call 0 is the arguments, and
 * repairing the arguments again is VALID, without edits, and changes nothing. UNFIXABLE: the
 * arguments are the input bytes, with a reason, and no value or calls. Always: every edit has
 * a code and a text, and the JSON form of the result is valid JSON. */
static inline const char *repair_invariant(const hvb_repair_result *r, const char *in,
                                           size_t len) {
  size_t n;
  const char *out = hvb_repair_result_arguments(r, &n);
  for (size_t i = 0; i < hvb_repair_result_edit_count(r); i++)
    if (!hvb_repair_result_edit_code_at(r, i) || !hvb_repair_result_edit_text_at(r, i))
      return "an edit without code or text";
  json_object *j = hvb_repair_result_to_json(r);
  const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
  bool json_ok = repair_is_strict_object(text, strlen(text));
  json_object_put(j);
  if (!json_ok) return "the JSON form of the result is not valid JSON";

  if (hvb_repair_result_outcome(r) == HVB_REPAIR_UNFIXABLE) {
    if (!hvb_repair_result_reason(r) || !hvb_repair_result_reason_text(r))
      return "unfixable without a reason";
    if (n != len || (len && memcmp(out, in, len)))
      return "unfixable but the arguments are not the input";
    if (hvb_repair_result_value(r) || hvb_repair_result_call_count(r))
      return "unfixable with a value or calls";
    return NULL;
  }
  if (hvb_repair_result_reason(r)) return "a reason on a fixed result";
  if (hvb_repair_result_call_count(r) < 1) return "no calls";
  for (size_t i = 0; i < hvb_repair_result_call_count(r); i++) {
    const char *call = hvb_repair_result_call_at(r, i);
    if (!repair_is_strict_object(call, strlen(call))) return "a call is not one strict JSON object";
  }
  if (strlen(out) != n || strcmp(hvb_repair_result_call_at(r, 0), out))
    return "call 0 is not the arguments";
  if (!json_object_is_type(hvb_repair_result_value(r), json_type_object)) return "no value";
  hvb_repair_result *again = hvb_repair_arguments(out, n, NULL, NULL, NULL, 0, NULL);
  const char *why = NULL;
  if (!again || hvb_repair_result_outcome(again) != HVB_REPAIR_VALID ||
      hvb_repair_result_edit_count(again) != 0)
    why = "repairing the output again is not VALID";
  else if (strcmp(hvb_repair_result_arguments(again, NULL), out))
    why = "repairing the output again changes it";
  hvb_repair_result_free(again);
  return why;
}

#endif
