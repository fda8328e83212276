/* core/api/llm.c: the call pipeline (chat and stream), the accumulator and results.
 *
 * One pipeline serves both: a call builds the canonical request, the gateway turns it into an
 * HTTP request (or answers offline), the transport runs it, and what comes back becomes
 * canonical chunks fed to one accumulator. A stream hands the accumulator's deltas to its
 * caller as they come; chat runs the same machinery to the end and returns the result.
 */
#include "api/llm.h"
#include "net/transport.h"
#include "gateway/gateway.h"
#include "text/json.h"
#include "text/sse.h"
#include "cache/store.h"
#include "api/tools.h"
#include "call/image.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* A non-streamed response body larger than this is refused rather than buffered. */
#define HVB_MAX_BODY (64u << 20)

/* ============================================================================================
 * Canonical request
 * ========================================================================================== */

bool hvb__messages_validate(json_object *messages, hvb_error *err) {
  if (!json_object_is_type(messages, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "messages must be a JSON array of message objects");
  size_t n = json_object_array_length(messages);
  if (n == 0) return hvb__fail(err, HVB_EINVAL, "messages is empty (give at least one message)");
  for (size_t i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(messages, i);
    if (!json_object_is_type(m, json_type_object))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu] must be an object with a 'role'", i);
    json_object *role = NULL;
    if (!json_object_object_get_ex(m, "role", &role))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu].role is missing", i);
    if (!json_object_is_type(role, json_type_string))
      return hvb__fail(err, HVB_EINVAL, "messages[%zu].role must be a string", i);
  }
  return true;
}

static json_object *message_new(const char *role, const char *content) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "role", json_object_new_string(role));
  json_object_object_add(m, "content", json_object_new_string(content));
  return m;
}

json_object *hvb__request_build(const hvb_spec *spec, const char *prompt, json_object *messages,
                                json_object *call_options, bool force_stream, hvb_error *err) {
  if (call_options && !json_object_is_type(call_options, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
    return NULL;
  }
  const char *system = NULL;
  json_object *images = NULL; /* borrowed: the "images" call option (core/call/image.c) */
  bool stream = force_stream;
  /* Only made when there are call options (most calls have none). */
  json_object *args = call_options ? json_object_new_object() : NULL;
  json_object *top = call_options ? json_object_new_object() : NULL; /* unknown keys: they win
                                                                        over "args" */
  if (call_options) {
    json_object_object_foreach(call_options, key, val) {
      if (strcmp(key, "system") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_string)) goto bad_type;
        system = json_object_get_string(val);
      } else if (strcmp(key, "stream") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_boolean)) goto bad_type;
        stream = stream || json_object_get_boolean(val);
      } else if (strcmp(key, "cache") == 0 || strcmp(key, "max_steps") == 0 ||
                 strcmp(key, "repair_tool_calls") == 0) {
        /* Settings of the pipeline (the response cache, the tool loop, tool-call repair),
         * not request arguments. */
        continue;
      } else if (strcmp(key, "images") == 0) {
        images = val; /* image_url parts for the last user message, not an argument */
      } else if (strcmp(key, "args") == 0) {
        if (json_object_is_type(val, json_type_null)) continue;
        if (!json_object_is_type(val, json_type_object)) goto bad_type;
        hvb__json_merge(args, val);
      } else {
        json_object_object_add(top, key, hvb__json_copy(val));
      }
      continue;
    bad_type:
      hvb__fail(err, HVB_EINVAL, "call option '%s' must be %s", key,
                strcmp(key, "system") == 0   ? "a string"
                : strcmp(key, "stream") == 0 ? "a boolean"
                                             : "a JSON object");
      json_object_put(args);
      json_object_put(top);
      return NULL;
    }
  }
  if (top) hvb__json_merge(args, top);
  json_object_put(top);

  if (messages && !hvb__messages_validate(messages, err)) {
    json_object_put(args);
    return NULL;
  }
  json_object *msgs = json_object_new_array();
  if (system) json_object_array_add(msgs, message_new("system", system));
  if (messages) {
    for (size_t i = 0; i < json_object_array_length(messages); i++)
      json_object_array_add(msgs, hvb__json_copy(json_object_array_get_idx(messages, i)));
  } else {
    json_object_array_add(msgs, message_new("user", prompt ? prompt : ""));
  }
  if (!hvb__images_attach(msgs, images, err)) {
    json_object_put(msgs);
    json_object_put(args);
    return NULL;
  }

  /* model and messages first for readable logs and bodies; the spec's arguments, then the
   * call's; then the keys the pipeline owns, which no argument may override. */
  json_object *req = json_object_new_object();
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  json_object_object_add(req, "messages", NULL);
  hvb__json_merge(req, hvb_spec_args(spec));
  if (args) hvb__json_merge(req, args);
  json_object_put(args);
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  json_object_object_add(req, "messages", msgs);
  json_object_object_add(req, "stream", json_object_new_boolean(stream));
  return req;
}

/* ============================================================================================
 * Accumulator
 * ========================================================================================== */

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

/* Fold the parts of one delta in and make its public delta (see hvb__accum_feed): the text
 * and think string objects are shared (borrowed here), `calls` is a fragment array, taken
 * into the public delta when `take_calls` (else copied), `usage` is borrowed, and shared
 * with the public delta when `share_usage` (a parsed reply's, which nothing edits; a chunk
 * from a gateway may come from its state, so that one is copied). */
