/* heavenbase/repair.h: repair of tool-call arguments.
 *
 * Models write broken JSON in tool-call arguments: markdown fences, prose around the object,
 * truncated output, trailing commas, comments, single quotes, Python literals, raw newlines in
 * strings, two objects glued together, a misspelt tool name, a required field left out. This
 * module turns such arguments into one compact JSON object, and says what it did:
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     hvb_repair_result *r = hvb_repair_tool_call(name, args, strlen(args), tools, 0, &err);
 *     if (r && hvb_repair_result_outcome(r) != HVB_REPAIR_UNFIXABLE)
 *       run_tool(hvb_repair_result_tool(r), hvb_repair_result_arguments(r, NULL));
 *     hvb_repair_result_free(r);
 *
 * Outcomes. HVB_REPAIR_VALID: the arguments were one strict JSON object and needed nothing
 * (they are still re-serialized compactly; the one edit a VALID result may carry is
 * `empty_to_object`, for an empty string given to a tool that takes no required arguments).
 * HVB_REPAIR_REPAIRED: edits were made and the result is valid. HVB_REPAIR_UNFIXABLE: no valid
 * object could be made without guessing; the result then holds the original bytes and a
 * reason. Nothing is ever silently replaced by `{}`.
 *
 * Repairs never invent content. Truncated input is closed, not completed: an unterminated
 * string is closed, open objects and arrays are closed in nesting order, and a member cut
 * before its value (`{"a": 1, "b"` or `{"a": 1, "b":`) is dropped. Missing required fields are
 * filled only from the schema's `default`.
 *
 * Edit codes (stable, machine-readable; each appears at most once per result):
 *   strip_bom strip_fence strip_prose strip_comment extra_brackets
 *   close_string close_brackets drop_incomplete trailing_comma extra_comma missing_comma
 *   missing_colon missing_braces single_quotes unquoted_key python_literal non_json_literal
 *   fix_number escape_control escape_quote invalid_escape invalid_utf8 nul_in_key
 *   duplicate_key unwrap_string empty_to_object split_concatenated
 *   fill_default:<field> tool_name:<old>-><new>
 * Reasons of UNFIXABLE results:
 *   not_json not_object concatenated_objects missing_required:<field> unknown_tool:<name>
 *   too_deep too_large
 *
 * Limits: input larger than HVB_REPAIR_MAX_BYTES or nested deeper than HVB_REPAIR_MAX_DEPTH is
 * UNFIXABLE (`too_large`, `too_deep`). Time is linear in the input; the scanner keeps its own
 * stack, so hostile input cannot exhaust the C stack.
 *
 * Errors: the repair functions return NULL with err set for bad arguments (HVB_EINVAL: NULL
 * arguments with a non-zero length, a schema that is not an object, tools that are not an
 * array) and, with HVB_REPAIR_STRICT, for unfixable arguments (HVB_PARSE; the message names
 * the reason code). Without HVB_REPAIR_STRICT an unfixable input is a result, not an error.
 *
 * Thread safety: the functions keep no global state and may run in any number of threads at
 * once. A result is immutable after it is returned: several threads may read one, and it is
 * freed by one of them when all are done. (The one thing built after the return is the JSON
 * value of hvb_repair_result_value, on its first call; that is done once, under a lock
 * of the result, so concurrent first calls are safe and all get the same object.) Borrowed JSON arguments (schema, tools) are only
 * read, but json-c objects are not thread-safe: do not modify them during the call.
 */
#ifndef HEAVENBASE_REPAIR_H
#define HEAVENBASE_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVB_REPAIR_MAX_BYTES ((size_t)16 << 20) /* 16 MiB */
#define HVB_REPAIR_MAX_DEPTH 512                /* nesting levels of objects and arrays */

typedef enum hvb_repair_outcome {
  HVB_REPAIR_VALID = 0,
  HVB_REPAIR_REPAIRED = 1,
  HVB_REPAIR_UNFIXABLE = 2
} hvb_repair_outcome;

/* Flags for the repair functions. */
enum {
  /* `{...}{...}` (also separated by commas or newlines) becomes one call per object
   * (edit `split_concatenated`) instead of UNFIXABLE `concatenated_objects`. */
  HVB_REPAIR_SPLIT = 1u << 0,
  /* An UNFIXABLE input is an error: NULL and HVB_PARSE instead of a result. */
  HVB_REPAIR_STRICT = 1u << 1
};

/* The configuration of repair in the call pipeline: heavenbase.llm.tool_call_repair.enabled,
 * .strict and .split. A plain struct; HVB_REPAIR_CONFIG_INIT holds the defaults (enabled, not
 * strict, no splitting). */
typedef struct hvb_repair_config {
  bool enabled; /* repair tool-call arguments before tools run */
  bool strict;  /* unfixable arguments fail the call (HVB_PARSE) instead of passing through */
  bool split;   /* concatenated objects become separate tool calls */
} hvb_repair_config;

