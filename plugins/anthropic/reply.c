/* plugins/anthropic/reply.c: Anthropic Messages replies and event streams -> canonical
 * (OpenAI chat) chunks, with the checks of their shape. The rules are listed in translate.h;
 * the request side is translate.c. Failures are reported through hvb_gateway_fail. */
#include "translate.h"
#include "json-util.h"

/* ============================================================================================
 * Response
 * ========================================================================================== */

const char *anthropic_finish_reason(const char *stop_reason) {
  static const struct {
    const char *anthropic, *openai;
  } map[] = {{"end_turn", "stop"},
             {"stop_sequence", "stop"},
             {"pause_turn", "stop"},
             {"max_tokens", "length"},
             {"model_context_window_exceeded", "length"},
             {"tool_use", "tool_calls"},
             {"refusal", "content_filter"}};
  if (!stop_reason) return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(stop_reason, map[i].anthropic) == 0) return map[i].openai;
  return stop_reason;
}

/* Canonical usage from Anthropic usage objects: `later` (message_delta's, may be NULL) wins
 * field by field over `first` (message_start's, or the response's). New reference, NULL when
 * neither reports tokens. */
static json_object *canonical_usage(json_object *first, json_object *later) {
  static const struct {
    const char *from, *to;
  } fields[] = {{"input_tokens", "prompt_tokens"},
                {"output_tokens", "completion_tokens"},
                {"cache_creation_input_tokens", "cache_creation_input_tokens"},
                {"cache_read_input_tokens", "cache_read_input_tokens"}};
  json_object *usage = json_object_new_object();
  int64_t total = 0;
  bool any = false;
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    int64_t n = 0;
    if (!int_value(member(later, fields[i].from), &n) &&
        !int_value(member(first, fields[i].from), &n))
      continue;
    json_object_object_add(usage, fields[i].to, json_object_new_int64(n));
    if (i < 2) {
      total += n;
      any = true;
    }
  }
  if (!any) {
    json_object_put(usage);
    return NULL;
  }
  json_object_object_add(usage, "total_tokens", json_object_new_int64(total));
  return usage;
}

/* ---- reply shape: every member read is checked for its JSON type ----
 * The readers above are lenient (a member of the wrong type reads as absent), which made a
 * reply with "text": 42 an empty success. A wrong type is HVB_PARSE naming the member's path;
 * absent and null are the same to the readers, so a member that may be null may be absent. */

enum { W_NULL = 1, W_BOOL = 2, W_INT = 4, W_NUM = 8, W_STR = 16, W_OBJ = 32, W_ARR = 64 };

static unsigned w_type(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_boolean: return W_BOOL;
  case json_type_int: return W_INT;
  case json_type_double: return W_NUM;
  case json_type_string: return W_STR;
  case json_type_object: return W_OBJ;
  case json_type_array: return W_ARR;
  default: return W_NULL;
  }
}

static const char *w_name(unsigned t) {
  switch (t) {
  case W_BOOL: return "a boolean";
  case W_INT: return "an integer";
  case W_NUM: return "a number";
  case W_STR: return "a string";
  case W_OBJ: return "an object";
  case W_ARR: return "an array";
  default: return "null";
  }
}

/* obj's member `key` is one of `types` (W_NULL: may be null or absent). `where` is the path
 * of obj: "" (the top), "content[2]" or "message_delta event: delta"; a trailing space means
 * no dot before the key. */
static bool want(json_object *obj, const char *key, unsigned types, const char *where,
                 hvb_error *err) {
  json_object *v = NULL;
  bool present = json_object_object_get_ex(obj, key, &v);
  unsigned t = present ? w_type(v) : 0;
  if (types & W_NUM) types |= W_INT;
  if ((!present && (types & W_NULL)) || (t & types)) return true;
  size_t wl = strlen(where);
  const char *dot = wl && where[wl - 1] != ' ' ? "." : "";
  const char *names[8];
  size_t n = 0;
  if (types & W_STR) names[n++] = "a string";
  if (types & W_NUM) names[n++] = "a number"; /* W_NUM accepts integers too */
  else if (types & W_INT) names[n++] = "an integer";
  if (types & W_BOOL) names[n++] = "a boolean";
  if (types & W_OBJ) names[n++] = "an object";
  if (types & W_ARR) names[n++] = "an array";
  if (types & W_NULL) names[n++] = "null";
  char expected[96] = "";
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(expected);
    snprintf(expected + used, sizeof expected - used, "%s%s",
             i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
  }
  if (!present)
    return hvb_gateway_fail(err, HVB_PARSE, "%s%s%s: missing (expected %s)", where, dot, key,
                            expected);
  return hvb_gateway_fail(err, HVB_PARSE, "%s%s%s: expected %s, got %s", where, dot, key,
                          expected, w_name(t));
}