static json_object *accum_fold(hvb_accum *acc, json_object *content, json_object *think_obj,
                               json_object *calls, bool take_calls, const char *finish,
                               json_object *usage, bool share_usage) {
  json_object *pub = json_object_new_object();
  const char *text = json_object_is_type(content, json_type_string)
                         ? json_object_get_string(content) : NULL;
  if (text && *text) {
    size_t tl = strlen(text); /* the text ends at an embedded NUL, as it always did */
    if (!acc->text_first && acc->text->len == 0 &&
        tl == (size_t)json_object_get_string_len(content)) {
      acc->text_first = json_object_get(content);
    } else {
      if (acc->text_first) {
        g_string_append_len(acc->text, json_object_get_string(acc->text_first),
                            json_object_get_string_len(acc->text_first));
        g_clear_pointer(&acc->text_first, json_object_put);
      }
      g_string_append_len(acc->text, text, (gssize)tl);
    }
    json_object_object_add(pub, "text", json_object_get(content));
  }
  if (think_obj) {
    g_string_append(acc->think, json_object_get_string(think_obj));
    json_object_object_add(pub, "think", json_object_get(think_obj));
  }
  if (json_object_is_type(calls, json_type_array) && json_object_array_length(calls) > 0) {
    for (size_t i = 0; i < json_object_array_length(calls); i++)
      merge_call(acc, json_object_array_get_idx(calls, i), i);
    json_object_object_add(pub, "tool_calls", take_calls ? calls : hvb__json_copy(calls));
  } else if (take_calls) {
    json_object_put(calls);
  }
  if (finish) {
    g_free(acc->finish_reason);
    acc->finish_reason = g_strdup(finish);
    json_object_object_add(pub, "finish_reason", json_object_new_string(finish));
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
    json_object_object_add(pub, "usage",
                           share_usage ? json_object_get(usage) : hvb__json_copy(usage));
  }

  if (json_object_object_length(pub) == 0) {
    json_object_put(pub);
    return NULL;
  }
  json_object_array_add(acc->deltas, json_object_get(pub));
  return pub;
}

/* The non-empty string member `key` as its object, else NULL (borrowed). */
static json_object *nonempty_obj(json_object *obj, const char *key) {
  return nonempty_str(obj, key) ? json_object_object_get(obj, key) : NULL;
}

