/* core/call/accum.c: the accumulator: canonical chunks in, public deltas and a result out. */
#include "call/accum.h"
#include "call/result.h"
#include "text/json.h"

#include <glib.h>
#include <stdint.h>
#include <string.h>

typedef struct tool_call {
  int64_t index;
  char *id; /* NULL until a fragment names it */
  char *type;
  char *name;
  GString *args;
} tool_call;

static void tool_call_free(gpointer p) {
  tool_call *tc = p;
  g_free(tc->id);
  g_free(tc->type);
  g_free(tc->name);
  g_string_free(tc->args, TRUE);
  g_free(tc);
}

struct hvb_accum {
  /* The text: while it is one fragment (a non-streamed reply, a cache replay), that
   * fragment's string object, shared rather than copied (`text` empty); from the second
   * fragment on, `text` holds all of it and text_first is NULL. */
  json_object *text_first;
  GString *text;
  GString *think;
  char *finish_reason;
  GPtrArray *calls;    /* tool_call*, in order of first appearance */
  json_object *usage;  /* NULL until a chunk reports usage */
  bool usage_shared;   /* usage is a parsed reply's object (read only), not our own sum */
  json_object *deltas; /* array of every public delta */
  json_object *raw;    /* NULL, the body, or the array of event payloads */
  /* The provider's thinking blocks (signed: they go back in the next turn's request), NULL
   * until one comes. Not a public delta: the text is already "think". */
  json_object *thinking_blocks;
};

hvb_accum *hvb__accum_new(void) {
  hvb_accum *acc = g_new0(hvb_accum, 1);
  acc->text = g_string_new(NULL);
  acc->think = g_string_new(NULL);
  acc->calls = g_ptr_array_new_with_free_func(tool_call_free);
  acc->deltas = json_object_new_array();
  return acc;
}

void hvb__accum_reset(hvb_accum *acc) {
  g_clear_pointer(&acc->text_first, json_object_put);
  g_string_truncate(acc->text, 0);
  g_string_truncate(acc->think, 0);
  g_clear_pointer(&acc->finish_reason, g_free);
  g_ptr_array_set_size(acc->calls, 0);
  g_clear_pointer(&acc->usage, json_object_put);
  acc->usage_shared = false;
  g_clear_pointer(&acc->raw, json_object_put);
  g_clear_pointer(&acc->thinking_blocks, json_object_put);
  json_object_put(acc->deltas);
  acc->deltas = json_object_new_array();
}

void hvb__accum_free(hvb_accum *acc) {
  if (!acc) return;
  /* Not hvb__accum_reset, which would make a new deltas array only to free it. */
  json_object_put(acc->text_first);
  g_free(acc->finish_reason);
  json_object_put(acc->usage);
  json_object_put(acc->raw);
  json_object_put(acc->thinking_blocks);
  g_string_free(acc->text, TRUE);
  g_string_free(acc->think, TRUE);
  g_ptr_array_free(acc->calls, TRUE);
  json_object_put(acc->deltas);
  g_free(acc);
}

void hvb__accum_raw_set(hvb_accum *acc, json_object *body) {
  json_object_put(acc->raw);
  acc->raw = body;
}

void hvb__accum_raw_append(hvb_accum *acc, json_object *payload) {
  if (!json_object_is_type(acc->raw, json_type_array)) {
    json_object_put(acc->raw);
    acc->raw = json_object_new_array();
  }
  json_object_array_add(acc->raw, payload);
}

const char *hvb__accum_finish_reason(const hvb_accum *acc) {
  return acc->finish_reason;
}

json_object *hvb__accum_usage(const hvb_accum *acc) {
  return acc->usage;
}

static bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

void hvb__usage_merge(json_object *dst, json_object *src) {
  if (!json_object_is_type(dst, json_type_object) || !json_object_is_type(src, json_type_object))
    return;
  json_object_object_foreach(src, key, val) {
    json_object *cur = NULL;
    if (!json_object_object_get_ex(dst, key, &cur) || json_object_is_type(cur, json_type_null)) {
      json_object_object_add(dst, key, hvb__json_copy(val));
    } else if (is_number(cur) && is_number(val)) {
      if (json_object_is_type(cur, json_type_int) && json_object_is_type(val, json_type_int))
        json_object_object_add(
            dst, key,
            json_object_new_int64(json_object_get_int64(cur) + json_object_get_int64(val)));
      else
        json_object_object_add(
            dst, key,
            json_object_new_double(json_object_get_double(cur) + json_object_get_double(val)));
    } else if (json_object_is_type(cur, json_type_object) &&
               json_object_is_type(val, json_type_object)) {
      hvb__usage_merge(cur, val);
    }
    /* Otherwise the first non-number value stays: ids and labels do not add up. */
  }
}

