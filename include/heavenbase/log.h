/* heavenbase/log.h: where the library's diagnostics go.
 *
 * The library never prints. It hands each message to the installed handler; with none
 * installed, messages at or above the level named by $HB_LOG (error, warn, info, debug; unset
 * means nothing) are written to stderr as "heavenbase: LEVEL: message". Messages never contain
 * API keys: the library redacts known secrets and Authorization values before any handler sees
 * them.
 *
 * Thread safety: handlers may be called from any thread, concurrently; install the handler
 * before the first call that may log.
 */
#ifndef HEAVENBASE_LOG_H
#define HEAVENBASE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hvb_log_level {
  HVB_LOG_ERROR = 0,
  HVB_LOG_WARN = 1,
  HVB_LOG_INFO = 2,
  HVB_LOG_DEBUG = 3
} hvb_log_level;

typedef void (*hvb_log_fn)(hvb_log_level level, const char *message, void *user_data);

/* Install `fn` (NULL restores the default stderr handler governed by $HB_LOG) and the most
 * verbose level it wants. */
void hvb_log_set_handler(hvb_log_fn fn, hvb_log_level max_level, void *user_data);

/* "error", "warn", "info", "debug". */
const char *hvb_log_level_name(hvb_log_level level);

#ifdef __cplusplus
}
#endif

#endif
