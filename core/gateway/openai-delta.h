/* core/gateway/openai-delta.h: the text of a chat.completion.chunk, without a json-c tree.
 *
 * The text delta of a chunk is choices[0].delta.content when it is a string; a chunk without
 * one (the role chunk's "" aside, which is a text of length 0) has none. The fast path
 * (hvb__json_pick) serves chunks of the usual shape: one choice whose delta carries plain
 * content. It declines (HVB_DELTA_SLOW) what is not plain text or not sure: tool-call
 * fragments, a second choice, an error member, content that is not a string or null, escapes
 * it refuses, JSON it does not read strictly. hvb__openai_chunk_delta then reads the chunk
 * with json-c, so its answer is the same either way (tests/unit/test-sse-deltas.c).
 *
 * Pure functions: thread-safe.
 */
#ifndef HVB_GATEWAY_OPENAI_DELTA_H
#define HVB_GATEWAY_OPENAI_DELTA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  HVB_DELTA_NONE = 0, /* no text in this chunk */
  HVB_DELTA_TEXT,     /* text in out[0..*out_len) */
  HVB_DELTA_SLOW,     /* the fast path declined: read it with json-c */
  HVB_DELTA_INVALID,  /* json-c could not read it either (hvb__openai_chunk_delta only) */
} hvb_delta_kind;

/* `out` has room for `len` bytes (a delta's text is never longer than its event). */
hvb_delta_kind hvb__openai_chunk_text_fast(const char *data, size_t len, char *out,
                                           size_t *out_len);

/* The json-c reading: parse, read choices[0].delta.content. Same contract for `out`. */
hvb_delta_kind hvb__openai_chunk_text_slow(const char *data, size_t len, char *out,
                                           size_t *out_len);

/* The fast path, else json-c. */
hvb_delta_kind hvb__openai_chunk_delta(const char *data, size_t len, char *out, size_t *out_len);

#endif