/* The non-empty string member `key` of obj, else NULL (borrowed). */
static const char *nonempty_str(json_object *obj, const char *key) {
  const char *s = hvb__json_str(obj, key);
  return s && *s ? s : NULL;
}

static tool_call *find_call(hvb_accum *acc, int64_t index, const char *id) {
  /* Search from the end: a fragment without id continues the latest call of its index. */
  for (guint i = acc->calls->len; i-- > 0;) {
    tool_call *tc = acc->calls->pdata[i];
    if (id ? tc->id && strcmp(tc->id, id) == 0 : tc->index == index) return tc;
  }
  if (id) {
    for (guint i = acc->calls->len; i-- > 0;) {
      tool_call *tc = acc->calls->pdata[i];
      if (!tc->id && tc->index == index) return tc;
    }
  }
  return NULL;
}

static void merge_call(hvb_accum *acc, json_object *frag, size_t position) {
  if (!json_object_is_type(frag, json_type_object)) return;
  json_object *iv = json_object_object_get(frag, "index");
  /* Some OpenAI-compatible servers send whole calls without "index": their place in the
   * array stands in for it. */
  int64_t index =
      json_object_is_type(iv, json_type_int) ? json_object_get_int64(iv) : (int64_t)position;
  const char *id = nonempty_str(frag, "id");
  tool_call *tc = find_call(acc, index, id);
  if (!tc) {
    tc = g_new0(tool_call, 1);
    tc->index = index;
    tc->args = g_string_new(NULL);
    g_ptr_array_add(acc->calls, tc);
  }
  if (id && !tc->id) tc->id = g_strdup(id);
  const char *type = nonempty_str(frag, "type");
  if (type && !tc->type) tc->type = g_strdup(type);
  json_object *fn = json_object_object_get(frag, "function");
  const char *name = nonempty_str(fn, "name");
  if (name && !tc->name) tc->name = g_strdup(name);
  const char *args = hvb__json_str(fn, "arguments");
  if (args) g_string_append(tc->args, args);
}

/* The choice of index 0 (n > 1 is not supported: the others are ignored). Borrowed. */
static json_object *first_choice(json_object *chunk) {
  json_object *choices = json_object_object_get(chunk, "choices");
  if (!json_object_is_type(choices, json_type_array)) return NULL;
  for (size_t i = 0; i < json_object_array_length(choices); i++) {
    json_object *c = json_object_array_get_idx(choices, i);
    json_object *idx = json_object_object_get(c, "index");
    if (json_object_is_type(c, json_type_object) && (!idx || json_object_get_int64(idx) == 0))
      return c;
  }
  return NULL;
}

/* Fold the parts of one delta into the accumulator's state (see accum_fold, which also makes
 * the public delta; a cache replay reuses the stored delta instead). */
static void fold_state(hvb_accum *acc, json_object *content, json_object *think_obj,
                       json_object *calls, const char *finish, json_object *usage,
                       bool share_usage) {
  if (json_object_is_type(content, json_type_string) && json_object_get_string_len(content) > 0) {
    /* The whole string: a reply may hold U+0000, and it is kept. */
    size_t tl = (size_t)json_object_get_string_len(content);
    if (!acc->text_first && acc->text->len == 0) {
      acc->text_first = json_object_get(content);
    } else {
      if (acc->text_first) {
        g_string_append_len(acc->text, json_object_get_string(acc->text_first),
                            json_object_get_string_len(acc->text_first));
        g_clear_pointer(&acc->text_first, json_object_put);
      }
      g_string_append_len(acc->text, json_object_get_string(content), (gssize)tl);
    }
  }
  if (think_obj) g_string_append(acc->think, json_object_get_string(think_obj));
  if (json_object_is_type(calls, json_type_array))
    for (size_t i = 0; i < json_object_array_length(calls); i++)
      merge_call(acc, json_object_array_get_idx(calls, i), i);
  if (finish) {
    g_free(acc->finish_reason);
    acc->finish_reason = g_strdup(finish);
  }
  if (json_object_is_type(usage, json_type_object)) {
    if (!acc->usage && share_usage) {
      /* Summing into an empty object would copy it: share it until a second one comes. */
      acc->usage = json_object_get(usage);
      acc->usage_shared = true;
    } else {
      if (!acc->usage) {
        acc->usage = json_object_new_object();
      } else if (acc->usage_shared) {
        json_object *own = hvb__json_copy(acc->usage);
        json_object_put(acc->usage);
        acc->usage = own;
        acc->usage_shared = false;
      }
      hvb__usage_merge(acc->usage, usage);
    }
  }
}