json_object *hvb__accum_feed(hvb_accum *acc, json_object *chunk) {
  json_object *choice = first_choice(chunk);
  json_object *delta = json_object_object_get(choice, "delta");
  /* The public delta shares the chunk's string objects (a reference each, no copy). */
  json_object *think = nonempty_obj(delta, "reasoning_content");
  if (!think) think = nonempty_obj(delta, "reasoning");
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

/* hvb__accum_feed(acc, hvb__completion_to_chunk(completion)) without making the chunk: the
 * same fold and the same public delta, four JSON objects fewer per non-streamed reply. */
static json_object *accum_feed_completion(hvb_accum *acc, json_object *completion) {
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

/* ============================================================================================
 * Results
 * ========================================================================================== */

struct hvb_result {
  char *text;           /* the string of text_obj (not a separate allocation) */
  json_object *text_obj; /* the text as a string object, shared with the message's content */
  char *think;
  char *finish_reason;
  json_object *message;
  json_object *tool_calls; /* the message's array (shared reference), or NULL */
  json_object *usage;
  json_object *messages;
  json_object *deltas;
  json_object *raw;
  bool cached; /* replayed from the response cache */
  /* Set by tool-call repair and the tool loop (core/api/tools.c), after hvb__accum_result. */
  json_object *repairs; /* array, NULL until repair ran */
  int steps;
  bool max_steps_reached;
};

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

HVB_PUBLIC void hvb_result_free(hvb_result *r) {
  if (!r) return;
  json_object_put(r->text_obj);
  g_free(r->think);
  g_free(r->finish_reason);
  json_object_put(r->message);
  json_object_put(r->tool_calls);
  json_object_put(r->usage);
  json_object_put(r->messages);
  json_object_put(r->deltas);
  json_object_put(r->raw);
  json_object_put(r->repairs);
  g_free(r);
}

HVB_PUBLIC const char *hvb_result_text(const hvb_result *r) {
  return r ? r->text : "";
}
HVB_PUBLIC const char *hvb_result_think(const hvb_result *r) {
  return r ? r->think : "";
}
HVB_PUBLIC const char *hvb_result_finish_reason(const hvb_result *r) {
  return r ? r->finish_reason : "";
}
HVB_PUBLIC json_object *hvb_result_message(const hvb_result *r) {
  return r ? r->message : NULL;
}
HVB_PUBLIC json_object *hvb_result_tool_calls(const hvb_result *r) {
  return r ? r->tool_calls : NULL;
}
HVB_PUBLIC json_object *hvb_result_usage(const hvb_result *r) {
  return r ? r->usage : NULL;
}
HVB_PUBLIC json_object *hvb_result_messages(const hvb_result *r) {
  return r ? r->messages : NULL;
}
HVB_PUBLIC json_object *hvb_result_deltas(const hvb_result *r) {
  return r ? r->deltas : NULL;
}
HVB_PUBLIC json_object *hvb_result_raw(const hvb_result *r) {
  return r ? r->raw : NULL;
}
HVB_PUBLIC bool hvb_result_cached(const hvb_result *r) {
  return r && r->cached;
}

HVB_PUBLIC json_object *hvb_result_repairs(const hvb_result *r) {
  return r ? r->repairs : NULL;
}
HVB_PUBLIC int hvb_result_steps(const hvb_result *r) {
  return r ? r->steps : 0;
}
HVB_PUBLIC bool hvb_result_max_steps_reached(const hvb_result *r) {
  return r && r->max_steps_reached;
}

void hvb__result_replace_tool_calls(hvb_result *r, json_object *calls) {
  json_object_put(r->tool_calls);
  r->tool_calls = calls;
  json_object_object_add(r->message, "tool_calls", json_object_get(calls));
  /* The conversation holds a copy of the message (see hvb__accum_result): refresh it. */
  size_t n = json_object_array_length(r->messages);
  if (n) json_object_array_put_idx(r->messages, n - 1, hvb__json_copy(r->message));
}

void hvb__result_set_repairs(hvb_result *r, json_object *repairs) {
  json_object_put(r->repairs);
  r->repairs = repairs;
}

void hvb__result_set_loop(hvb_result *r, json_object *deltas, json_object *usage, int steps,
                          bool max_steps_reached) {
  json_object_put(r->deltas);
  r->deltas = deltas;
  json_object_put(r->usage);
  r->usage = usage;
  r->steps = steps;
  r->max_steps_reached = max_steps_reached;
}

static const char *const include_fields[] = {
    "text", "think", "content", "message", "messages", "delta", "tool_calls", "usage", "raw", NULL};

/* The value of one include field (new reference; NULL for a JSON null). */
static json_object *field_value(const void *obj, const char *field) {
  const hvb_result *r = obj;
  if (strcmp(field, "text") == 0) return json_object_new_string(r->text);
  if (strcmp(field, "think") == 0) return json_object_new_string(r->think);
  if (strcmp(field, "content") == 0) {
    if (!*r->think) return json_object_new_string(r->text);
    char *s = g_strconcat("<think>\n", r->think, "\n</think>\n", r->text, NULL);
    json_object *v = json_object_new_string(s);
    g_free(s);
    return v;
  }
  if (strcmp(field, "message") == 0) return json_object_get(r->message);
  if (strcmp(field, "messages") == 0) return json_object_get(r->messages);
  if (strcmp(field, "delta") == 0) return json_object_get(r->deltas);
  if (strcmp(field, "tool_calls") == 0) return json_object_get(r->tool_calls);
  if (strcmp(field, "usage") == 0) return json_object_get(r->usage);
  return json_object_get(r->raw); /* "raw": the caller checked the name */
}

HVB_PUBLIC json_object *hvb_result_project(const hvb_result *r, const char *include, bool *ok,
                                           hvb_error *err) {
  if (ok) *ok = false;
  if (!r) {
    hvb__fail(err, HVB_EINVAL, "result is NULL");
    return NULL;
  }
  return hvb__project(include, include_fields, "text", field_value, r, ok, err);
}

/* ============================================================================================
 * LLM objects
 * ========================================================================================== */

struct hvb_llm {
  gint refs; /* the caller's + one per async call that needs the LLM after it started */
  hvb_repair_config repair; /* heavenbase.llm.tool_call_repair + option "tool_call_repair" */
  int max_steps;            /* heavenbase.llm.max_steps + option "max_steps" */
  hvb_spec *spec;
  const hvb_gateway_record *gw; /* the registry's: lives as long as the process */
  hvb_client *client;           /* NULL for an offline gateway */
  hvb_cache *cache;             /* the response cache's settings (store opened lazily) */
  hvb_embed_limits embed;
};

hvb_cache *hvb__llm_cache(const hvb_llm *llm) {
  return llm->cache;
}

const hvb_embed_limits *hvb__llm_embed_limits(const hvb_llm *llm) {
  return &llm->embed;
}

/* An offline gateway answers through execute, without HTTP. */
static bool is_offline(const hvb_gateway_record *gw) {
  return (gw->ops.caps & HVB_GATEWAY_CAP_OFFLINE) && gw->ops.execute;
}

/* The LLM's cache handle: heavenbase.llm.cache merged with the "cache" option. */
static hvb_cache *llm_cache_new(const hvb_config *cfg, json_object *options, hvb_error *err) {
  json_object *base = hvb__cache_settings_from_config(cfg);
  json_object *over = json_object_is_type(options, json_type_object)
                          ? json_object_object_get(options, "cache")
                          : NULL;
  json_object *merged = hvb__cache_settings_merge(base, over, "option 'cache'", err);
  json_object_put(base);
  if (!merged) return NULL;
  hvb_cache *c = hvb__cache_new(merged, over ? "option 'cache'" : "heavenbase.llm.cache", err);
  json_object_put(merged);
  return c;
}

HVB_PUBLIC hvb_llm *hvb_llm_new_with_config(const hvb_config *cfg, json_object *options,
                                            hvb_error *err) {
  hvb__atfork_install();
  /* Load the configuration once for the spec, the cache settings and the embedding limits. */
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  hvb_spec *spec = hvb_spec_resolve(cfg, options, err);
  hvb_cache *cache = spec ? llm_cache_new(cfg, options, err) : NULL;
  hvb_embed_limits limits = {0};
  hvb_repair_config repair = HVB_REPAIR_CONFIG_INIT;
  int max_steps = HVB_TOOLS_DEFAULT_MAX_STEPS;
  if (cache && (!hvb__embed_limits_init(cfg, spec, options, &limits, err) ||
                !hvb__tools_settings(cfg, options, &repair, &max_steps, err)))
    g_clear_pointer(&cache, hvb__cache_unref);
  hvb_config_free(own);
  if (!cache) {
    hvb_spec_unref(spec);
    return NULL;
  }
  /* Resolution chose a usable gateway (or fell back); the lookup only fails if the registry
   * was reset in between, which only tests do. */
  char *why = NULL;
  const hvb_gateway_record *gw = hvb__registry_find(hvb_spec_gateway(spec), &why);
  if (!gw) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' is not available: %s", hvb_spec_gateway(spec),
              why);
    g_free(why);
    hvb_spec_unref(spec);
    hvb__cache_unref(cache);
    return NULL;
  }
  /* The spec may have read the key from the environment: make sure no message shows it. */
  hvb__secret_register(hvb_spec_api_key(spec));
  hvb_llm *llm = g_new0(hvb_llm, 1);
  llm->refs = 1;
  llm->repair = repair;
  llm->max_steps = max_steps;
  llm->spec = spec;
  llm->gw = gw;
  llm->cache = cache;
  llm->embed = limits;
  if (!is_offline(gw)) llm->client = hvb__client_get(hvb_spec_client_key(spec));
  return llm;
}

