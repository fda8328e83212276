/* plugins/mock/mock.c: the `mock` gateway: offline, deterministic answers for tests, examples
 * and demos. No network, no key, no state: the same request always gets the same answer.
 * (It is also the worked example of an offline gateway: it answers through `execute`.)
 *
 * Chat (HVB_GATEWAY_OP_CHAT) without a script:
 *   reply = "Mock reply to: " + the text of the last message whose role is "user" (its
 *           string content, or its text parts joined with " "), or "(no user message)";
 *   chunks, in order: a role chunk (delta {"role": "assistant"}); one chunk per word of the
 *           reply, each word carrying the whitespace that follows it, so that the chunks
 *           concatenate to the reply exactly; a finish chunk (finish_reason "stop"); a usage
 *           chunk (choices [], usage {prompt_tokens, completion_tokens, total_tokens});
 *   prompt_tokens = whitespace-separated words in the texts of all request messages,
 *   completion_tokens = words in the reply.
 * Chat and stream see the same chunks, so their results are equal.
 *
 * Scripted chat: the request argument "mock_replies" (a JSON array; pass it as a constructor
 * or call option: {"mock_replies": [...]}) replaces the rule. The reply to a request is
 * element n of the array, where n = the number of "assistant" messages already in the request:
 * the first call of a conversation gets element 0, the call after one assistant turn (a tool
 * loop's second round) element 1, and so on. An element is
 *   - a string: the assistant's text;
 *   - an assistant message object: "content" (string or null), "reasoning_content" (string),
 *     "tool_calls" (OpenAI tool calls; "id" defaults to "call_mock_<n>_<i>", "type" to
 *     "function", and "function.arguments" may be a JSON object instead of a string), and
 *     optionally "finish_reason" (default "tool_calls" when there are tool calls, else "stop")
 *     and "usage" (default: the word counts above);
 *   - {"error": {"status": 429, "message": "...", "type": "..."}}: the call fails with
 *     HVB_HTTP and that HTTP status (HVB_PROVIDER when "status" is absent or 0), the message
 *     and the type.
 * A request past the end of the script fails with HVB_EINVAL naming both counts. Streaming:
 * role chunk, a reasoning chunk, the content word by word, one chunk per tool call, the finish
 * chunk, the usage chunk.
 *
 * Embeddings (HVB_GATEWAY_OP_EMBED): "input" is a string or an array of strings. The vector
 * size is the request's "embed_dim", else its "dimensions", else the catalog model's
 * "dimension", else 8 (1..65536). Each vector is SHA-256 in counter mode over the input's
 * bytes (block i = SHA-256(text || i as 4 bytes big-endian); each 4-byte big-endian word u
 * becomes u / 2^31 - 1), scaled to unit length: identical on every run and platform.
 * usage: prompt_tokens = total_tokens = words in the inputs.
 *
 * Images (HVB_GATEWAY_OP_IMAGE): "prompt" (string) and "n" (1..10, default 1). Image i is an
 * 8x8 RGB PNG of one colour: the first three bytes of SHA-256(prompt || i as 4 bytes
 * big-endian). The PNG is complete and valid (IHDR, one IDAT holding a zlib stream of stored
 * deflate blocks with its Adler-32, IEND; every chunk with its CRC-32), returned as
 * data[i].b64_json with revised_prompt = the prompt.
 */
/* ABI 1.1: call the library through its host table (the Makefile defines this for every
 * plugin of the tree; a plugin built on its own defines it before including the header). */
#ifndef HVB_GATEWAY_PLUGIN
#define HVB_GATEWAY_PLUGIN 1
#endif
#include <heavenbase/gateway.h>

#include "mock-schema.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MOCK_PREFIX "Mock reply to: "
#define MOCK_NO_USER "(no user message)"
#define MOCK_DEFAULT_DIM 8
#define MOCK_MAX_DIM 65536
#define MOCK_MAX_IMAGES 10
#define MOCK_IMAGE_SIDE 8

/* ---- small JSON helpers (the library's own are internal) ---- */