static bool want_all(json_object *obj, const char *const *keys, unsigned types,
                     const char *where, hvb_error *err) {
  for (; *keys; keys++)
    if (!want(obj, *keys, types, where, err)) return false;
  return true;
}

/* holder.usage: an object or null, its token counts numbers or null. */
static bool usage_shape(json_object *holder, const char *where, hvb_error *err) {
  if (!want(holder, "usage", W_OBJ | W_NULL, where, err)) return false;
  json_object *usage = member(holder, "usage");
  if (!usage) return true;
  char path[96];
  snprintf(path, sizeof path, "%s%susage", where,
           *where && where[strlen(where) - 1] != ' ' ? "." : "");
  static const char *const counts[] = {"input_tokens", "output_tokens",
                                       "cache_creation_input_tokens", "cache_read_input_tokens",
                                       NULL};
  return want_all(usage, counts, W_NUM | W_NULL, path, err);
}

/* A content block of a reply, or the content_block of content_block_start (`start`: its
 * text and thinking may be null, the deltas bring them). */
static bool block_shape(json_object *b, const char *where, bool start, hvb_error *err) {
  if (!json_object_is_type(b, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE, "%s: expected an object, got %s", where,
                            w_name(w_type(b)));
  if (!want(b, "type", W_STR, where, err)) return false;
  const char *type = str_member(b, "type");
  unsigned text = W_STR | (start ? W_NULL : 0);
  if (str_eq(type, "text")) return want(b, "text", text, where, err);
  if (str_eq(type, "thinking")) return want(b, "thinking", text, where, err);
  if (!str_eq(type, "tool_use")) return true;
  static const char *const ids[] = {"id", "name", NULL};
  return want_all(b, ids, W_STR, where, err) && want(b, "input", W_OBJ | W_NULL, where, err);
}

static bool response_shape(json_object *body, hvb_error *err) {
  if (!want(body, "content", W_ARR, "", err)) return false;
  json_object *content = member(body, "content");
  for (size_t i = 0; i < alen(content); i++) {
    char where[32];
    snprintf(where, sizeof where, "content[%zu]", i);
    if (!block_shape(json_object_array_get_idx(content, i), where, false, err)) return false;
  }
  static const char *const labels[] = {"id", "model", "role", "stop_reason", NULL};
  return want_all(body, labels, W_STR | W_NULL, "", err) && usage_shape(body, "", err);
}

/* The members of a stream event that the translation reads (see anthropic_stream_event). */
static bool event_shape(json_object *ev, const char *type, hvb_error *err) {
  char where[64];
  snprintf(where, sizeof where, "%s event: ", type);
  if (strcmp(type, "message_start") == 0) {
    if (!want(ev, "message", W_OBJ | W_NULL, where, err)) return false;
    snprintf(where, sizeof where, "%s event: message", type);
    return !member(ev, "message") || usage_shape(member(ev, "message"), where, err);
  }
  if (strcmp(type, "content_block_start") == 0) {
    if (!want(ev, "content_block", W_OBJ, where, err) ||
        !want(ev, "index", W_NUM, where, err))
      return false;
    snprintf(where, sizeof where, "%s event: content_block", type);
    return block_shape(member(ev, "content_block"), where, true, err);
  }
  if (strcmp(type, "content_block_delta") == 0) {
    if (!want(ev, "delta", W_OBJ, where, err) || !want(ev, "index", W_NUM, where, err))
      return false;
    json_object *d = member(ev, "delta");
    snprintf(where, sizeof where, "%s event: delta", type);
    if (!want(d, "type", W_STR, where, err)) return false;
    const char *dt = str_member(d, "type");
    return str_eq(dt, "text_delta")         ? want(d, "text", W_STR, where, err)
           : str_eq(dt, "thinking_delta")   ? want(d, "thinking", W_STR, where, err)
           : str_eq(dt, "input_json_delta") ? want(d, "partial_json", W_STR, where, err)
                                            : true;
  }
  if (strcmp(type, "message_delta") == 0) {
    if (!want(ev, "delta", W_OBJ | W_NULL, where, err) || !usage_shape(ev, where, err))
      return false;
    snprintf(where, sizeof where, "%s event: delta", type);
    return !member(ev, "delta") || want(member(ev, "delta"), "stop_reason", W_STR | W_NULL,
                                        where, err);
  }
  return true;
}

static void append_text(struct printbuf *pb, const char *s) {
  if (s) printbuf_memappend(pb, s, (int)strlen(s));
}

/* A tool_use block of a reply as a canonical tool call (new). */
static json_object *tool_call_of(json_object *b) {
  json_object *call = json_object_new_object();
  const char *id = str_member(b, "id");
  if (id) add_str(call, "id", id);
  add_str(call, "type", "function");
  json_object *fn = json_object_new_object();
  const char *name = str_member(b, "name");
  add_str(fn, "name", name ? name : "");
  json_object *input = member(b, "input");
  add_str(fn, "arguments", input ? compact(input) : "{}");
  json_object_object_add(call, "function", fn);
  return call;
}

json_object *anthropic_response(json_object *body, hvb_error *err) {
  if (!json_object_is_type(body, json_type_object)) {
    hvb_gateway_fail(err, HVB_PARSE, "the response is not a JSON object");
    return NULL;
  }
  json_object *error = member(body, "error");
  if (error || str_eq(str_member(body, "type"), "error")) {
    provider_error(error, "the response", err);
    return NULL;
  }
  json_object *content = member(body, "content");
  if (!json_object_is_type(content, json_type_array)) {
    hvb_gateway_fail(err, HVB_PARSE, "the response has no 'content' array (not a Messages reply)");
    return NULL;
  }
  if (!response_shape(body, err)) return NULL;
  struct printbuf *text = printbuf_new(), *think = printbuf_new();
  if (!text || !think) {
    if (text) printbuf_free(text);
    if (think) printbuf_free(think);
    hvb_gateway_fail(err, HVB_ENOMEM, "out of memory reading the response");
    return NULL;
  }
  json_object *calls = json_object_new_array(), *thinking_blocks = json_object_new_array();
  for (size_t i = 0; i < alen(content); i++) {
    json_object *b = json_object_array_get_idx(content, i);
    const char *type = str_member(b, "type");
    if (str_eq(type, "text")) {
      append_text(text, str_member(b, "text"));
    } else if (str_eq(type, "thinking") || str_eq(type, "redacted_thinking")) {
      if (str_eq(type, "thinking")) append_text(think, str_member(b, "thinking"));
      json_object *kept = anthropic_thinking_keep(b);
      if (kept) json_object_array_add(thinking_blocks, kept);
    } else if (str_eq(type, "tool_use")) {
      json_object_array_add(calls, tool_call_of(b));
    }
    /* Server tool blocks and results: nothing a chat result shows. */
  }
  bool has_calls = alen(calls) > 0;
  json_object *message = json_object_new_object();
  add_str(message, "role", "assistant");
  json_object_object_add(message, "content",
                         printbuf_length(text) || !has_calls
                             ? json_object_new_string_len(text->buf, printbuf_length(text))
                             : NULL);
  if (printbuf_length(think))
    json_object_object_add(message, "reasoning_content",
                           json_object_new_string_len(think->buf, printbuf_length(think)));
  if (alen(thinking_blocks))
    json_object_object_add(message, "thinking_blocks", thinking_blocks);
  else
    json_object_put(thinking_blocks);
  if (has_calls)
    json_object_object_add(message, "tool_calls", calls);
  else
    json_object_put(calls);
  printbuf_free(text);
  printbuf_free(think);

  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "message", message);
  const char *finish = anthropic_finish_reason(str_member(body, "stop_reason"));
  json_object_object_add(choice, "finish_reason", finish ? json_object_new_string(finish) : NULL);
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);

  json_object *out = json_object_new_object();
  const char *id = str_member(body, "id");
  if (id) add_str(out, "id", id);
  add_str(out, "object", "chat.completion");
  const char *model = str_member(body, "model");
  if (model) add_str(out, "model", model);
  json_object_object_add(out, "choices", choices);
  json_object *usage = canonical_usage(member(body, "usage"), NULL);
  if (usage) json_object_object_add(out, "usage", usage);
  return out;
}

