/* core/text/sse.c: the server-sent events decoder (see sse.h for the rules it follows).
 *
 * Bytes are scanned in place with memchr; only a line that spans two feeds is copied into
 * `line`, so a stream that arrives in whole lines is decoded without copying anything but the
 * data field values. Positions of the next CR and LF are remembered while scanning one feed,
 * so a feed is scanned in linear time whatever mix of line ends it uses.
 */
#include "text/sse.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

struct hvb_sse {
  size_t max_line, max_event;
  hvb_sse_event_fn fn;
  void *user_data;

  GString *line;     /* start of a line whose end has not arrived yet */
  GString *data;     /* data buffer of the event being built */
  GString *event;    /* event type buffer */
  GString *id;       /* last event id (persists across events, as the spec says) */
  bool has_data;     /* a data: field was seen (an empty data: still dispatches) */
  bool cr_pending;   /* the previous feed ended in CR: a leading LF belongs to it */
  unsigned bom_seen; /* bytes of a leading BOM matched so far; 3 or more: past the start */
  bool at_start;
  hvb_status failed; /* sticky: after a cap or an abort the stream position is lost */
};

hvb_sse *hvb__sse_new(size_t max_line, size_t max_event, hvb_sse_event_fn fn, void *user_data) {
  hvb_sse *sse = g_new0(hvb_sse, 1);
  sse->max_line = max_line ? max_line : HVB_SSE_DEFAULT_MAX_LINE;
  sse->max_event = max_event ? max_event : HVB_SSE_DEFAULT_MAX_EVENT;
  sse->fn = fn;
  sse->user_data = user_data;
  sse->line = g_string_new(NULL);
  sse->data = g_string_new(NULL);
  sse->event = g_string_new(NULL);
  sse->id = g_string_new(NULL);
  sse->at_start = true;
  return sse;
}

void hvb__sse_free(hvb_sse *sse) {
  if (!sse) return;
  g_string_free(sse->line, TRUE);
  g_string_free(sse->data, TRUE);
  g_string_free(sse->event, TRUE);
  g_string_free(sse->id, TRUE);
  g_free(sse);
}

void hvb__sse_reset(hvb_sse *sse) {
  g_string_truncate(sse->line, 0);
  g_string_truncate(sse->data, 0);
  g_string_truncate(sse->event, 0);
  g_string_truncate(sse->id, 0);
  sse->has_data = false;
  sse->cr_pending = false;
  sse->bom_seen = 0;
  sse->at_start = true;
  sse->failed = HVB_OK;
}

bool hvb__sse_pending(const hvb_sse *sse) {
  return sse->line->len > 0 || sse->has_data || sse->event->len > 0 ||
         (sse->at_start && sse->bom_seen > 0);
}

static int too_large_line(hvb_sse *sse, size_t len, hvb_error *err) {
  sse->failed = HVB_TOO_LARGE;
  hvb__fail(err, HVB_TOO_LARGE,
            "SSE line of %zu bytes or more exceeds the limit of %zu bytes (max_line)", len,
            sse->max_line);
  return -1;
}

/* Blank line: hand the event over when it has data, then start a new one. Returns -1 on
 * abort, else the number of events dispatched (0 or 1). */
static int dispatch(hvb_sse *sse, hvb_error *err) {
  if (!sse->has_data) {
    g_string_truncate(sse->event, 0);
    return 0;
  }
  hvb_sse_event ev = {sse->event->str, sse->data->str, sse->data->len, sse->id->str};
  bool ok = sse->fn ? sse->fn(sse->user_data, &ev, err) : true;
  g_string_truncate(sse->data, 0);
  g_string_truncate(sse->event, 0);
  sse->has_data = false;
  if (!ok) {
    sse->failed = HVB_CANCELLED;
    if (err && err->status == HVB_OK)
      hvb__fail(err, HVB_CANCELLED, "SSE event handler stopped the stream");
    return -1;
  }
  return 1;
}