static const char *str_member(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* The text of a message's content: a string as is, text parts joined with " ". New string. */
static char *content_text(json_object *content) {
  if (json_object_is_type(content, json_type_string))
    return g_strdup(json_object_get_string(content));
  GString *out = g_string_new(NULL);
  if (json_object_is_type(content, json_type_array)) {
    bool first = true;
    for (size_t i = 0; i < json_object_array_length(content); i++) {
      json_object *part = json_object_array_get_idx(content, i);
      const char *type = str_member(part, "type");
      const char *text = str_member(part, "text");
      if (!text || (type && strcmp(type, "text") != 0)) continue;
      if (!first) g_string_append_c(out, ' ');
      g_string_append(out, text);
      first = false;
    }
  }
  return g_string_free(out, FALSE);
}

static long count_words(const char *s) {
  long n = 0;
  bool in_word = false;
  for (; s && *s; s++) {
    bool space = g_ascii_isspace(*s);
    if (!space && !in_word) n++;
    in_word = !space;
  }
  return n;
}

static const char *model_of(const hvb_spec *spec) {
  const char *model = spec ? hvb_spec_model_id(spec) : NULL;
  return model && *model ? model : "mock";
}

/* ---- chat ---- */

/* A chat.completion.chunk with one choice holding `delta` (taken) and `finish` (may be NULL),
 * or with no choice when delta is NULL. New reference. */
static json_object *chunk_new(const char *model, json_object *delta, const char *finish) {
  json_object *c = json_object_new_object();
  json_object_object_add(c, "id", json_object_new_string("chatcmpl-mock"));
  json_object_object_add(c, "object", json_object_new_string("chat.completion.chunk"));
  json_object_object_add(c, "model", json_object_new_string(model));
  json_object *choices = json_object_new_array();
  if (delta) {
    json_object *choice = json_object_new_object();
    json_object_object_add(choice, "index", json_object_new_int(0));
    json_object_object_add(choice, "delta", delta);
    json_object_object_add(choice, "finish_reason", finish ? json_object_new_string(finish) : NULL);
    json_object_array_add(choices, choice);
  }
  json_object_object_add(c, "choices", choices);
  return c;
}

static json_object *text_delta(const char *key, const char *text, size_t len) {
  json_object *d = json_object_new_object();
  json_object_object_add(d, key, json_object_new_string_len(text, (int)len));
  return d;
}

/* One chunk per word of `text`, each word with the whitespace after it. */
static void add_word_chunks(json_object *chunks, const char *model, const char *text) {
  const char *p = text;
  while (*p) {
    const char *start = p;
    while (*p && !g_ascii_isspace(*p)) p++;
    while (*p && g_ascii_isspace(*p)) p++;
    json_object_array_add(
        chunks, chunk_new(model, text_delta("content", start, (size_t)(p - start)), NULL));
  }
}

static json_object *usage_new(long prompt, long completion) {
  json_object *usage = json_object_new_object();
  json_object_object_add(usage, "prompt_tokens", json_object_new_int64(prompt));
  json_object_object_add(usage, "completion_tokens", json_object_new_int64(completion));
  json_object_object_add(usage, "total_tokens", json_object_new_int64(prompt + completion));
  return usage;
}

static void add_usage_chunk(json_object *chunks, const char *model, json_object *usage) {
  json_object *last = chunk_new(model, NULL, NULL);
  json_object_object_add(last, "usage", usage);
  json_object_array_add(chunks, last);
}

/* A scripted tool call as one complete fragment (new reference). */
static json_object *tool_fragment(json_object *call, size_t turn, size_t i) {
  json_object *frag = json_object_new_object();
  json_object_object_add(frag, "index", json_object_new_int64((int64_t)i));
  const char *id = str_member(call, "id");
  char *made = id ? NULL : g_strdup_printf("call_mock_%zu_%zu", turn, i);
  json_object_object_add(frag, "id", json_object_new_string(id ? id : made));
  g_free(made);
  const char *type = str_member(call, "type");
  json_object_object_add(frag, "type", json_object_new_string(type ? type : "function"));
  json_object *fn_in = json_object_object_get(call, "function");
  json_object *fn = json_object_new_object();
  const char *name = str_member(fn_in, "name");
  json_object_object_add(fn, "name", json_object_new_string(name ? name : ""));
  json_object *args = json_object_object_get(fn_in, "arguments");
  const char *args_text =
      json_object_is_type(args, json_type_string)
          ? json_object_get_string(args)
          : args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN) : "{}";
  json_object_object_add(fn, "arguments", json_object_new_string(args_text));
  json_object_object_add(frag, "function", fn);
  return frag;
}