HVB_PUBLIC bool hvb_llm_supports(const hvb_llm *llm, hvb_gateway_op op, hvb_error *err) {
  if (!llm) return hvb__fail(err, HVB_EINVAL, "llm is NULL");
  uint32_t cap = hvb__gateway_op_cap(op);
  if (!cap) return hvb__fail(err, HVB_EINVAL, "unknown gateway operation %d", (int)op);
  const hvb_gateway_record *gw = llm->gw;
  /* The gateway's own answer first: it knows the better message ("use an embedding provider
   * such as ..."); the capabilities then catch what it did not refuse. */
  if (gw->ops.supports) {
    hvb_error e = HVB_ERROR_INIT;
    if (!gw->ops.supports(llm->spec, op, &e)) {
      /* A plugin that forgot the message or the status still gets a useful error. */
      if (!e.message[0])
        hvb__fail(&e, HVB_UNSUPPORTED, "gateway '%s' does not support %s for provider '%s'",
                  gw->name, hvb__gateway_op_phrase(op), hvb_spec_provider(llm->spec));
      if (e.status == HVB_OK) e.status = HVB_UNSUPPORTED;
      if (err) *err = e;
      return false;
    }
  }
  if (!(gw->ops.caps & cap))
    return hvb__fail(err, HVB_UNSUPPORTED, "gateway '%s' does not support %s", gw->name,
                     hvb__gateway_op_phrase(op));
  return true;
}

const hvb_gateway_record *hvb__llm_gateway(const hvb_llm *llm) {
  return llm ? llm->gw : NULL;
}

int hvb__llm_max_steps(const hvb_llm *llm) {
  return llm->max_steps;
}

bool hvb__llm_call_repair(const hvb_llm *llm, json_object *call_options, hvb_repair_config *out,
                          hvb_error *err) {
  *out = llm->repair;
  json_object *v = NULL;
  if (!json_object_is_type(call_options, json_type_object) ||
      !json_object_object_get_ex(call_options, "repair_tool_calls", &v) || !v)
    return true;
  if (!json_object_is_type(v, json_type_boolean))
    return hvb__fail(err, HVB_EINVAL, "call option 'repair_tool_calls' must be a boolean");
  out->enabled = json_object_get_boolean(v);
  return true;
}

HVB_PUBLIC hvb_llm *hvb_llm_new(json_object *options, hvb_error *err) {
  return hvb_llm_new_with_config(NULL, options, err);
}

HVB_PUBLIC hvb_llm *hvb_llm_new_preset(const char *preset, hvb_error *err) {
  if (!preset) {
    hvb__fail(err, HVB_EINVAL, "preset is NULL");
    return NULL;
  }
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "preset", json_object_new_string(preset));
  hvb_llm *llm = hvb_llm_new(opts, err);
  json_object_put(opts);
  return llm;
}

hvb_llm *hvb__llm_ref(hvb_llm *llm) {
  g_atomic_int_inc(&llm->refs);
  return llm;
}

HVB_PUBLIC void hvb_llm_free(hvb_llm *llm) {
  if (!llm || !g_atomic_int_dec_and_test(&llm->refs)) return;
  hvb__client_unref(llm->client);
  hvb__cache_unref(llm->cache);
  hvb_spec_unref(llm->spec);
  g_free(llm);
}

HVB_PUBLIC const hvb_spec *hvb_llm_spec(const hvb_llm *llm) {
  return llm ? llm->spec : NULL;
}

/* ============================================================================================
 * Calls: the stream is the call; chat runs one to the end without handing deltas out.
 * ========================================================================================== */

struct hvb_stream {
  hvb_spec *spec; /* reference: a stream may outlive its LLM */
  const hvb_gateway_record *gw;
  json_object *request;
  bool gather;  /* chat: keep no queue, never commit */
  bool sse;     /* an event stream was asked for */
  bool as_json; /* ...but this attempt's response is a JSON body (an error, or a provider
                   that ignores "stream") */
  bool sniffed; /* as_json was decided for this attempt */
  hvb_wire_request *wire;
  const char *url; /* borrowed from wire, for messages */
  hvb_transfer *transfer;
  hvb_sse *decoder;
  void *gw_state;
  json_object *chunks; /* scratch array the gateway fills per event */
  hvb_accum *acc;
  GQueue pending; /* public deltas not yet handed out (owned references) */
  json_object *current;
  GString *body;
  bool done_marker; /* the protocol's end marker ([DONE]) was seen */
  bool committed;
  bool ended;    /* the transfer finished and its output was folded in */
  bool finished; /* the caller was told the end */
  bool failed;
  hvb_error error;
  /* The response cache: the call's handle while it may read or write, its key, whether
   * this call leads the key (single flight), and whether the answer was replayed. */
  hvb_cache *cache;
  char *cache_key;
  bool cache_leader;
  bool cached;
  hvb_repair_config repair; /* tool-call repair for this call's result */
  bool async; /* driven by the engine: never block on the cache, transfer made detached */
  bool debug; /* debug logging was on when the call started (one level check per call) */
};

static void queue_clear(hvb_stream *s) {
  json_object *d;
  while ((d = g_queue_pop_head(&s->pending))) json_object_put(d);
}

/* A public delta (taken; NULL: none) is queued for the caller (the queue owns it) unless the
 * call gathers. */
static void feed_delta(hvb_stream *s, json_object *delta) {
  if (!delta) return;
  if (s->gather)
    json_object_put(delta);
  else
    g_queue_push_tail(&s->pending, delta);
}

/* Fold one canonical chunk (borrowed) in and queue its delta. */
static void feed_chunk(hvb_stream *s, json_object *chunk) {
  feed_delta(s, hvb__accum_feed(s->acc, chunk));
}

/* Feed and empty s->chunks (the array keeps the chunks' references until emptied). */
static void feed_chunks(hvb_stream *s) {
  size_t n = json_object_array_length(s->chunks);
  for (size_t i = 0; i < n; i++) feed_chunk(s, json_object_array_get_idx(s->chunks, i));
  if (n) json_object_array_del_idx(s->chunks, 0, n);
}

