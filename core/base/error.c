/* core/base/error.c: status names and messages (from HVB_STATUS_MAP) and error filling. */
#include "base/error.h"
#include "base/common.h"
#include "base/log.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

HVB_PUBLIC const char *hvb_status_name(hvb_status status) {
  switch (status) {
#define HVB_NAME_CASE_(name, code, msg) \
  case HVB_##name:                      \
    return #name;
    HVB_STATUS_MAP(HVB_NAME_CASE_)
#undef HVB_NAME_CASE_
  }
  return "UNKNOWN";
}

HVB_PUBLIC const char *hvb_strerror(hvb_status status) {
  switch (status) {
#define HVB_MSG_CASE_(name, code, msg) \
  case HVB_##name:                     \
    return msg;
    HVB_STATUS_MAP(HVB_MSG_CASE_)
#undef HVB_MSG_CASE_
  }
  return "unknown status";
}

HVB_PUBLIC void hvb_error_clear(hvb_error *err) {
  if (!err) return;
  memset(err, 0, sizeof *err);
}

/* Fold line breaks so the message stays one line, as the header promises. */
static void one_line(char *s) {
  for (; *s; s++)
    if (*s == '\n' || *s == '\r') *s = ' ';
}

/* Store the whole text `full` (taken: freed here) into `dst`: folded to one line and redacted
 * first, then cut to `size` at a UTF-8 character boundary. In that order: a key cut by the
 * buffer first would no longer match the redactor. */
static void store(char *dst, size_t size, char *full) {
  if (!full) full = g_strdup("");
  one_line(full);
  hvb__redact(full);
  size_t n = strlen(full);
  if (n >= size) {
    n = size - 1;
    while (n > 0 && ((unsigned char)full[n] & 0xC0) == 0x80) n--;
  }
  memcpy(dst, full, n);
  dst[n] = '\0';
  g_free(full);
}

static void fill(hvb_error *err, hvb_status status, int http_status, const char *type,
                 const char *fmt, va_list ap) HVB_PRINTF(5, 0);
static void fill(hvb_error *err, hvb_status status, int http_status, const char *type,
                 const char *fmt, va_list ap) {
  err->status = status;
  err->http_status = http_status;
  store(err->type, sizeof err->type, g_strdup(type ? type : ""));
  store(err->message, sizeof err->message, g_strdup_vprintf(fmt, ap));
}

bool hvb__fail(hvb_error *err, hvb_status status, const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  fill(err, status, 0, NULL, fmt, ap);
  va_end(ap);
  return false;
}

bool hvb__fail_http(hvb_error *err, hvb_status status, int http_status, const char *type,
                    const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  fill(err, status, http_status, type, fmt, ap);
  va_end(ap);
  return false;
}

void hvb__error_prefix(hvb_error *err, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  store(err->message, sizeof err->message,
        g_strdup_printf("%s: %s", prefix ? prefix : "", err->message));
  g_free(prefix);
}