/* The scripted element `el` (turn n) as chunks. */
static bool scripted_reply(json_object *el, size_t turn, const char *model, long prompt_words,
                           json_object *chunks, hvb_error *err) {
  json_object *e = json_object_object_get(el, "error");
  if (e) {
    json_object *sv = json_object_object_get(e, "status");
    int status = json_object_is_type(sv, json_type_int) ? json_object_get_int(sv) : 0;
    const char *msg = str_member(e, "message");
    const char *type = str_member(e, "type");
    if (!msg) msg = "scripted error";
    if (status > 0)
      return hvb_gateway_fail_http(err, HVB_HTTP, status, type,
                                   "HTTP %d from the mock gateway (mock_replies[%zu]): %s",
                                   status, turn, msg);
    return hvb_gateway_fail_http(err, HVB_PROVIDER, 0, type,
                                 "the mock gateway reported an error (mock_replies[%zu]): %s",
                                 turn, msg);
  }
  const char *content = NULL, *reasoning = NULL, *finish = NULL;
  json_object *calls = NULL, *usage = NULL;
  if (json_object_is_type(el, json_type_string)) {
    content = json_object_get_string(el);
  } else if (json_object_is_type(el, json_type_object)) {
    content = str_member(el, "content");
    reasoning = str_member(el, "reasoning_content");
    finish = str_member(el, "finish_reason");
    calls = json_object_object_get(el, "tool_calls");
    usage = json_object_object_get(el, "usage");
    if (calls && !json_object_is_type(calls, json_type_array))
      return hvb_gateway_fail(err, HVB_EINVAL, "mock_replies[%zu].tool_calls is not an array",
                              turn);
  } else {
    return hvb_gateway_fail(err, HVB_EINVAL,
                            "mock_replies[%zu] is neither a string nor a message object", turn);
  }
  size_t ncalls = calls ? json_object_array_length(calls) : 0;

  json_object_array_add(chunks, chunk_new(model, text_delta("role", "assistant", 9), NULL));
  if (reasoning)
    json_object_array_add(
        chunks, chunk_new(model, text_delta("reasoning_content", reasoning, strlen(reasoning)),
                          NULL));
  if (content) add_word_chunks(chunks, model, content);
  for (size_t i = 0; i < ncalls; i++) {
    json_object *delta = json_object_new_object();
    json_object *frags = json_object_new_array();
    json_object_array_add(frags, tool_fragment(json_object_array_get_idx(calls, i), turn, i));
    json_object_object_add(delta, "tool_calls", frags);
    json_object_array_add(chunks, chunk_new(model, delta, NULL));
  }
  if (!finish) finish = ncalls ? "tool_calls" : "stop";
  json_object_array_add(chunks, chunk_new(model, json_object_new_object(), finish));
  /* A copy: the chunks must not share objects with the request (the caller may edit it). */
  json_object *given = NULL;
  if (json_object_is_type(usage, json_type_object)) json_object_deep_copy(usage, &given, NULL);
  add_usage_chunk(chunks, model, given ? given : usage_new(prompt_words, count_words(content)));
  return true;
}

/* A structured call ("response_format" json_schema or json_object) is answered with JSON: a
 * value made from the schema (mock-schema.h), or {"reply": <the usual reply>}. Spaced, so that
 * a stream has several deltas. New string, or NULL when the call asks for text. */
static char *structured_reply(json_object *canonical, const char *reply) {
  json_object *rf = json_object_object_get(canonical, "response_format");
  const char *type = str_member(rf, "type");
  json_object *v = NULL;
  if (type && !strcmp(type, "json_schema")) {
    v = mock_schema_value(json_object_object_get(json_object_object_get(rf, "json_schema"),
                                                 "schema"));
  } else if (type && !strcmp(type, "json_object")) {
    v = json_object_new_object();
    json_object_object_add(v, "reply", json_object_new_string(reply));
  } else {
    return NULL;
  }
  char *text = g_strdup(v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "null");
  json_object_put(v);
  return text;
}

