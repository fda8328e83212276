/* core/net/transfer-capture.c: response headers a request asked to keep (its
 * capture_headers). The transport gives them no meaning; which names matter is catalog data
 * (a provider's "rate_limit_headers", read by the routing layer). */
#include "net/transfer.h"

#include <string.h>

void hvb__xfer_capture_set(hvb_transfer *t, const char *const *names, size_t n) {
  t->capture = names;
  t->ncapture = MIN(n, (size_t)HVB_CAPTURE_MAX);
  for (size_t i = 0; i < t->ncapture; i++) {
    t->capture_len[i] = names[i] ? strlen(names[i]) : 0;
    t->captured[i][0] = '\0';
  }
}

/* Called for every header line of a routed call's reply: the lengths (known beforehand)
 * rule out nearly every line before any comparison of text. */
void hvb__xfer_capture(hvb_transfer *t, const char *line, size_t len) {
  for (size_t i = 0; i < t->ncapture; i++) {
    size_t n = t->capture_len[i];
    if (!n || len <= n || line[n] != ':' || g_ascii_strncasecmp(line, t->capture[i], n) != 0)
      continue;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
      end--;
    size_t vlen = MIN((size_t)(end - v), sizeof t->captured[i] - 1); /* curl's line: no NUL */
    memcpy(t->captured[i], v, vlen);
    t->captured[i][vlen] = '\0';
    return;
  }
}

const char *hvb__transfer_captured(const hvb_transfer *t, size_t i) {
  return i < t->ncapture && t->captured[i][0] ? t->captured[i] : NULL;
}
