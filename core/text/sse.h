/* core/text/sse.h: a server-sent events decoder (WHATWG HTML "event stream interpretation").
 *
 * Push bytes in any split; complete events come out through the callback, in order:
 * - lines end in CR, LF or CRLF (a CR at the end of one chunk and an LF at the start of the
 *   next are one line end);
 * - lines starting with ':' are comments (keep-alives) and are ignored;
 * - "field: value" with one optional space after the colon; a line without colon is a field
 *   with an empty value; fields: data (lines joined with "\n"), event, id, retry (ignored);
 *   unknown fields ignored;
 * - a blank line dispatches the event when its data buffer is not empty;
 * - a UTF-8 BOM at the very start is skipped;
 * - caps: a line longer than max_line or an event whose data exceeds max_event is an error
 *   (HVB_TOO_LARGE), so a hostile server cannot make us buffer without bound.
 * At end of input, a partial event that was not terminated by a blank line is discarded (as
 * the spec says); hvb__sse_pending() tells whether that happened.
 *
 * Not thread-safe: one decoder per stream.
 */
#ifndef HVB_SSE_H
#define HVB_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <heavenbase/error.h>

/* hvb_sse_event (event, data, data_len, id) is public: gateways' parse_event receives it. */
#include <heavenbase/gateway.h>

/* Return false to stop decoding (hvb__sse_feed then returns -1 with err as the callback set
 * it). Pointers in `ev` are valid only during the call. */
typedef bool (*hvb_sse_event_fn)(void *user_data, const hvb_sse_event *ev, hvb_error *err);

typedef struct hvb_sse hvb_sse;

#define HVB_SSE_DEFAULT_MAX_LINE (1u << 20)  /* 1 MiB */
#define HVB_SSE_DEFAULT_MAX_EVENT (8u << 20) /* 8 MiB */

/* 0 for either cap means the default. Never NULL. */
hvb_sse *hvb__sse_new(size_t max_line, size_t max_event, hvb_sse_event_fn fn, void *user_data);
void hvb__sse_free(hvb_sse *sse); /* NULL is a no-op */

/* Decode `len` bytes. Returns the number of events dispatched (>= 0), or -1 with err set when
 * a cap was exceeded or the callback returned false (with err left empty by the callback:
 * HVB_CANCELLED). Comment-only input returns 0, which lets the caller tell keep-alives from
 * real data. After -1 the stream position is lost: every later feed fails with the same
 * status until hvb__sse_reset(). */
int hvb__sse_feed(hvb_sse *sse, const char *buf, size_t len, hvb_error *err);

/* True when bytes of an unfinished line or event are buffered (the stream ended mid-event). */
bool hvb__sse_pending(const hvb_sse *sse);

/* Forget all state (used before a retried attempt). */
void hvb__sse_reset(hvb_sse *sse);

#endif
