/* core/base/log.h: the log callback and secret redaction (core/base/log.c). */
#ifndef HVB_BASE_LOG_H
#define HVB_BASE_LOG_H

#include "base/common.h"

/* ---- logging and secrets (core/log.c) ---- */

void hvb__log(hvb_log_level level, const char *fmt, ...) HVB_PRINTF(2, 3);
bool hvb__log_enabled(hvb_log_level level);

/* A warning the user must see: shown at the default level (even with $HB_LOG unset) the first
 * time `key` is given in the process, never again; HB_LOG=off or error, or an application
 * handler that does not take warnings, silence it. `key` names the condition and its object
 * (e.g. "cache-damaged:/path"), so two different files each get their warning. Thread-safe. */
void hvb__warn_once(const char *key, const char *fmt, ...) HVB_PRINTF(2, 3);

/* Remember `secret` (copied; ignored when shorter than 8 bytes) so that every later log
 * message and error message has it replaced by "[REDACTED]". Thread-safe. */
void hvb__secret_register(const char *secret);

/* Replace registered secrets and "Bearer <token>"/"x-api-key: <v>" values in `text` in place
 * (the result is never longer than the input). */
void hvb__redact(char *text);

/* fork() handler (core/base/fork.h). */
#include "base/fork.h"
void hvb__log_atfork(hvb_fork_phase phase);

#endif