static bool mock_chat(const hvb_spec *spec, json_object *canonical, json_object *chunks,
                      hvb_error *err) {
  json_object *messages = json_object_object_get(canonical, "messages");
  if (!json_object_is_type(messages, json_type_array))
    return hvb_gateway_fail(err, HVB_EINVAL, "the request has no 'messages' array");
  const char *model = model_of(spec);

  long prompt_words = 0;
  size_t assistant_turns = 0;
  char *last_user = NULL;
  for (size_t i = 0; i < json_object_array_length(messages); i++) {
    json_object *m = json_object_array_get_idx(messages, i);
    char *text = content_text(json_object_object_get(m, "content"));
    prompt_words += count_words(text);
    const char *role = str_member(m, "role");
    if (role && strcmp(role, "assistant") == 0) assistant_turns++;
    if (role && strcmp(role, "user") == 0) {
      g_free(last_user);
      last_user = text;
    } else {
      g_free(text);
    }
  }

  json_object *script = json_object_object_get(canonical, "mock_replies");
  if (script && !json_object_is_type(script, json_type_null)) {
    g_free(last_user);
    if (!json_object_is_type(script, json_type_array))
      return hvb_gateway_fail(err, HVB_EINVAL, "mock_replies must be a JSON array");
    size_t n = json_object_array_length(script);
    if (assistant_turns >= n)
      return hvb_gateway_fail(err, HVB_EINVAL,
                              "mock_replies has %zu repl%s, but the request already holds %zu "
                              "assistant message%s (it asks for reply %zu)",
                              n, n == 1 ? "y" : "ies", assistant_turns,
                              assistant_turns == 1 ? "" : "s", assistant_turns + 1);
    return scripted_reply(json_object_array_get_idx(script, assistant_turns), assistant_turns,
                          model, prompt_words, chunks, err);
  }

  char *reply = g_strconcat(MOCK_PREFIX, last_user ? last_user : MOCK_NO_USER, NULL);
  g_free(last_user);
  char *structured = structured_reply(canonical, reply);
  if (structured) {
    g_free(reply);
    reply = structured;
  }
  json_object_array_add(chunks, chunk_new(model, text_delta("role", "assistant", 9), NULL));
  add_word_chunks(chunks, model, reply);
  json_object_array_add(chunks, chunk_new(model, json_object_new_object(), "stop"));
  add_usage_chunk(chunks, model, usage_new(prompt_words, count_words(reply)));
  g_free(reply);
  return true;
}

/* ---- embeddings ---- */

/* SHA-256 of `data` followed by `counter` as 4 bytes big-endian. */
static void sha256_counter(const void *data, size_t len, uint32_t counter, guint8 out[32]) {
  guint8 be[4] = {(guint8)(counter >> 24), (guint8)(counter >> 16), (guint8)(counter >> 8),
                  (guint8)counter};
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(sum, data, (gssize)len);
  g_checksum_update(sum, be, sizeof be);
  gsize dlen = 32;
  g_checksum_get_digest(sum, out, &dlen);
  g_checksum_free(sum);
}

/* The unit vector of `text` as a JSON array of `dim` numbers (new reference). */
static json_object *embed_one(const char *text, size_t dim) {
  size_t tlen = strlen(text);
  double *v = g_new(double, dim);
  double norm = 0.0;
  guint8 digest[32];
  for (size_t i = 0; i < dim; i += 8) {
    sha256_counter(text, tlen, (uint32_t)(i / 8), digest);
    for (size_t j = 0; j < 8 && i + j < dim; j++) {
      const guint8 *b = digest + 4 * j;
      guint32 u = ((guint32)b[0] << 24) | ((guint32)b[1] << 16) | ((guint32)b[2] << 8) | b[3];
      /* Exact in double: u / 2^31 - 1 lies in [-1, 1) on every IEEE platform. */
      v[i + j] = (double)u / 2147483648.0 - 1.0;
      norm += v[i + j] * v[i + j];
    }
  }
  /* All words zero is a 2^-32-per-word event per block; guard the division all the same. */
  norm = norm > 0.0 ? sqrt(norm) : 1.0;
  json_object *arr = json_object_new_array_ext((int)dim);
  for (size_t i = 0; i < dim; i++) json_object_array_add(arr, json_object_new_double(v[i] / norm));
  g_free(v);
  return arr;
}