/* ============================================================================================
 * Stream
 * ========================================================================================== */

enum block_kind { BLOCK_TEXT, BLOCK_THINKING, BLOCK_TOOL, BLOCK_OTHER };

typedef struct block {
  int64_t index;   /* Anthropic's content block index */
  enum block_kind kind;
  int ordinal;     /* tool_use blocks: 0, 1, ... in order of appearance */
  bool in_string;  /* tool_use blocks: where the compaction of the argument JSON stands */
  bool escape;
} block;

struct anthropic_stream {
  json_object *message; /* message_start's message (id, model, usage), or NULL */
  block *blocks;
  size_t nblocks, cap;
  int tools;            /* tool_use blocks seen */
  bool usage_sent;
  struct printbuf *think; /* the thinking block being streamed (blocks come one at a time) */
  char *signature;        /* its signature_delta */
};

anthropic_stream *anthropic_stream_new(void) {
  return calloc(1, sizeof(anthropic_stream));
}

void anthropic_stream_free(anthropic_stream *st) {
  if (!st) return;
  json_object_put(st->message);
  free(st->blocks);
  if (st->think) printbuf_free(st->think);
  free(st->signature);
  free(st);
}

static block *find_block(anthropic_stream *st, int64_t index) {
  /* From the end: a repeated index (never sent by Anthropic) means the latest block. */
  for (size_t i = st->nblocks; i-- > 0;)
    if (st->blocks[i].index == index) return &st->blocks[i];
  return NULL;
}