/* SSE callback: one event through the gateway into the accumulator. */
static bool on_event(void *user_data, const hvb_sse_event *ev, hvb_error *err) {
  hvb_stream *s = user_data;
  if (s->done_marker) return true; /* nothing after the end marker counts */
  /* The raw record keeps the provider's payloads as they were, before translation. Both
   * parse JSON under the C locale object (see hvb__c_locale_enter: fork safety). Our reader
   * first (the usual event is a plain object); json-c's lenient reading, as before, for
   * anything else ([DONE], text after the value...). */
  locale_t previous = hvb__c_locale_enter();
  json_object *payload = hvb__json_parse(ev->data, (long)ev->data_len, "stream event", NULL);
  if (!payload) payload = json_tokener_parse(ev->data);
  if (payload) hvb__accum_raw_append(s->acc, payload);
  bool done = false;
  bool parsed = s->gw->ops.parse_event(s->gw_state, ev, s->chunks, &done, err);
  hvb__c_locale_leave(previous);
  if (!parsed) {
    hvb__error_prefix(err, "stream from %s", s->url);
    return false;
  }
  feed_chunks(s);
  if (done) s->done_marker = true;
  return true;
}

/* Transport sink: body bytes (borrowed, valid during the call) to the decoder or the buffer. */
static hvb_sink_rc on_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  hvb_stream *s = user_data;
  if (s->sse && !s->sniffed) {
    s->as_json = g_str_has_prefix(hvb__transfer_content_type(s->transfer), "application/json");
    s->sniffed = true;
  }
  if (s->sse && !s->as_json) {
    int n = hvb__sse_feed(s->decoder, data, len, err);
    if (n < 0) return HVB_SINK_ABORT;
    /* Comment-only bytes (keep-alives) must not count as progress for the idle timeout. */
    return n > 0 ? HVB_SINK_PROGRESS : HVB_SINK_CONTINUE;
  }
  if (s->body->len + len > HVB_MAX_BODY) {
    hvb__fail(err, HVB_TOO_LARGE, "response from %s exceeds %u bytes", s->url, HVB_MAX_BODY);
    return HVB_SINK_ABORT;
  }
  g_string_append_len(s->body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

/* Before a retried attempt: forget everything the failed one delivered. Only ever called before
 * commit, so nothing dropped here has reached the caller. */
static void on_reset(void *user_data) {
  hvb_stream *s = user_data;
  queue_clear(s);
  hvb__accum_reset(s->acc);
  if (s->decoder) hvb__sse_reset(s->decoder);
  g_string_truncate(s->body, 0);
  s->sniffed = s->as_json = false;
  if (json_object_array_length(s->chunks))
    json_object_array_del_idx(s->chunks, 0, json_object_array_length(s->chunks));
  if (s->gw->ops.stream_end) s->gw->ops.stream_end(s->gw_state);
  s->gw_state = s->gw->ops.stream_begin ? s->gw->ops.stream_begin(s->spec) : NULL;
  s->done_marker = false;
}

/* ---- the response cache around a call (values: core/api/llm-cache.c; store: core/cache/store.c) ---- */

/* Before a call: decide whether it may use the cache and look its answer up. A hit is fed
 * through the accumulator as the live chunks were, and the call is then complete: true.
 * A miss makes this call the key's leader (or lets it run alone): false. Never fails; a bad
 * "cache" call option was refused before (call_cache_handle). */
static bool cache_begin(hvb_stream *s, hvb_cache *c, bool runs_tools) {
  /* A chat that runs executable tools bypasses the cache: the answer depends on the tools. */
  if (!c || !hvb__cache_policy_allows(HVB_NS_TEXT, s->request, runs_tools)) {
    hvb__cache_unref(c);
    return false;
  }
  s->cache = c;
  s->cache_key = hvb__cache_key(HVB_NS_TEXT, hvb_spec_hash_key(s->spec), s->request);
  /* An async call must not block its caller, or the engine thread, on another call of the
   * same key: it runs without the cache's coordination instead (it may still store). */
  long timeout_ms = hvb_spec_timeout_ms(s->spec);
  long wait_ms = s->async ? 0 : timeout_ms > 0 ? timeout_ms : -1; /* -1: without limit */
  GBytes *value = NULL;
  hvb_flight f = hvb__cache_fetch(c, HVB_NS_TEXT, s->cache_key, wait_ms, &value);
  s->cache_leader = f == HVB_FLIGHT_LEADER;
  if (f != HVB_FLIGHT_HIT) return false;
  json_object *raw = NULL;
  json_object *chunks = hvb__chat_cache_decode(value, &raw);
  g_bytes_unref(value);
  if (!chunks) return false;
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    feed_chunk(s, json_object_array_get_idx(chunks, i));
  json_object_put(chunks);
  if (raw) hvb__accum_raw_set(s->acc, raw);
  hvb__log(HVB_LOG_DEBUG, "cache hit (text %.12s)", s->cache_key);
  s->cached = s->ended = true;
  return true;
}

/* The call is over: store a complete live answer, give up the key, drop the handle. */
static void cache_end(hvb_stream *s, bool complete) {
  if (!s->cache) return;
  if (complete && !s->cached) {
    hvb_result *r = hvb__accum_result(s->acc, NULL);
    GBytes *value = hvb__chat_cache_encode(r);
    hvb__cache_put(s->cache, HVB_NS_TEXT, s->cache_key, g_bytes_get_data(value, NULL),
                   g_bytes_get_size(value));
    g_bytes_unref(value);
    hvb_result_free(r);
  }
  if (s->cache_leader) hvb__cache_release(s->cache, s->cache_key);
  s->cache_leader = false;
  g_clear_pointer(&s->cache, hvb__cache_unref);
  g_clear_pointer(&s->cache_key, g_free);
}

/* Record the call's failure (copied); hvb_stream_next reports it once the queue is empty.
 * A failed call stores nothing. */
static void fail_call(hvb_stream *s, const hvb_error *e) {
  s->failed = true;
  s->error = *e;
  cache_end(s, false);
}

/* The 2xx response is complete: fold a buffered body in, or check the stream's end. */
static bool finish_transfer(hvb_stream *s, hvb_error *err) {
  if (s->debug)
    hvb__log(HVB_LOG_DEBUG, "HTTP %ld from %s after %d attempt(s)",
             hvb__transfer_status(s->transfer), s->url, hvb__transfer_attempts(s->transfer));
  if (s->sse && !s->as_json) {
    if (!s->done_marker && !hvb__accum_finish_reason(s->acc))
      return hvb__fail(err, HVB_TRUNCATED,
                       "stream from %s was truncated: it ended without [DONE] or a finish reason",
                       s->url);
    return true;
  }
  hvb_error perr = HVB_ERROR_INIT;
  json_object *body = hvb__json_parse(s->body->str, (long)s->body->len, "response", &perr);
  if (!body) {
    const char *why = strstr(perr.message, "not valid JSON (");
    return hvb__fail(err, HVB_PARSE, "response from %s is not valid JSON (%s", s->url,
                     why ? why + strlen("not valid JSON (") : "empty or null)");
  }
  if (!s->gw->ops.parse) {
    json_object_put(body);
    return hvb__fail(err, HVB_GATEWAY, "gateway '%s' has no parse operation", s->gw->name);
  }
  json_object *completion = s->gw->ops.parse(s->spec, HVB_GATEWAY_OP_CHAT, body, err);
  if (!completion) {
    json_object_put(body);
    hvb__error_prefix(err, "response from %s", s->url);
    return false;
  }
  feed_delta(s, accum_feed_completion(s->acc, completion));
  json_object_put(completion);
  hvb__accum_raw_set(s->acc, body);
  return true;
}

/* One step of work: run the transfer a little. Sets failed or ended, or queues deltas. */
static void advance(hvb_stream *s) {
  hvb_error e = HVB_ERROR_INIT;
  hvb_step st = hvb__transfer_step(s->transfer, 1000, &e);
  hvb__stream_settle(s, st, &e);
}

void hvb__stream_settle(hvb_stream *s, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING) return;
  hvb_error e = HVB_ERROR_INIT;
  if (failure) e = *failure;
  if (st == HVB_STEP_DONE && finish_transfer(s, &e)) {
    s->ended = true;
    cache_end(s, true);
  } else
    fail_call(s, &e);
  /* Give the connection back to the pool now rather than when the caller frees the stream. */
  g_clear_pointer(&s->transfer, hvb__transfer_free);
}

