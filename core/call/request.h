/* core/call/request.h: the canonical request of a chat call (core/call/request.c).
 *
 * Pure functions of their arguments: thread-safe.
 */
#ifndef HVB_CALL_REQUEST_H
#define HVB_CALL_REQUEST_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>

/* Check that `messages` is a non-empty array of objects each with a string "role".
 * HVB_EINVAL naming the index and field ("messages[2].role must be a string"). */
bool hvb__messages_validate(json_object *messages, hvb_error *err);

/* Build the canonical request for one call: {"model": model_id, "messages": [...], <spec
 * args merged with the call's args>, "stream": bool}. `messages` (borrowed; validated and
 * copied) or, when NULL, `prompt` as one user message; the call option "system" becomes a
 * system message in front. Call options (borrowed, may be NULL): "system" (string), "stream"
 * (boolean), "args" (object); any other key is a request argument too, and wins over an
 * "args" entry of the same name. "stream" is true when `force_stream` or the option says so.
 * "model", "messages" and "stream" always come from the pipeline, never from arguments.
 * Returns a new object (caller owns), or NULL with HVB_EINVAL naming the bad option. */
json_object *hvb__request_build(const hvb_spec *spec, const char *prompt, json_object *messages,
                                json_object *call_options, bool force_stream, hvb_error *err);

#endif