static block *add_block(anthropic_stream *st, int64_t index, enum block_kind kind) {
  if (st->nblocks == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 8;
    block *b = realloc(st->blocks, cap * sizeof *b);
    if (!b) return NULL;
    st->blocks = b;
    st->cap = cap;
  }
  block *b = &st->blocks[st->nblocks++];
  memset(b, 0, sizeof *b);
  b->index = index;
  b->kind = kind;
  if (kind == BLOCK_TOOL) b->ordinal = st->tools++;
  return b;
}

/* A new chunk {id?, object, model?, choices: [{index: 0, delta: {}, finish_reason: null}]},
 * appended to `chunks` (borrowed from it). */
static json_object *new_chunk(anthropic_stream *st, json_object *chunks) {
  json_object *chunk = json_object_new_object();
  const char *id = str_member(st->message, "id");
  if (id) add_str(chunk, "id", id);
  add_str(chunk, "object", "chat.completion.chunk");
  const char *model = str_member(st->message, "model");
  if (model) add_str(chunk, "model", model);
  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "delta", json_object_new_object());
  json_object_object_add(choice, "finish_reason", NULL);
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);
  json_object_object_add(chunk, "choices", choices);
  json_object_array_add(chunks, chunk);
  return chunk;
}

static json_object *chunk_choice(json_object *chunk) {
  return json_object_array_get_idx(member(chunk, "choices"), 0);
}

static json_object *chunk_delta(json_object *chunk) {
  return member(chunk_choice(chunk), "delta");
}

static void emit_text(anthropic_stream *st, json_object *chunks, const char *key, const char *s) {
  if (!s || !*s) return;
  add_str(chunk_delta(new_chunk(st, chunks)), key, s);
}

/* A tool_calls fragment for tool block `b`: on its start (id and name given) or with an
 * arguments fragment. */
static void emit_tool(anthropic_stream *st, json_object *chunks, const block *b, const char *id,
                      const char *name, const char *args, size_t args_len) {
  json_object *frag = json_object_new_object();
  json_object_object_add(frag, "index", json_object_new_int(b->ordinal));
  if (id) add_str(frag, "id", id);
  if (name) add_str(frag, "type", "function");
  json_object *fn = json_object_new_object();
  if (name) add_str(fn, "name", name);
  json_object_object_add(fn, "arguments", json_object_new_string_len(args, (int)args_len));
  json_object_object_add(frag, "function", fn);
  json_object *calls = json_object_new_array();
  json_object_array_add(calls, frag);
  json_object_object_add(chunk_delta(new_chunk(st, chunks)), "tool_calls", calls);
}