/* Fold the parts of one delta in and make its public delta (see hvb__accum_feed): the text
 * and think string objects are shared (borrowed here), `calls` is a fragment array, taken
 * into the public delta when `take_calls` (else copied), `usage` is borrowed, and shared
 * with the public delta when `share_usage` (a parsed reply's, which nothing edits; a chunk
 * from a gateway may come from its state, so that one is copied). */
static json_object *accum_fold(hvb_accum *acc, json_object *content, json_object *think_obj,
                               json_object *calls, bool take_calls, const char *finish,
                               json_object *usage, bool share_usage) {
  bool has_calls =
      json_object_is_type(calls, json_type_array) && json_object_array_length(calls) > 0;
  fold_state(acc, content, think_obj, has_calls ? calls : NULL, finish, usage, share_usage);
  json_object *pub = json_object_new_object();
  if (json_object_is_type(content, json_type_string) && json_object_get_string_len(content) > 0)
    json_object_object_add(pub, "text", json_object_get(content));
  if (think_obj) json_object_object_add(pub, "think", json_object_get(think_obj));
  if (has_calls)
    json_object_object_add(pub, "tool_calls", take_calls ? calls : hvb__json_copy(calls));
  else if (take_calls)
    json_object_put(calls);
  if (finish) json_object_object_add(pub, "finish_reason", json_object_new_string(finish));
  if (json_object_is_type(usage, json_type_object))
    json_object_object_add(pub, "usage",
                           share_usage ? json_object_get(usage) : hvb__json_copy(usage));
  if (json_object_object_length(pub) == 0) {
    json_object_put(pub);
    return NULL;
  }
  json_object_array_add(acc->deltas, json_object_get(pub));
  return pub;
}

json_object *hvb__accum_replay(hvb_accum *acc, json_object *delta) {
  json_object *text = json_object_object_get(delta, "text");
  json_object *think = json_object_object_get(delta, "think");
  json_object *finish = json_object_object_get(delta, "finish_reason");
  fold_state(acc, text, think, json_object_object_get(delta, "tool_calls"),
             finish ? json_object_get_string(finish) : NULL,
             json_object_object_get(delta, "usage"), true);
  json_object_array_add(acc->deltas, json_object_get(delta));
  return json_object_get(delta);
}

/* The non-empty string member `key` as its object, else NULL (borrowed). */
static json_object *nonempty_obj(json_object *obj, const char *key) {
  return nonempty_str(obj, key) ? json_object_object_get(obj, key) : NULL;
}

/* Keep the "thinking_blocks" list (borrowed) of a delta or message, in order. */
static void keep_thinking(hvb_accum *acc, json_object *list) {
  for (size_t i = 0; json_object_is_type(list, json_type_array) &&
                     i < json_object_array_length(list);
       i++) {
    if (!acc->thinking_blocks) acc->thinking_blocks = json_object_new_array();
    json_object_array_add(acc->thinking_blocks,
                          hvb__json_copy(json_object_array_get_idx(list, i)));
  }
}

json_object *hvb__accum_feed(hvb_accum *acc, json_object *chunk) {
  json_object *choice = first_choice(chunk);
  json_object *delta = json_object_object_get(choice, "delta");
  /* The public delta shares the chunk's string objects (a reference each, no copy). */
  json_object *think = nonempty_obj(delta, "reasoning_content");
  if (!think) think = nonempty_obj(delta, "reasoning");
  keep_thinking(acc, json_object_object_get(delta, "thinking_blocks"));
  return accum_fold(acc, nonempty_obj(delta, "content"), think,
                    json_object_object_get(delta, "tool_calls"), false,
                    nonempty_str(choice, "finish_reason"), json_object_object_get(chunk, "usage"),
                    false);
}

