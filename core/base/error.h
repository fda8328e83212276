/* core/base/error.h: filling hvb_error (core/base/error.c). */
#ifndef HVB_BASE_ERROR_H
#define HVB_BASE_ERROR_H

#include "base/common.h"

/* ---- errors (core/error.c) ---- */

/* Fill `err` (may be NULL) with `status` and a formatted message; returns false so that a
 * failing function can `return hvb__fail(err, ...)`. The message is redacted (log.c). */
bool hvb__fail(hvb_error *err, hvb_status status, const char *fmt, ...) HVB_PRINTF(3, 4);

/* As hvb__fail, with an HTTP status and a provider error type (NULL: none). */
bool hvb__fail_http(hvb_error *err, hvb_status status, int http_status, const char *type,
                    const char *fmt, ...) HVB_PRINTF(5, 6);

/* Prefix err->message with "prefix: " (for adding context as an error travels up). */
void hvb__error_prefix(hvb_error *err, const char *fmt, ...) HVB_PRINTF(2, 3);

#endif