/* The vector size: embed_dim, dimensions, the model's catalog dimension, 8. */
static bool embed_dim(const hvb_spec *spec, json_object *canonical, size_t *dim,
                      hvb_error *err) {
  static const char *const keys[] = {"embed_dim", "dimensions"};
  for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) {
    json_object *v = json_object_object_get(canonical, keys[k]);
    if (!v) continue;
    int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    if (n < 1 || n > MOCK_MAX_DIM)
      return hvb_gateway_fail(err, HVB_EINVAL, "'%s' must be an integer from 1 to %d", keys[k],
                              MOCK_MAX_DIM);
    *dim = (size_t)n;
    return true;
  }
  json_object *d = json_object_object_get(spec ? hvb_spec_model_info(spec) : NULL, "dimension");
  int64_t n = json_object_is_type(d, json_type_int) ? json_object_get_int64(d) : 0;
  *dim = n >= 1 && n <= MOCK_MAX_DIM ? (size_t)n : MOCK_DEFAULT_DIM;
  return true;
}

static bool mock_embed(const hvb_spec *spec, json_object *canonical, json_object *out,
                       hvb_error *err) {
  json_object *input = json_object_object_get(canonical, "input");
  bool single = json_object_is_type(input, json_type_string);
  if (!single && !json_object_is_type(input, json_type_array))
    return hvb_gateway_fail(err, HVB_EINVAL,
                            "the request's 'input' must be a string or an array of strings");
  size_t n = single ? 1 : json_object_array_length(input);
  for (size_t i = 0; !single && i < n; i++)
    if (!json_object_is_type(json_object_array_get_idx(input, i), json_type_string))
      return hvb_gateway_fail(err, HVB_EINVAL, "input[%zu] is not a string", i);
  size_t dim = 0;
  if (!embed_dim(spec, canonical, &dim, err)) return false;

  json_object *data = json_object_new_array();
  long words = 0;
  for (size_t i = 0; i < n; i++) {
    const char *text = json_object_get_string(single ? input : json_object_array_get_idx(input, i));
    words += count_words(text);
    json_object *item = json_object_new_object();
    json_object_object_add(item, "object", json_object_new_string("embedding"));
    json_object_object_add(item, "index", json_object_new_int64((int64_t)i));
    json_object_object_add(item, "embedding", embed_one(text, dim));
    json_object_array_add(data, item);
  }
  json_object *res = json_object_new_object();
  json_object_object_add(res, "object", json_object_new_string("list"));
  json_object_object_add(res, "model", json_object_new_string(model_of(spec)));
  json_object_object_add(res, "data", data);
  json_object *usage = json_object_new_object();
  json_object_object_add(usage, "prompt_tokens", json_object_new_int64(words));
  json_object_object_add(usage, "total_tokens", json_object_new_int64(words));
  json_object_object_add(res, "usage", usage);
  json_object_array_add(out, res);
  return true;
}

/* ---- images: a minimal PNG encoder (stored deflate, no zlib needed) ---- */

static uint32_t crc32_update(uint32_t crc, const guint8 *p, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static uint32_t adler32(const guint8 *p, size_t n) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < n; i++) {
    a = (a + p[i]) % 65521u;
    b = (b + a) % 65521u;
  }
  return (b << 16) | a;
}

