/* core/base/log.h: the log callback and secret redaction (core/base/log.c). */
#ifndef HVB_BASE_LOG_H
#define HVB_BASE_LOG_H

#include "base/common.h"

/* ---- logging and secrets (core/log.c) ---- */

void hvb__log(hvb_log_level level, const char *fmt, ...) HVB_PRINTF(2, 3);
bool hvb__log_enabled(hvb_log_level level);
/* The most verbose level enabled now (-1 or below: none): one check answers for several
 * levels (a call asks once whether it logs debug and info lines). */
int hvb__log_max(void);

/* A warning the user must see: shown at the default level (even with $HB_LOG unset) the first
 * time `key` is given in the process, never again; HB_LOG=off or error, or an application
 * handler that does not take warnings, silence it. `key` names the condition and its object
 * (e.g. "cache-damaged:/path"), so two different files each get their warning. Thread-safe. */
void hvb__warn_once(const char *key, const char *fmt, ...) HVB_PRINTF(2, 3);

/* The shortest secret that is registered, and the shortest start of one that is still
 * redacted when the rest of it is missing. */
#define HVB_SECRET_MIN 8

/* Remember `secret` (copied; ignored when shorter than HVB_SECRET_MIN bytes) so that every
 * later log message and error message has it, or a start of it of at least HVB_SECRET_MIN
 * bytes, replaced by "[REDACTED]". Thread-safe. */
void hvb__secret_register(const char *secret);

/* Replace, in `text` in place (the result is never longer than the input): registered secrets
 * and their cut-off starts, "Bearer <token>", the values of credential headers
 * ("x-api-key: <v>"), the user info of URLs and the values of query parameters named like
 * secrets ("?key=<v>"). Redact a whole text before cutting it to a buffer, never after. */
void hvb__redact(char *text);

/* A redacted copy of `url` (g_free it); NULL for NULL. What `hb spec` and messages show of a
 * URL: "https://[REDACTED]@host/v1?api-version=1&key=[REDACTED]". */
char *hvb__redact_url(const char *url);

/* fork() handler (core/base/fork.h). */
#include "base/fork.h"
void hvb__log_atfork(hvb_fork_phase phase);

#endif