/* Text of a content value: a string, or the "text" of its parts concatenated. New string. */
static char *content_string(json_object *content) {
  if (json_object_is_type(content, json_type_string))
    return g_strdup(json_object_get_string(content));
  GString *out = g_string_new(NULL);
  for (size_t i = 0;
       json_object_is_type(content, json_type_array) && i < json_object_array_length(content);
       i++) {
    const char *t = hvb__json_str(json_object_array_get_idx(content, i), "text");
    if (t) g_string_append(out, t);
  }
  return g_string_free(out, FALSE);
}

json_object *hvb__completion_to_chunk(json_object *completion) {
  json_object *choice = first_choice(completion);
  json_object *message = json_object_object_get(choice, "message");
  json_object *delta = json_object_new_object();
  json_object_object_add(delta, "role", json_object_new_string("assistant"));
  json_object *content = json_object_object_get(message, "content");
  if (json_object_is_type(content, json_type_string)) {
    /* Shared, not copied: replies can be large, and parsed values are never edited. */
    json_object_object_add(delta, "content", json_object_get(content));
  } else if (content && !json_object_is_type(content, json_type_null)) {
    char *text = content_string(content);
    json_object_object_add(delta, "content", json_object_new_string(text));
    g_free(text);
  }
  static const char *const think_keys[] = {"reasoning_content", "reasoning"};
  for (size_t i = 0; i < G_N_ELEMENTS(think_keys); i++) {
    const char *t = hvb__json_str(message, think_keys[i]);
    if (t) json_object_object_add(delta, think_keys[i], json_object_new_string(t));
  }
  json_object *blocks = json_object_object_get(message, "thinking_blocks");
  if (blocks) json_object_object_add(delta, "thinking_blocks", hvb__json_copy(blocks));
  json_object *calls = json_object_object_get(message, "tool_calls");
  if (json_object_is_type(calls, json_type_array)) {
    json_object *frags = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
      json_object *frag = hvb__json_copy(json_object_array_get_idx(calls, i));
      if (json_object_is_type(frag, json_type_object))
        json_object_object_add(frag, "index", json_object_new_int64((int64_t)i));
      json_object_array_add(frags, frag);
    }
    json_object_object_add(delta, "tool_calls", frags);
  }
  json_object *usage = json_object_object_get(completion, "usage");
  json_object *chunk = hvb__chunk_new(delta, json_object_object_get(choice, "finish_reason"), NULL);
  /* Shared, not copied, like the content: the chunk is only read. */
  if (json_object_is_type(usage, json_type_object))
    json_object_object_add(chunk, "usage", json_object_get(usage));
  return chunk;
}

/* Four JSON objects fewer per non-streamed reply than feeding hvb__completion_to_chunk's. */
json_object *hvb__accum_feed_completion(hvb_accum *acc, json_object *completion) {
  json_object *choice = first_choice(completion);
  json_object *message = json_object_object_get(choice, "message");
  json_object *content = json_object_object_get(message, "content"), *own_content = NULL;
  if (content && !json_object_is_type(content, json_type_string) &&
      !json_object_is_type(content, json_type_null)) {
    char *text = content_string(content);
    content = own_content = json_object_new_string(text);
    g_free(text);
  }
  /* The chunk would hold new strings (cut at an embedded NUL) for think: share the
   * message's unless it has one. */
  json_object *think = NULL, *own_think = NULL;
  static const char *const think_keys[] = {"reasoning_content", "reasoning"};
  for (size_t i = 0; i < G_N_ELEMENTS(think_keys) && !think; i++) {
    const char *t = nonempty_str(message, think_keys[i]);
    if (!t) continue;
    think = json_object_object_get(message, think_keys[i]);
    if (strlen(t) != (size_t)json_object_get_string_len(think))
      think = own_think = json_object_new_string(t);
  }
  json_object *calls = json_object_object_get(message, "tool_calls"), *frags = NULL;
  if (json_object_is_type(calls, json_type_array) && json_object_array_length(calls) > 0) {
    frags = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
      json_object *frag = hvb__json_copy(json_object_array_get_idx(calls, i));
      if (json_object_is_type(frag, json_type_object))
        json_object_object_add(frag, "index", json_object_new_int64((int64_t)i));
      json_object_array_add(frags, frag);
    }
  }
  keep_thinking(acc, json_object_object_get(message, "thinking_blocks"));
  json_object *pub = accum_fold(acc, content, think, frags, true,
                                nonempty_str(choice, "finish_reason"),
                                json_object_object_get(completion, "usage"), true);
  json_object_put(own_content);
  json_object_put(own_think);
  return pub;
}