/* One complete line, without its end. Returns -1 on error, else events dispatched. */
static int process_line(hvb_sse *sse, const char *s, size_t n, hvb_error *err) {
  if (n == 0) return dispatch(sse, err);
  if (s[0] == ':') return 0;
  const char *colon = memchr(s, ':', n);
  size_t name_len = colon ? (size_t)(colon - s) : n;
  const char *value = colon ? colon + 1 : s + n;
  size_t value_len = (size_t)(s + n - value);
  if (value_len > 0 && value[0] == ' ') {
    value++;
    value_len--;
  }
  if (name_len == 4 && memcmp(s, "data", 4) == 0) {
    size_t grown = sse->data->len + (sse->has_data ? 1 : 0) + value_len;
    if (grown > sse->max_event) {
      sse->failed = HVB_TOO_LARGE;
      hvb__fail(err, HVB_TOO_LARGE,
                "SSE event data of %zu bytes or more exceeds the limit of %zu bytes (max_event)",
                grown, sse->max_event);
      return -1;
    }
    if (sse->has_data) g_string_append_c(sse->data, '\n');
    g_string_append_len(sse->data, value, (gssize)value_len);
    sse->has_data = true;
  } else if (name_len == 5 && memcmp(s, "event", 5) == 0) {
    g_string_truncate(sse->event, 0);
    g_string_append_len(sse->event, value, (gssize)value_len);
  } else if (name_len == 2 && memcmp(s, "id", 2) == 0) {
    if (!memchr(value, '\0', value_len)) { /* the spec ignores ids containing NUL */
      g_string_truncate(sse->id, 0);
      g_string_append_len(sse->id, value, (gssize)value_len);
    }
  }
  /* retry and unknown fields are ignored */
  return 0;
}

/* Strip a UTF-8 BOM that may itself be split across feeds. When the bytes matched so far turn
 * out not to start a BOM, they are handed back in `replay` to be decoded as ordinary input. */
static void skip_bom(hvb_sse *sse, const char **buf, size_t *len, const char **replay,
                     size_t *replay_len) {
  *replay = NULL;
  *replay_len = 0;
  while (sse->at_start && *len > 0) {
    if ((unsigned char)**buf == bom[sse->bom_seen]) {
      (*buf)++;
      (*len)--;
      if (++sse->bom_seen == 3) sse->at_start = false;
    } else {
      sse->at_start = false;
      *replay = (const char *)bom;
      *replay_len = sse->bom_seen;
    }
  }
}

static int feed_bytes(hvb_sse *sse, const char *buf, size_t len, hvb_error *err) {
  int events = 0;
  const char *p = buf, *end = buf + len;
  if (sse->cr_pending && p < end) {
    if (*p == '\n') p++;
    sse->cr_pending = false;
  }
  /* Next CR / LF at or after p; NULL once known absent from the rest of the feed. */
  const char *next_cr = p, *next_lf = p;
  bool cr_none = false, lf_none = false;
  while (p < end) {
    if (!cr_none && next_cr < p) next_cr = p;
    if (!cr_none && next_cr == p) {
      next_cr = memchr(p, '\r', (size_t)(end - p));
      cr_none = next_cr == NULL;
    }
    if (!lf_none && next_lf < p) next_lf = p;
    if (!lf_none && next_lf == p) {
      next_lf = memchr(p, '\n', (size_t)(end - p));
      lf_none = next_lf == NULL;
    }
    const char *eol = cr_none ? next_lf : lf_none ? next_cr : MIN(next_cr, next_lf);
    size_t n = (size_t)((eol ? eol : end) - p);
    if (sse->line->len + n > sse->max_line) return too_large_line(sse, sse->line->len + n, err);
    if (!eol) { /* the line continues in a later feed */
      g_string_append_len(sse->line, p, (gssize)n);
      break;
    }
    int r;
    if (sse->line->len > 0) {
      g_string_append_len(sse->line, p, (gssize)n);
      r = process_line(sse, sse->line->str, sse->line->len, err);
      g_string_truncate(sse->line, 0);
    } else {
      r = process_line(sse, p, n, err);
    }
    if (r < 0) return -1;
    events += r;
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) sse->cr_pending = true;
      else if (*p == '\n') p++;
    }
  }
  return events;
}

int hvb__sse_feed(hvb_sse *sse, const char *buf, size_t len, hvb_error *err) {
  if (sse->failed != HVB_OK) {
    hvb__fail(err, sse->failed, "SSE decoder stopped after an earlier error (reset it first)");
    return -1;
  }
  const char *replay;
  size_t replay_len;
  skip_bom(sse, &buf, &len, &replay, &replay_len);
  int events = 0;
  if (replay_len > 0) {
    events = feed_bytes(sse, replay, replay_len, err);
    if (events < 0) return -1;
  }
  int r = feed_bytes(sse, buf, len, err);
  return r < 0 ? -1 : events + r;
}