/* Strip the whitespace outside strings from an argument JSON fragment, keeping the state
 * between fragments in `b`. Anthropic streams "{\"city\": \"Paris\"}" where the whole reply
 * says {"city":"Paris"}: compacting makes a gathered stream equal the reply it streams.
 * Returns the new length (the text is edited in place). */
static size_t compact_fragment(block *b, char *s, size_t len) {
  size_t out = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (b->in_string) {
      if (b->escape)
        b->escape = false;
      else if (c == '\\')
        b->escape = true;
      else if (c == '"')
        b->in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    } else if (c == '"') {
      b->in_string = true;
    }
    s[out++] = c;
  }
  return out;
}

/* A thinking block starts: gather its text and signature until content_block_stop. */
static void thinking_begin(anthropic_stream *st, const char *text) {
  if (st->think) printbuf_free(st->think);
  st->think = printbuf_new();
  if (st->think && text) printbuf_memappend(st->think, text, (int)strlen(text));
  free(st->signature);
  st->signature = NULL;
}

/* The block ended: hand it on whole, with its signature, as "thinking_blocks". */
static void thinking_end(anthropic_stream *st, json_object *chunks) {
  bool keep = st->think && st->signature; /* unsigned thinking cannot be sent back */
  if (!keep) {
    if (st->think) printbuf_free(st->think);
    st->think = NULL;
    return;
  }
  json_object *list = anthropic_thinking_streamed(st->think->buf, (size_t)printbuf_length(st->think),
                                                  st->signature);
  json_object_object_add(chunk_delta(new_chunk(st, chunks)), "thinking_blocks", list);
  printbuf_free(st->think);
  st->think = NULL;
}