json_object *hvb__chunk_new(json_object *delta, json_object *finish_reason, json_object *usage) {
  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "delta", delta);
  json_object_object_add(choice, "finish_reason", hvb__json_copy(finish_reason));
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);
  json_object *chunk = json_object_new_object();
  json_object_object_add(chunk, "choices", choices);
  if (usage) json_object_object_add(chunk, "usage", hvb__json_copy(usage));
  return chunk;
}


/* The accumulated tool calls as OpenAI message tool_calls (new reference), NULL when none. */
static json_object *calls_json(const hvb_accum *acc) {
  if (acc->calls->len == 0) return NULL;
  json_object *arr = json_object_new_array();
  for (guint i = 0; i < acc->calls->len; i++) {
    const tool_call *tc = acc->calls->pdata[i];
    json_object *call = json_object_new_object();
    /* A provider that gives no id leaves it out; tool-call repair may name it later. */
    if (tc->id) json_object_object_add(call, "id", json_object_new_string(tc->id));
    json_object_object_add(call, "type", json_object_new_string(tc->type ? tc->type : "function"));
    json_object *fn = json_object_new_object();
    json_object_object_add(fn, "name", json_object_new_string(tc->name ? tc->name : ""));
    json_object_object_add(fn, "arguments",
                           json_object_new_string(tc->args->len ? tc->args->str : "{}"));
    json_object_object_add(call, "function", fn);
    json_object_array_add(arr, call);
  }
  return arr;
}

hvb_result *hvb__accum_result(const hvb_accum *acc, json_object *request_messages) {
  hvb_result *r = g_new0(hvb_result, 1);
  /* One string object for the text and the message's content; a one-fragment reply shares
   * the fragment's (parsed values are never edited) instead of copying it twice. */
  r->text_obj = acc->text_first ? json_object_get(acc->text_first)
                                : json_object_new_string_len(acc->text->str, (int)acc->text->len);
  r->text = (char *)json_object_get_string(r->text_obj);
  bool has_text = acc->text_first || acc->text->len;
  r->think = g_strdup(acc->think->str);
  r->finish_reason = g_strdup(acc->finish_reason ? acc->finish_reason : "");
  r->tool_calls = calls_json(acc);

  r->message = json_object_new_object();
  json_object_object_add(r->message, "role", json_object_new_string("assistant"));
  /* OpenAI's own shape: content is null when the turn is only tool calls. */
  json_object_object_add(r->message, "content",
                         has_text || !r->tool_calls ? json_object_get(r->text_obj) : NULL);
  if (acc->think->len)
    json_object_object_add(r->message, "reasoning_content", json_object_new_string(r->think));
  if (acc->thinking_blocks)
    json_object_object_add(r->message, "thinking_blocks", hvb__json_copy(acc->thinking_blocks));
  if (r->tool_calls)
    json_object_object_add(r->message, "tool_calls", json_object_get(r->tool_calls));

  r->usage = acc->usage_shared ? json_object_get(acc->usage) : hvb__json_copy(acc->usage);
  /* New arrays whose elements are shared references: the result's values are read-only
   * (getters borrow), so sharing them costs nothing and copying a long conversation or a
   * large reply on every call would. */
  r->messages = json_object_new_array();
  for (size_t i = 0; json_object_is_type(request_messages, json_type_array) &&
                     i < json_object_array_length(request_messages);
       i++)
    json_object_array_add(r->messages,
                          json_object_get(json_object_array_get_idx(request_messages, i)));
  json_object_array_add(r->messages, json_object_get(r->message));
  size_t nd = json_object_array_length(acc->deltas);
  r->deltas = json_object_new_array_ext((int)(nd ? nd : 1));
  for (size_t i = 0; i < nd; i++)
    json_object_array_add(r->deltas, json_object_get(json_object_array_get_idx(acc->deltas, i)));
  r->raw = json_object_get(acc->raw);
  return r;
}

