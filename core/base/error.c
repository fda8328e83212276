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

static void fill(hvb_error *err, hvb_status status, int http_status, const char *type,
                 const char *fmt, va_list ap) HVB_PRINTF(5, 0);
static void fill(hvb_error *err, hvb_status status, int http_status, const char *type,
                 const char *fmt, va_list ap) {
  err->status = status;
  err->http_status = http_status;
  err->type[0] = '\0';
  if (type) {
    snprintf(err->type, sizeof err->type, "%s", type);
    hvb__redact(err->type);
  }
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  one_line(err->message);
  hvb__redact(err->message);
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
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* Built in a larger buffer, then cut to fit: truncation is intended. */
  char joined[sizeof prefix + sizeof err->message + 2];
  snprintf(joined, sizeof joined, "%s: %s", prefix, err->message);
  g_strlcpy(err->message, joined, sizeof err->message);
  one_line(err->message);
  hvb__redact(err->message);
}
