/* plugins/anthropic/delta.h: the text of an Anthropic stream event, without a json-c tree.
 *
 * The text delta of an event is delta.text of a content_block_delta whose delta.type is
 * "text_delta"; message_start, content_block_start/stop, message_delta, message_stop and
 * ping carry none. The fast path (the core's hvb__json_pick, compiled into the plugin)
 * serves those; it declines (ANTHROPIC_DELTA_SLOW) tool-input and thinking deltas, errors,
 * unknown event types and anything it does not read strictly, and anthropic_event_delta
 * then reads the event with json-c: the answer is the same either way
 * (tests/unit/test-sse-deltas.c). Pure functions: thread-safe.
 */
#ifndef HB_ANTHROPIC_DELTA_H
#define HB_ANTHROPIC_DELTA_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  ANTHROPIC_DELTA_NONE = 0,
  ANTHROPIC_DELTA_TEXT,
  ANTHROPIC_DELTA_SLOW,
  ANTHROPIC_DELTA_INVALID,
} anthropic_delta_kind;

/* `out` has room for `len` bytes. */
anthropic_delta_kind anthropic_event_text_fast(const char *data, size_t len, char *out,
                                               size_t *out_len);
anthropic_delta_kind anthropic_event_text_slow(const char *data, size_t len, char *out,
                                               size_t *out_len);
anthropic_delta_kind anthropic_event_delta(const char *data, size_t len, char *out,
                                           size_t *out_len);

#endif