static void put_be32(GByteArray *out, uint32_t v) {
  guint8 b[4] = {(guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  g_byte_array_append(out, b, 4);
}

/* length, type, data, CRC-32 over type and data. */
static void put_chunk(GByteArray *out, const char type[4], const guint8 *data, size_t len) {
  put_be32(out, (uint32_t)len);
  size_t at = out->len;
  g_byte_array_append(out, (const guint8 *)type, 4);
  if (len) g_byte_array_append(out, data, (guint)len);
  put_be32(out, crc32_update(0, out->data + at, len + 4));
}

/* A zlib stream of stored (uncompressed) deflate blocks holding `raw`. */
static GByteArray *zlib_stored(const guint8 *raw, size_t len) {
  GByteArray *z = g_byte_array_new();
  const guint8 header[2] = {0x78, 0x01}; /* deflate, 32K window, no dictionary; 0x7801 % 31 == 0 */
  g_byte_array_append(z, header, 2);
  size_t off = 0;
  do {
    size_t n = len - off > 65535 ? 65535 : len - off;
    guint8 hdr[5] = {(guint8)(off + n == len ? 1 : 0), (guint8)(n & 0xff), (guint8)(n >> 8),
                     (guint8)(~n & 0xff), (guint8)((~n >> 8) & 0xff)};
    g_byte_array_append(z, hdr, 5);
    if (n) g_byte_array_append(z, raw + off, (guint)n);
    off += n;
  } while (off < len);
  put_be32(z, adler32(raw, len));
  return z;
}

/* An RGB PNG of side x side pixels, all of colour rgb. New array. */
static GByteArray *png_solid(guint32 side, const guint8 rgb[3]) {
  static const guint8 signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  GByteArray *png = g_byte_array_new();
  g_byte_array_append(png, signature, 8);
  guint8 ihdr[13] = {0};
  for (int i = 0; i < 4; i++) ihdr[i] = ihdr[4 + i] = (guint8)(side >> (24 - 8 * i));
  ihdr[8] = 8; /* bit depth */
  ihdr[9] = 2; /* colour type: truecolour; compression, filter, interlace: 0 */
  put_chunk(png, "IHDR", ihdr, sizeof ihdr);
  size_t row = 1 + 3 * (size_t)side, len = row * side;
  guint8 *raw = g_malloc(len);
  for (size_t y = 0; y < side; y++) {
    raw[y * row] = 0; /* filter: none */
    for (size_t x = 0; x < side; x++) memcpy(raw + y * row + 1 + 3 * x, rgb, 3);
  }
  GByteArray *z = zlib_stored(raw, len);
  g_free(raw);
  put_chunk(png, "IDAT", z->data, z->len);
  g_byte_array_free(z, TRUE);
  put_chunk(png, "IEND", NULL, 0);
  return png;
}

static bool mock_image(const hvb_spec *spec, json_object *canonical, json_object *out,
                       hvb_error *err) {
  (void)spec;
  const char *prompt = str_member(canonical, "prompt");
  if (!prompt) return hvb_gateway_fail(err, HVB_EINVAL, "the request has no 'prompt' string");
  json_object *nv = json_object_object_get(canonical, "n");
  int64_t n = 1;
  if (nv && !json_object_is_type(nv, json_type_null)) {
    n = json_object_is_type(nv, json_type_int) ? json_object_get_int64(nv) : 0;
    if (n < 1 || n > MOCK_MAX_IMAGES)
      return hvb_gateway_fail(err, HVB_EINVAL, "'n' must be an integer from 1 to %d",
                              MOCK_MAX_IMAGES);
  }
  json_object *data = json_object_new_array();
  for (int64_t i = 0; i < n; i++) {
    guint8 digest[32];
    sha256_counter(prompt, strlen(prompt), (uint32_t)i, digest);
    GByteArray *png = png_solid(MOCK_IMAGE_SIDE, digest);
    char *b64 = g_base64_encode(png->data, png->len);
    g_byte_array_free(png, TRUE);
    json_object *item = json_object_new_object();
    json_object_object_add(item, "b64_json", json_object_new_string(b64));
    json_object_object_add(item, "revised_prompt", json_object_new_string(prompt));
    json_object_array_add(data, item);
    g_free(b64);
  }
  json_object *res = json_object_new_object();
  json_object_object_add(res, "created", json_object_new_int(0));
  json_object_object_add(res, "data", data);
  json_object_array_add(out, res);
  return true;
}

/* ---- the descriptor ---- */

static bool mock_execute(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                         json_object *out, hvb_error *err) {
  if (!json_object_is_type(canonical, json_type_object))
    return hvb_gateway_fail(err, HVB_EINVAL, "the request is not a JSON object");
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return mock_chat(spec, canonical, out, err);
  case HVB_GATEWAY_OP_EMBED: return mock_embed(spec, canonical, out, err);
  case HVB_GATEWAY_OP_IMAGE: return mock_image(spec, canonical, out, err);
  }
  return hvb_gateway_fail(err, HVB_UNSUPPORTED, "the mock gateway has no operation %d", (int)op);
}

HVB_GATEWAY_DEFINE(mock, "1.0.0",
                   "offline deterministic replies (\"Mock reply to: ...\"), scripted replies, "
                   "embeddings and images, for tests and demos",
                   "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
                       HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_OFFLINE,
                   .execute = mock_execute)