#define HVB_REPAIR_CONFIG_INIT {true, false, false}

/* The HVB_REPAIR_* flags that `cfg` asks for (0 for NULL). */
unsigned hvb_repair_config_flags(const hvb_repair_config *cfg);

typedef struct hvb_repair_result hvb_repair_result;

/* Repair the arguments of one tool call, as the pipeline sees it: `tool` is the name the model
 * called (may be NULL), `arguments` its `len` bytes (may hold NUL bytes and invalid UTF-8;
 * NULL with len 0 is the empty string), `tools` the OpenAI `tools` array of the request
 * (borrowed, may be NULL): [{"type": "function", "function": {"name": ..., "parameters":
 * {...}}}, ...] (elements that are {"name": ..., "parameters": ...} directly are accepted too).
 * An unknown tool name is replaced by the closest known one (edit `tool_name:<old>-><new>`),
 * and that tool's `parameters` is the schema. Returns a new result (hvb_repair_result_free),
 * or NULL with err set (see Errors above). */
hvb_repair_result *hvb_repair_tool_call(const char *tool, const char *arguments, size_t len,
                                        json_object *tools, unsigned flags, hvb_error *err);

/* The same with the parts given separately: `schema` is an OpenAI function `parameters` JSON
 * schema (borrowed, may be NULL; its `required` list and `properties.<name>.default` values
 * are used), `tool_names` a NULL-terminated list of known tool names (borrowed, may be NULL:
 * then `tool` is not checked), `tool` the called name (may be NULL). */
hvb_repair_result *hvb_repair_arguments(const char *arguments, size_t len, json_object *schema,
                                        const char *tool, const char *const *tool_names,
                                        unsigned flags, hvb_error *err);

/* Free a result and everything it owns. NULL is a no-op. */
void hvb_repair_result_free(hvb_repair_result *r);

hvb_repair_outcome hvb_repair_result_outcome(const hvb_repair_result *r);

/* "valid", "repaired", "unfixable"; "unknown" outside the enum. Static string. */
const char *hvb_repair_outcome_name(hvb_repair_outcome outcome);

/* The arguments to pass to the tool: compact JSON text (NUL-terminated; for a split input,
 * the first object). For UNFIXABLE, the original bytes, which may hold NUL bytes: use `len`
 * (may be NULL). Borrowed from the result. */
const char *hvb_repair_result_arguments(const hvb_repair_result *r, size_t *len);

/* The arguments as a JSON object, borrowed from the result (take a reference with
 * json_object_get to keep it); NULL for UNFIXABLE. Repair usually writes the arguments' text
 * without making json-c objects; then the first call parses that text (the cost of one more
 * scan, once per result) and keeps the object in the result: callers that need only the text
 * (hvb_repair_result_arguments) never pay for it. The object must not be modified: other
 * threads may be reading it. */
json_object *hvb_repair_result_value(const hvb_repair_result *r);

/* The edits made, in a stable order: `code` is one of the codes listed above, `text` says in
 * words what changed (e.g. "removed a trailing comma (2 times)"). For UNFIXABLE, the edits
 * found before the failure (the arguments are still the original). Index out of range: NULL.
 * Borrowed. */
size_t hvb_repair_result_edit_count(const hvb_repair_result *r);
const char *hvb_repair_result_edit_code_at(const hvb_repair_result *r, size_t i);
const char *hvb_repair_result_edit_text_at(const hvb_repair_result *r, size_t i);

/* Is `code` among the edits? */
bool hvb_repair_result_has_edit(const hvb_repair_result *r, const char *code);

/* Why the arguments are UNFIXABLE: a reason code as listed above, and a one-line explanation
 * naming the field, tool, byte offset or limit. NULL unless UNFIXABLE. Borrowed. */
const char *hvb_repair_result_reason(const hvb_repair_result *r);
const char *hvb_repair_result_reason_text(const hvb_repair_result *r);

/* The tool to call: the given name, or the known name it was corrected to; NULL when no name
 * was given. Borrowed. */
const char *hvb_repair_result_tool(const hvb_repair_result *r);

/* The calls to make: 1 for VALID and REPAIRED (call 0 is the arguments), one per object for a
 * split input, 0 for UNFIXABLE. Each is compact JSON text, borrowed. */
size_t hvb_repair_result_call_count(const hvb_repair_result *r);
const char *hvb_repair_result_call_at(const hvb_repair_result *r, size_t i);

/* The result as a new JSON object (json_object_put):
 * {"outcome": "repaired", "arguments": "<text>", "edits": [{"code": ..., "text": ...}],
 *  "reason": null | "<code>", "reason_text": null | "...", "tool": null | "<name>",
 *  "calls": ["<text>", ...]}. For UNFIXABLE, "arguments" is the original with invalid UTF-8
 * replaced by U+FFFD (JSON text must be UTF-8). */
json_object *hvb_repair_result_to_json(const hvb_repair_result *r);

#ifdef __cplusplus
}
#endif

#endif