HVB_PUBLIC void hvb_stream_free(hvb_stream *s) {
  if (!s) return;
  cache_end(s, false); /* an aborted stream stores nothing */
  hvb__transfer_free(s->transfer);
  if (s->decoder && s->gw->ops.stream_end) s->gw->ops.stream_end(s->gw_state);
  hvb__sse_free(s->decoder);
  hvb__wire_request_free(s->wire);
  queue_clear(s);
  json_object_put(s->current);
  json_object_put(s->chunks);
  json_object_put(s->request);
  hvb__accum_free(s->acc);
  if (s->body) g_string_free(s->body, TRUE);
  hvb_spec_unref(s->spec);
  g_free(s);
}

/* The transport's view of a prepared request, with the spec's timeouts and retries. Borrows
 * from `wire`, which must outlive the transfer. */
static hvb_http_request http_request(const hvb_spec *spec, const hvb_wire_request *wire) {
  size_t len = 0;
  const char *body = hvb__wire_request_body(wire, &len);
  return (hvb_http_request){
      .method = "POST",
      .url = hvb_wire_request_url(wire),
      .headers = hvb__wire_request_headers(wire),
      .body = body,
      .body_len = len,
      .connect_timeout_ms = hvb_spec_connect_timeout_ms(spec),
      .timeout_ms = hvb_spec_timeout_ms(spec),
      .idle_timeout_ms = hvb_spec_idle_timeout_ms(spec),
      .max_retries = hvb_spec_max_retries(spec),
  };
}

/* Start a call: build the request and either answer offline or start the transfer.
 * `force_stream` asks for an event stream whatever the options say. New stream, or NULL with
 * err set (bad input, or an offline gateway that failed). */
