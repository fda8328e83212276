/* core/gateway-mock.c: the built-in `mock` gateway: offline, deterministic answers for tests,
 * examples and demos. No network, no key.
 *
 * The rule (also documented in llm.h):
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
 * Embeddings (hvb__mock_embed) are SHA-256 in counter mode, scaled to unit length.
 */
#include "internal.h"
#include "gateway.h"
#include "llm-internal.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define MOCK_PREFIX "Mock reply to: "
#define MOCK_NO_USER "(no user message)"

/* The text of a message's content: a string as is, text parts joined with " ". New string. */
static char *content_text(json_object *content) {
  if (json_object_is_type(content, json_type_string))
    return g_strdup(json_object_get_string(content));
  GString *out = g_string_new(NULL);
  if (json_object_is_type(content, json_type_array)) {
    bool first = true;
    for (size_t i = 0; i < json_object_array_length(content); i++) {
      json_object *part = json_object_array_get_idx(content, i);
      const char *type = hvb__json_str(part, "type");
      const char *text = hvb__json_str(part, "text");
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
  for (; *s; s++) {
    bool space = g_ascii_isspace(*s);
    if (!space && !in_word) n++;
    in_word = !space;
  }
  return n;
}

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

static bool mock_execute_chat(const hvb_spec *spec, json_object *canonical, json_object *chunks,
                              hvb_error *err) {
  json_object *messages = json_object_object_get(canonical, "messages");
  if (!json_object_is_type(messages, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "the request has no 'messages' array");
  const char *model = spec ? hvb_spec_model_id(spec) : NULL;
  if (!model || !*model) model = "mock";

  long prompt_words = 0;
  char *last_user = NULL;
  for (size_t i = 0; i < json_object_array_length(messages); i++) {
    json_object *m = json_object_array_get_idx(messages, i);
    char *text = content_text(json_object_object_get(m, "content"));
    prompt_words += count_words(text);
    const char *role = hvb__json_str(m, "role");
    if (role && strcmp(role, "user") == 0) {
      g_free(last_user);
      last_user = text;
    } else {
      g_free(text);
    }
  }
  char *reply = g_strconcat(MOCK_PREFIX, last_user ? last_user : MOCK_NO_USER, NULL);
  g_free(last_user);

  json_object_array_add(chunks, chunk_new(model, text_delta("role", "assistant", 9), NULL));
  /* A word and the whitespace after it: "Mock ", "reply ", ..., "Hello". */
  const char *p = reply;
  while (*p) {
    const char *start = p;
    while (*p && !g_ascii_isspace(*p)) p++;
    while (*p && g_ascii_isspace(*p)) p++;
    json_object_array_add(
        chunks, chunk_new(model, text_delta("content", start, (size_t)(p - start)), NULL));
  }
  json_object_array_add(chunks, chunk_new(model, json_object_new_object(), "stop"));

  long completion_words = count_words(reply);
  json_object *usage = json_object_new_object();
  json_object_object_add(usage, "prompt_tokens", json_object_new_int64(prompt_words));
  json_object_object_add(usage, "completion_tokens", json_object_new_int64(completion_words));
  json_object_object_add(usage, "total_tokens",
                         json_object_new_int64(prompt_words + completion_words));
  json_object *last = chunk_new(model, NULL, NULL);
  json_object_object_add(last, "usage", usage);
  json_object_array_add(chunks, last);
  g_free(reply);
  return true;
}

void hvb__mock_embed(const char *text, size_t dim, float *out) {
  if (dim == 0) return;
  if (!text) text = "";
  size_t tlen = strlen(text);
  double *v = g_new(double, dim);
  double norm = 0.0;
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  guint8 digest[32];
  for (size_t i = 0; i < dim; i += 8) {
    guint32 block = (guint32)(i / 8);
    guint8 counter[4] = {(guint8)(block >> 24), (guint8)(block >> 16), (guint8)(block >> 8),
                         (guint8)block};
    gsize dlen = sizeof digest;
    g_checksum_reset(sum);
    g_checksum_update(sum, (const guchar *)text, (gssize)tlen);
    g_checksum_update(sum, counter, sizeof counter);
    g_checksum_get_digest(sum, digest, &dlen);
    for (size_t j = 0; j < 8 && i + j < dim; j++) {
      const guint8 *b = digest + 4 * j;
      guint32 u = ((guint32)b[0] << 24) | ((guint32)b[1] << 16) | ((guint32)b[2] << 8) | b[3];
      /* Exact in double: u / 2^31 - 1 lies in [-1, 1) on every IEEE platform. */
      v[i + j] = (double)u / 2147483648.0 - 1.0;
      norm += v[i + j] * v[i + j];
    }
  }
  g_checksum_free(sum);
  /* All words zero is a 2^-32-per-word event per block; guard the division all the same. */
  norm = norm > 0.0 ? sqrt(norm) : 1.0;
  for (size_t i = 0; i < dim; i++) out[i] = (float)(v[i] / norm);
  g_free(v);
}

const hvb_gateway hvb__gateway_mock = {
    .name = "mock",
    .version = "1",
    .description = "offline deterministic replies (\"Mock reply to: ...\"), for tests and demos",
    .caps = HVB_GW_CAP_CHAT | HVB_GW_CAP_STREAM | HVB_GW_CAP_OFFLINE,
    .prepare_chat = NULL,
    .parse_chat = NULL,
    .stream_begin = NULL,
    .stream_end = NULL,
    .parse_event = NULL,
    .execute_chat = mock_execute_chat,
};
