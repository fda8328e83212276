/* heavenbase/error.h: status codes and the caller-owned error record.
 *
 * Every function that can fail takes `hvb_error *err` as its last argument. `err` may be NULL
 * when the caller does not want details. A function returns false or NULL exactly when it has
 * filled `err` (when given); on success `err` is left untouched. An hvb_error needs no freeing:
 * it is a plain struct the caller places on the stack, e.g.
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     hvb_llm *llm = hvb_llm_new(opts, &err);
 *     if (!llm) fprintf(stderr, "hb: %s\n", err.message);
 *
 * Thread safety: all functions here are thread-safe; an hvb_error must not be written by two
 * threads at once.
 */
#ifndef HEAVENBASE_ERROR_H
#define HEAVENBASE_ERROR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, code, message). Append only: codes are part of the ABI and are never renumbered. */
#define HVB_STATUS_MAP(X)                                                           \
  X(OK,          0,  "success")                                                     \
  X(EINVAL,      1,  "invalid argument")                                            \
  X(ENOMEM,      2,  "out of memory")                                               \
  X(NOT_FOUND,   3,  "not found")                                                   \
  X(CONFIG,      4,  "configuration error")                                         \
  X(IO,          5,  "input/output error")                                          \
  X(PARSE,       6,  "malformed data")                                              \
  X(HTTP,        7,  "HTTP error status from the provider")                         \
  X(TRANSPORT,   8,  "connection or transfer failure")                              \
  X(TIMEOUT,     9,  "timed out")                                                   \
  X(TRUNCATED,   10, "response ended early (truncated stream)")                     \
  X(PROVIDER,    11, "the provider reported an error")                              \
  X(UNSUPPORTED, 12, "operation not supported by this gateway or provider")         \
  X(CANCELLED,   13, "cancelled")                                                   \
  X(GATEWAY,     14, "gateway could not be loaded")                                 \
  X(TOO_LARGE,   15, "data exceeds a size limit")                                   \
  X(AUTH,        16, "no API key for a provider that needs one")                    \
  X(SCHEMA,      17, "the reply does not match the schema")                         \
  X(BUDGET,      18, "a usage budget is spent")

typedef enum hvb_status {
#define HVB_STATUS_ENUM_(name, code, msg) HVB_##name = code,
  HVB_STATUS_MAP(HVB_STATUS_ENUM_)
#undef HVB_STATUS_ENUM_
} hvb_status;

/* A failure described for people and programs. `message` always names what was wrong (the
 * field, key, preset, URL or status) and never contains a secret. */
typedef struct hvb_error {
  hvb_status status;   /* HVB_OK when nothing has been recorded */
  int http_status;     /* HTTP status for HVB_HTTP (and retried failures), else 0 */
  char type[64];       /* provider error type ("rate_limit_exceeded"...), else "" */
  char message[512];   /* NUL-terminated, one line; truncated to fit */
  /* Room for fields a later 0.x or 1.x release adds without changing sizeof(hvb_error),
   * which callers compile into their stack frames. Zero, and not to be read or written. */
  unsigned char reserved_[64];
} hvb_error;

/* Initializes every member, reserved_ included, to zero/empty. */
#define HVB_ERROR_INIT {HVB_OK, 0, "", "", {0}}

/* "EINVAL", "HTTP"...; "UNKNOWN" for a value outside the enum. Static string. */
const char *hvb_status_name(hvb_status status);

/* The generic message of a status ("invalid argument"...). Static string. */
const char *hvb_strerror(hvb_status status);

/* Reset `err` to HVB_ERROR_INIT. NULL is a no-op. */
void hvb_error_clear(hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