static hvb_stream *call_start(hvb_llm *llm, const char *prompt, json_object *messages,
                              json_object *call_options, bool force_stream, bool gather,
                              bool runs_tools, bool async, hvb_error *err) {
  /* The operation is checked before anything else, so that an unsupported call fails the
   * same way whatever its arguments. */
  if (!hvb_llm_supports(llm, HVB_GATEWAY_OP_CHAT, err)) return NULL;
  const hvb_gateway_record *gw = llm->gw;
  /* A gateway without streaming answers a stream request with one body: the caller still
   * gets deltas, all at once. */
  bool can_stream = (gw->ops.caps & HVB_GATEWAY_CAP_STREAM) && gw->ops.parse_event;
  hvb_repair_config repair;
  if (!hvb__llm_call_repair(llm, call_options, &repair, err)) return NULL;
  hvb_cache *cache = NULL;
  if (!hvb__cache_for_call(llm->cache, call_options, HVB_NS_TEXT, &cache, err)) return NULL;
  json_object *req =
      hvb__request_build(llm->spec, prompt, messages, call_options, force_stream, err);
  if (!req) {
    hvb__cache_unref(cache);
    return NULL;
  }
  if (!can_stream && !is_offline(gw))
    json_object_object_add(req, "stream", json_object_new_boolean(0));

  hvb_stream *s = g_new0(hvb_stream, 1);
  s->spec = hvb_spec_ref(llm->spec);
  s->gw = gw;
  s->request = req;
  s->gather = gather;
  s->async = async;
  s->repair = repair;
  s->sse = json_object_get_boolean(json_object_object_get(req, "stream"));
  s->acc = hvb__accum_new();
  s->chunks = json_object_new_array();
  g_queue_init(&s->pending);
  if (cache_begin(s, cache, runs_tools)) return s;

  if (is_offline(gw)) {
    if (!gw->ops.execute(s->spec, HVB_GATEWAY_OP_CHAT, req, s->chunks, err)) {
      hvb__error_prefix(err, "gateway '%s'", gw->name);
      hvb_stream_free(s);
      return NULL;
    }
    feed_chunks(s);
    s->ended = true;
    cache_end(s, true);
    return s;
  }

  if (!gw->ops.prepare) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' has neither prepare nor an offline execute",
              gw->name);
    hvb_stream_free(s);
    return NULL;
  }
  s->wire = hvb__wire_request_new();
  if (!gw->ops.prepare(s->spec, HVB_GATEWAY_OP_CHAT, req, s->wire, err)) {
    hvb_stream_free(s);
    return NULL;
  }
  s->url = hvb_wire_request_url(s->wire);
  s->body = g_string_new(NULL);
  if (s->sse) {
    s->decoder = hvb__sse_new(0, 0, on_event, s);
    s->gw_state = gw->ops.stream_begin ? gw->ops.stream_begin(s->spec) : NULL;
  }
  hvb_http_request hr = http_request(s->spec, s->wire);
  s->debug = hvb__log_enabled(HVB_LOG_DEBUG);
  if (s->debug)
    hvb__log(HVB_LOG_DEBUG, "POST %s (%s via gateway %s)", s->url, s->sse ? "stream" : "chat",
             gw->name);
  s->transfer = async ? hvb__transfer_new_detached(llm->client, &hr, on_body, on_reset, s)
                      : hvb__transfer_new(llm->client, &hr, on_body, on_reset, s);
  return s;
}

/* The result of a call that ended: what the accumulator gathered, its tool calls repaired
 * (core/api/tools.c). NULL with HVB_PARSE when strict repair finds an unfixable call. */
static hvb_result *stream_result(hvb_stream *s, hvb_error *err) {
  hvb_result *r = hvb__accum_result(s->acc, json_object_object_get(s->request, "messages"));
  r->cached = s->cached;
  r->steps = 1;
  if (!hvb__result_repair(r, json_object_object_get(s->request, "tools"), &s->repair, 1, err)) {
    hvb_result_free(r);
    return NULL;
  }
  return r;
}

/* Run a call to its end and build the result. Consumes nothing; NULL with err on failure. */
static hvb_result *call_gather(hvb_stream *s, hvb_error *err) {
  while (!s->ended && !s->failed) advance(s);
  if (s->failed) {
    if (err) *err = s->error;
    return NULL;
  }
  return stream_result(s, err);
}

hvb_result *hvb__llm_chat_ex(hvb_llm *llm, const char *prompt, json_object *messages,
                             json_object *call_options, bool runs_tools, hvb_error *err) {
  hvb_stream *s =
      call_start(llm, prompt, messages, call_options, false, true, runs_tools, false, err);
  if (!s) return NULL;
  hvb_result *r = call_gather(s, err);
  hvb_stream_free(s);
  return r;
}

HVB_PUBLIC hvb_result *hvb_llm_chat(hvb_llm *llm, const char *prompt, json_object *call_options,
                                    hvb_error *err) {
  if (!prompt) {
    hvb__fail(err, HVB_EINVAL, "prompt is NULL");
    return NULL;
  }
  return hvb__llm_chat_ex(llm, prompt, NULL, call_options, false, err);
}

HVB_PUBLIC hvb_result *hvb_llm_chat_messages(hvb_llm *llm, json_object *messages,
                                             json_object *call_options, hvb_error *err) {
  if (!messages) {
    hvb__fail(err, HVB_EINVAL, "messages is NULL");
    return NULL;
  }
  return hvb__llm_chat_ex(llm, NULL, messages, call_options, false, err);
}

HVB_PUBLIC hvb_stream *hvb_llm_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                                      json_object *call_options, hvb_error *err) {
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  return call_start(llm, prompt, messages, call_options, true, false, false, false, err);
}

HVB_PUBLIC bool hvb_stream_next(hvb_stream *s, json_object **delta, hvb_error *err) {
  if (delta) *delta = NULL;
  if (!s || !delta) return hvb__fail(err, HVB_EINVAL, "stream and delta must not be NULL");
  g_clear_pointer(&s->current, json_object_put);
  for (;;) {
    /* Deltas that arrived before a failure are still handed out, then the failure. */
    if (!g_queue_is_empty(&s->pending)) {
      if (!s->committed && s->transfer) hvb__transfer_commit(s->transfer);
      s->committed = true;
      s->current = g_queue_pop_head(&s->pending);
      *delta = s->current;
      return true;
    }
    if (s->failed) {
      if (err) *err = s->error;
      return false;
    }
    if (s->ended) {
      s->finished = true;
      return true;
    }
    advance(s);
  }
}

HVB_PUBLIC hvb_result *hvb_stream_result(hvb_stream *s, hvb_error *err) {
  if (!s) {
    hvb__fail(err, HVB_EINVAL, "stream is NULL");
    return NULL;
  }
  if (s->failed && g_queue_is_empty(&s->pending)) {
    if (err) *err = s->error;
    return NULL;
  }
  if (!s->finished) {
    hvb__fail(err, HVB_EINVAL,
              "the stream has not ended (call hvb_stream_next until it gives NULL)");
    return NULL;
  }
  return stream_result(s, err);
}

/* ---- what the async engine (the chat kind of core/api/async.c) needs of a call ---- */

hvb_stream *hvb__call_begin(hvb_llm *llm, const char *prompt, json_object *messages,
                            json_object *call_options, bool deltas, bool runs_tools,
                            hvb_error *err) {
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  return call_start(llm, prompt, messages, call_options, deltas, !deltas, runs_tools, true, err);
}