static bool on_block_start(anthropic_stream *st, json_object *ev, json_object *chunks,
                           hvb_error *err) {
  int64_t index = 0;
  json_object *cb = member(ev, "content_block");
  if (!int_value(member(ev, "index"), &index) || !json_object_is_type(cb, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE,
                            "content_block_start without 'index' or 'content_block'");
  const char *type = str_member(cb, "type");
  enum block_kind kind = str_eq(type, "text")       ? BLOCK_TEXT
                         : str_eq(type, "thinking") ? BLOCK_THINKING
                         : str_eq(type, "tool_use") ? BLOCK_TOOL
                                                    : BLOCK_OTHER;
  block *b = add_block(st, index, kind);
  if (!b) return hvb_gateway_fail(err, HVB_ENOMEM, "out of memory tracking content blocks");
  if (kind == BLOCK_TEXT) {
    emit_text(st, chunks, "content", str_member(cb, "text"));
  } else if (kind == BLOCK_THINKING) {
    emit_text(st, chunks, "reasoning_content", str_member(cb, "thinking"));
    thinking_begin(st, str_member(cb, "thinking"));
  } else if (str_eq(type, "redacted_thinking")) {
    json_object *list = json_object_new_array(), *kept = anthropic_thinking_keep(cb);
    if (kept) json_object_array_add(list, kept);
    json_object_object_add(chunk_delta(new_chunk(st, chunks)), "thinking_blocks", list);
  } else if (kind == BLOCK_TOOL) {
    const char *id = str_member(cb, "id");
    const char *name = str_member(cb, "name");
    if (!id || !name)
      return hvb_gateway_fail(err, HVB_PARSE, "tool_use block %lld without 'id' or 'name'",
                              (long long)index);
    /* The input arrives through input_json_delta; a server that sends it whole here
     * (non-empty) gets it as the first fragment. */
    json_object *input = member(cb, "input");
    const char *args = olen(input) > 0 ? compact(input) : "";
    emit_tool(st, chunks, b, id, name, args, strlen(args));
  }
  return true;
}

static bool on_block_delta(anthropic_stream *st, json_object *ev, json_object *chunks,
                           hvb_error *err) {
  int64_t index = 0;
  json_object *delta = member(ev, "delta");
  if (!int_value(member(ev, "index"), &index) || !json_object_is_type(delta, json_type_object))
    return hvb_gateway_fail(err, HVB_PARSE, "content_block_delta without 'index' or 'delta'");
  const char *type = str_member(delta, "type");
  if (str_eq(type, "text_delta")) {
    emit_text(st, chunks, "content", str_member(delta, "text"));
  } else if (str_eq(type, "thinking_delta")) {
    emit_text(st, chunks, "reasoning_content", str_member(delta, "thinking"));
    const char *t = str_member(delta, "thinking");
    if (st->think && t) printbuf_memappend(st->think, t, (int)strlen(t));
  } else if (str_eq(type, "signature_delta")) {
    const char *sig = str_member(delta, "signature");
    free(st->signature);
    st->signature = sig ? strdup(sig) : NULL;
  } else if (str_eq(type, "input_json_delta")) {
    block *b = find_block(st, index);
    if (!b || b->kind != BLOCK_TOOL)
      return hvb_gateway_fail(err, HVB_PARSE,
                              "input_json_delta for content block %lld, which is not a tool_use "
                              "block",
                              (long long)index);
    json_object *pj = member(delta, "partial_json");
    if (!json_object_is_type(pj, json_type_string)) return true;
    size_t len = (size_t)json_object_get_string_len(pj);
    char *frag = malloc(len + 1);
    if (!frag) return hvb_gateway_fail(err, HVB_ENOMEM, "out of memory reading tool arguments");
    memcpy(frag, json_object_get_string(pj), len + 1);
    len = compact_fragment(b, frag, len);
    if (len) emit_tool(st, chunks, b, NULL, NULL, frag, len);
    free(frag);
  }
  /* citations_delta carries nothing the canonical form holds. */
  return true;
}

bool anthropic_stream_event(anthropic_stream *st, const char *event, const char *data,
                            size_t len, json_object *chunks, bool *done, hvb_error *err) {
  if (!st) return hvb_gateway_fail(err, HVB_ENOMEM, "no stream state (out of memory)");
  json_object *ev = parse_whole(data, len);
  if (!json_object_is_type(ev, json_type_object)) {
    json_object_put(ev);
    return hvb_gateway_fail(err, HVB_PARSE, "stream event '%s' is not a JSON object",
                            *event ? event : "(unnamed)");
  }
  const char *type = str_member(ev, "type");
  if (!type) type = event;
  bool ok = want(ev, "type", W_STR | W_NULL, "stream event: ", err) && event_shape(ev, type, err);
  if (!ok) {
    json_object_put(ev);
    return false;
  }
  if (strcmp(type, "message_start") == 0) {
    json_object *msg = member(ev, "message");
    if (json_object_is_type(msg, json_type_object)) {
      json_object_put(st->message);
      st->message = json_object_get(msg);
    }
    add_str(chunk_delta(new_chunk(st, chunks)), "role", "assistant");
  } else if (strcmp(type, "content_block_start") == 0) {
    ok = on_block_start(st, ev, chunks, err);
  } else if (strcmp(type, "content_block_delta") == 0) {
    ok = on_block_delta(st, ev, chunks, err);
  } else if (strcmp(type, "message_delta") == 0) {
    json_object *chunk = new_chunk(st, chunks);
    const char *finish = anthropic_finish_reason(str_member(member(ev, "delta"), "stop_reason"));
    if (finish) add_str(chunk_choice(chunk), "finish_reason", finish);
    /* Usage once, for the whole message: message_delta's counts are cumulative and win over
     * message_start's (the pipeline sums usage chunks, so a second report would count
     * twice). */
    json_object *usage = st->usage_sent ? NULL
                                        : canonical_usage(member(st->message, "usage"),
                                                          member(ev, "usage"));
    if (usage) {
      json_object_object_add(chunk, "usage", usage);
      st->usage_sent = true;
    }
  } else if (strcmp(type, "message_stop") == 0) {
    /* A stream without message_delta still reports message_start's usage. */
    json_object *usage =
        st->usage_sent ? NULL : canonical_usage(member(st->message, "usage"), NULL);
    if (usage) {
      json_object_object_add(new_chunk(st, chunks), "usage", usage);
      st->usage_sent = true;
    }
    *done = true;
  } else if (strcmp(type, "content_block_stop") == 0) {
    thinking_end(st, chunks);
  } else if (strcmp(type, "error") == 0) {
    ok = provider_error(member(ev, "error") ? member(ev, "error") : ev, "the stream", err);
  }
  /* ping and event types added after this was written: nothing. */
  json_object_put(ev);
  return ok;
}
