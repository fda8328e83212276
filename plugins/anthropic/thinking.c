/* plugins/anthropic/thinking.c: thinking blocks kept across turns.
 *
 * Anthropic accepts earlier thinking in a request only as the blocks it issued, each with its
 * signature (redacted thinking with its opaque data): in a tool loop with thinking on, the
 * assistant turn that called a tool must start with them. The canonical message keeps them as
 * "thinking_blocks" (the name LiteLLM uses), in Anthropic's own shape, so a tool loop or a
 * session sends them back untouched.
 */
#include "translate.h"

#include <string.h>

/* A thinking or redacted_thinking block of a response (borrowed) as the canonical block (new
 * reference), NULL for any other block or one without what the API needs back. */
json_object *anthropic_thinking_keep(json_object *block) {
  json_object *type = NULL, *v = NULL, *sig = NULL;
  if (!json_object_object_get_ex(block, "type", &type)) return NULL;
  const char *t = json_object_get_string(type);
  json_object *out = json_object_new_object();
  if (!strcmp(t, "thinking") && json_object_object_get_ex(block, "thinking", &v) &&
      json_object_object_get_ex(block, "signature", &sig)) {
    json_object_object_add(out, "type", json_object_new_string("thinking"));
    json_object_object_add(out, "thinking", json_object_get(v));
    json_object_object_add(out, "signature", json_object_get(sig));
  } else if (!strcmp(t, "redacted_thinking") && json_object_object_get_ex(block, "data", &v)) {
    json_object_object_add(out, "type", json_object_new_string("redacted_thinking"));
    json_object_object_add(out, "data", json_object_get(v));
  } else {
    json_object_put(out);
    return NULL;
  }
  return out;
}

/* Append the message's "thinking_blocks" to `blocks` (they go first in the turn). Blocks that
 * are not Anthropic's are skipped: they came from another provider. Returns how many. */
size_t anthropic_thinking_blocks(json_object *msg, json_object *blocks) {
  json_object *list = json_object_object_get(msg, "thinking_blocks");
  size_t n = 0;
  for (size_t i = 0; json_object_is_type(list, json_type_array) &&
                     i < json_object_array_length(list);
       i++) {
    json_object *b = anthropic_thinking_keep(json_object_array_get_idx(list, i));
    if (!b) continue;
    json_object_array_add(blocks, b);
    n++;
  }
  return n;
}

/* A streamed thinking block ends: the canonical chunk delta's "thinking_blocks" (new
 * reference) holding the whole block. */
json_object *anthropic_thinking_streamed(const char *text, size_t len, const char *signature) {
  json_object *b = json_object_new_object();
  json_object_object_add(b, "type", json_object_new_string("thinking"));
  json_object_object_add(b, "thinking", json_object_new_string_len(text ? text : "", (int)len));
  json_object_object_add(b, "signature", json_object_new_string(signature ? signature : ""));
  json_object *list = json_object_new_array();
  json_object_array_add(list, b);
  return list;
}