hvb_transfer *hvb__stream_transfer(hvb_stream *s) {
  return s->transfer;
}

bool hvb__stream_over(const hvb_stream *s) {
  return s->ended || s->failed;
}

json_object *hvb__stream_pop_delta(hvb_stream *s) {
  if (g_queue_is_empty(&s->pending)) return NULL;
  /* A delta reached the caller: the transfer may no longer be retried. */
  if (!s->committed && s->transfer) hvb__transfer_commit(s->transfer);
  s->committed = true;
  return g_queue_pop_head(&s->pending);
}

hvb_result *hvb__stream_outcome(hvb_stream *s, hvb_error *err) {
  if (s->failed) {
    if (err) *err = s->error;
    return NULL;
  }
  return stream_result(s, err);
}

/* ============================================================================================
 * One JSON request, one JSON response: embeddings and images (and any op without a stream)
 * ========================================================================================== */

static hvb_sink_rc gather_body(void *user_data, const char *data, size_t len, hvb_error *err) {
  GString *body = user_data;
  if (body->len + len > HVB_MAX_BODY) {
    hvb__fail(err, HVB_TOO_LARGE, "response exceeds %u bytes", HVB_MAX_BODY);
    return HVB_SINK_ABORT;
  }
  g_string_append_len(body, data, (gssize)len);
  return HVB_SINK_PROGRESS;
}

static void gather_reset(void *user_data) {
  g_string_truncate(user_data, 0);
}

/* One JSON operation in flight: either answered at once (offline gateway, or a failure before
 * anything was sent) or waiting for its transfer. */
struct hvb_json_job {
  hvb_spec *spec; /* reference: the job may outlive its LLM */
  const hvb_gateway_record *gw;
  hvb_gateway_op op;
  hvb_wire_request *wire;
  const char *url; /* borrowed from wire */
  GString *body;
  hvb_transfer *transfer;
  bool over;
  json_object *response; /* once over: the canonical response, or NULL with error */
  hvb_error error;
};

hvb_json_job *hvb__json_begin(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                              bool detached, hvb_error *err) {
  if (!hvb_llm_supports(llm, op, err)) return NULL;
  const hvb_gateway_record *gw = llm->gw;
  if (!is_offline(gw) && (!gw->ops.prepare || !gw->ops.parse)) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' lacks the prepare or parse operation", gw->name);
    return NULL;
  }
  hvb_json_job *j = g_new0(hvb_json_job, 1);
  j->spec = hvb_spec_ref(llm->spec);
  j->gw = gw;
  j->op = op;
  if (is_offline(gw)) {
    json_object *out = json_object_new_array();
    if (gw->ops.execute(llm->spec, op, canonical, out, &j->error)) {
      j->response = json_object_get(json_object_array_get_idx(out, 0));
      if (!j->response)
        hvb__fail(&j->error, HVB_GATEWAY, "gateway '%s' gave no %s response", gw->name,
                  hvb__gateway_op_phrase(op));
    } else {
      hvb__error_prefix(&j->error, "gateway '%s'", gw->name);
    }
    json_object_put(out);
    j->over = true;
    return j;
  }
  j->wire = hvb__wire_request_new();
  j->body = g_string_new(NULL);
  if (!gw->ops.prepare(llm->spec, op, canonical, j->wire, &j->error)) {
    j->over = true;
    return j;
  }
  j->url = hvb_wire_request_url(j->wire);
  hvb_http_request hr = http_request(llm->spec, j->wire);
  hvb__log(HVB_LOG_DEBUG, "POST %s (%s via gateway %s)", j->url, hvb__gateway_op_phrase(op),
           gw->name);
  j->transfer = detached
                    ? hvb__transfer_new_detached(llm->client, &hr, gather_body, gather_reset, j->body)
                    : hvb__transfer_new(llm->client, &hr, gather_body, gather_reset, j->body);
  return j;
}

struct hvb_transfer *hvb__json_transfer(hvb_json_job *j) {
  return j->transfer;
}

bool hvb__json_over(const hvb_json_job *j) {
  return j->over;
}

void hvb__json_settle(hvb_json_job *j, int st, const hvb_error *failure) {
  if (st == HVB_STEP_RUNNING || j->over) return;
  j->over = true;
  g_clear_pointer(&j->transfer, hvb__transfer_free);
  if (st != HVB_STEP_DONE) {
    if (failure) j->error = *failure;
    if (j->error.status == HVB_OK) hvb__fail(&j->error, HVB_TRANSPORT, "%s failed", j->url);
    return;
  }
  json_object *parsed = hvb__json_parse(j->body->str, (long)j->body->len, "response", &j->error);
  if (!parsed) {
    hvb__error_prefix(&j->error, "response from %s", j->url);
    return;
  }
  j->response = j->gw->ops.parse(j->spec, j->op, parsed, &j->error);
  json_object_put(parsed);
  if (!j->response) hvb__error_prefix(&j->error, "response from %s", j->url);
}

json_object *hvb__json_outcome(hvb_json_job *j, hvb_error *err) {
  if (!j->response && err) *err = j->error;
  return j->response ? json_object_get(j->response) : NULL;
}

void hvb__json_free(hvb_json_job *j) {
  if (!j) return;
  hvb__transfer_free(j->transfer);
  hvb__wire_request_free(j->wire);
  if (j->body) g_string_free(j->body, TRUE);
  json_object_put(j->response);
  hvb_spec_unref(j->spec);
  g_free(j);
}

json_object *hvb__llm_call_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                                hvb_error *err) {
  hvb_json_job *j = hvb__json_begin(llm, op, canonical, false, err);
  if (!j) return NULL;
  while (!j->over) {
    hvb_error e = HVB_ERROR_INIT;
    hvb_step st = hvb__transfer_step(j->transfer, 1000, &e);
    hvb__json_settle(j, st, &e);
  }
  json_object *res = hvb__json_outcome(j, err);
  hvb__json_free(j);
  return res;
}
