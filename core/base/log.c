/* core/base/log.c: the log callback and secret redaction.
 *
 * Redaction happens here, once, for both log lines and error messages: the secrets the
 * library has seen (API keys registered when a spec is resolved, and any cut-off start of one),
 * bearer tokens, the value of any header whose name says it carries a credential
 * (redact_headers: no list of providers' header names), and the credentials a URL can carry
 * (user info, query parameters named like secrets) are replaced before the text leaves the
 * library. Callers redact the whole text before cutting it to a buffer (base/error.c): a key
 * cut first would no longer match. */
#include "base/log.h"
#include "base/common.h"
#include "base/fork.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static GMutex log_lock;
static hvb_log_fn log_fn;
static void *log_ud;
static hvb_log_level log_max = HVB_LOG_WARN;
static bool log_custom;

static GMutex secret_lock;
static GPtrArray *secrets; /* char*, kept for the life of the process */

static GMutex once_lock;
static GHashTable *once_seen; /* char* keys of the warnings already given, for the process */

HVB_PUBLIC const char *hvb_log_level_name(hvb_log_level level) {
  switch (level) {
  case HVB_LOG_ERROR: return "error";
  case HVB_LOG_WARN: return "warn";
  case HVB_LOG_INFO: return "info";
  case HVB_LOG_DEBUG: return "debug";
  }
  return "unknown";
}

HVB_PUBLIC void hvb_log_set_handler(hvb_log_fn fn, hvb_log_level max_level, void *user_data) {
  g_mutex_lock(&log_lock);
  log_fn = fn;
  log_ud = user_data;
  log_max = max_level;
  log_custom = fn != NULL;
  g_mutex_unlock(&log_lock);
}

/* The default handler's level from $HB_LOG; -1 means silent. Read each time so a program may
 * set the variable after start; ignored in setuid processes. */
static int env_level(void) {
  /* Privileges are checked once: this runs on every log call, and four system calls per
   * call showed in the chat benchmark. */
  static gsize privileged;
  if (g_once_init_enter(&privileged))
    g_once_init_leave(&privileged, (getuid() != geteuid() || getgid() != getegid()) ? 2 : 1);
  if (privileged == 2) return -1;
  const char *v = getenv("HB_LOG");
  if (!v || !*v) return -1;
  if (!strcmp(v, "off") || !strcmp(v, "none") || !strcmp(v, "0")) return -2;
  if (!strcmp(v, "error")) return HVB_LOG_ERROR;
  if (!strcmp(v, "warn") || !strcmp(v, "warning")) return HVB_LOG_WARN;
  if (!strcmp(v, "info")) return HVB_LOG_INFO;
  if (!strcmp(v, "debug") || !strcmp(v, "1")) return HVB_LOG_DEBUG;
  return HVB_LOG_WARN;
}

int hvb__log_max(void) {
  g_mutex_lock(&log_lock);
  bool custom = log_custom;
  hvb_log_level max = log_max;
  g_mutex_unlock(&log_lock);
  return custom ? (int)max : env_level();
}

bool hvb__log_enabled(hvb_log_level level) {
  return (int)level <= hvb__log_max();
}

static void log_emit(hvb_log_level level, char *msg) {
  hvb__redact(msg);
  g_mutex_lock(&log_lock);
  hvb_log_fn fn = log_fn;
  void *ud = log_ud;
  g_mutex_unlock(&log_lock);
  if (fn)
    fn(level, msg, ud);
  else
    fprintf(stderr, "heavenbase: %s: %s\n", hvb_log_level_name(level), msg);
  g_free(msg);
}

void hvb__log(hvb_log_level level, const char *fmt, ...) {
  if (!hvb__log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  log_emit(level, msg);
}

/* A user-facing warning (a damaged cache, a skipped drop-in, an untrusted config file) is
 * something the user must act on, so the default handler shows it even when $HB_LOG is unset;
 * once per key, so a loop over calls does not repeat it. An application's handler gets it
 * when it takes warnings; HB_LOG=off (or error) silences it. */
void hvb__warn_once(const char *key, const char *fmt, ...) {
  g_mutex_lock(&log_lock);
  bool custom = log_custom;
  hvb_log_level max = log_max;
  g_mutex_unlock(&log_lock);
  int env = custom ? 0 : env_level();
  bool shown = custom ? HVB_LOG_WARN <= max : (env == -1 || env >= (int)HVB_LOG_WARN);
  if (!shown) return;
  g_mutex_lock(&once_lock);
  if (!once_seen) once_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  bool first = g_hash_table_add(once_seen, g_strdup(key ? key : fmt));
  g_mutex_unlock(&once_lock);
  if (!first) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  log_emit(HVB_LOG_WARN, msg);
}

void hvb__secret_register(const char *secret) {
  if (!secret || strlen(secret) < HVB_SECRET_MIN) return;
  g_mutex_lock(&secret_lock);
  if (!secrets) secrets = g_ptr_array_new();
  bool known = false;
  for (guint i = 0; i < secrets->len && !known; i++)
    known = strcmp(secrets->pdata[i], secret) == 0;
  if (!known) g_ptr_array_add(secrets, g_strdup(secret));
  g_mutex_unlock(&secret_lock);
}

/* Replace [p, p+n) by "[REDACTED]" when that fits, else by as many '*' as bytes; returns the
 * length of the replacement, so that scanning resumes after it. */
static size_t mask(char *p, size_t n) {
  static const char tag[] = "[REDACTED]";
  size_t tl = sizeof tag - 1;
  if (n >= tl) {
    memcpy(p, tag, tl);
    memmove(p + tl, p + n, strlen(p + n) + 1);
    return tl;
  }
  memset(p, '*', n);
  return n;
}

/* Mask the token that follows `marker` (case-insensitive) up to a space, quote or comma. */
static void redact_after(char *text, const char *marker) {
  size_t ml = strlen(marker);
  for (char *p = text; (p = strcasestr(p, marker)) != NULL;) {
    char *v = p + ml;
    size_t n = strcspn(v, " \t\r\n\",;'");
    if (n > 0 && strncmp(v, "[REDACTED]", 10) != 0) n = mask(v, n);
    p = v + n;
  }
}

static bool is_name_char(char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '_';
}

static bool ends_with(const char *name, size_t n, const char *tail) {
  size_t tl = strlen(tail);
  return n >= tl && g_ascii_strncasecmp(name + n - tl, tail, tl) == 0;
}

/* The words that make a name a credential's: the last word of a header's name (x-api-key,
 * x-auth-token, x-client-secret) and of a URL's query parameter (key, api_key, access_token,
 * X-Amz-Signature). One list, as data, for both. */
static const char *const secret_words[] = {
    "key",    "apikey", "token", "secret",     "password",      "passwd",     "pwd",
    "sig",    "signature", "auth", "authorization", "credential", "credentials",
};

static bool ends_with_secret_word(const char *name, size_t n) {
  for (size_t i = 0; i < G_N_ELEMENTS(secret_words); i++)
    if (ends_with(name, n, secret_words[i])) return true;
  return false;
}

/* Does a header of this name carry a credential? Compound names ending in one of
 * secret_words (x-api-key, a gateway's x-<vendor>-api-key, x-auth-token, api_key), and the
 * Authorization headers. A plain word ("key: ", "its keys: ") is prose, not a header. */
static bool credential_header(const char *name, size_t n) {
  bool compound = memchr(name, '-', n) || memchr(name, '_', n);
  if (compound && ends_with_secret_word(name, n)) return true;
  return ends_with(name, n, "apikey") || ends_with(name, n, "authorization");
}

/* Mask the value of every "Name: value" whose name says it is a credential. For an
 * Authorization header the scheme stays ("Basic [REDACTED]"). */
static void redact_headers(char *text) {
  for (char *colon = text; (colon = strchr(colon, ':')) != NULL; colon++) {
    char *name = colon;
    while (name > text && is_name_char(name[-1])) name--;
    size_t n = (size_t)(colon - name);
    if (n == 0 || !credential_header(name, n)) continue;
    char *v = colon + 1;
    v += strspn(v, " \t");
    if (ends_with(name, n, "authorization")) {
      size_t scheme = strcspn(v, " \t\r\n\",;'");
      if (v[scheme] == ' ') v += scheme + 1;
    }
    size_t len = strcspn(v, " \t\r\n\",;'");
    if (len > 0 && strncmp(v, "[REDACTED]", 10) != 0) len = mask(v, len);
    colon = v + len - 1;
  }
}

static bool is_token_char(char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* Mask `secret` wherever it appears, and any start of it (at least HVB_SECRET_MIN bytes) that
 * ends the text or is followed by something that cannot belong to a key ("sk-live-0123...",
 * a provider's excerpt, a message cut by someone else's buffer). A start followed by other
 * token characters is another word that shares a prefix ("test-key-env" for "test-key-1"). */
static void redact_secret(char *text, const char *secret) {
  size_t n = strlen(secret);
  char head[HVB_SECRET_MIN + 1];
  memcpy(head, secret, HVB_SECRET_MIN);
  head[HVB_SECRET_MIN] = '\0';
  for (char *p = text; (p = strstr(p, head)) != NULL;) {
    size_t m = HVB_SECRET_MIN;
    while (m < n && p[m] == secret[m]) m++;
    p += m == n || !is_token_char(p[m]) ? mask(p, m) : 1;
  }
}

/* The user info of every URL ("https://user:key@host" -> "https://[REDACTED]@host"). */
static void redact_userinfo(char *text) {
  for (char *p = text; (p = strstr(p, "://")) != NULL;) {
    char *auth = p + 3;
    size_t len = strcspn(auth, "/?# \t\r\n\"'<>");
    char *at = NULL;
    for (size_t i = 0; i < len; i++)
      if (auth[i] == '@') at = auth + i;
    p = auth;
    if (at && at > auth && strncmp(auth, "[REDACTED]@", 11) != 0)
      p = auth + mask(auth, (size_t)(at - auth)) + 1;
  }
}

static bool is_param_char(char c) {
  return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

/* The value of every query parameter whose name ends in one of secret_words ("?key=...",
 * "&access_token=...", "&X-Amz-Signature=..."); other parameters ("api-version") stay. */
static void redact_query(char *text) {
  for (char *p = text; (p = strpbrk(p, "?&")) != NULL;) {
    char *name = p + 1;
    size_t n = 0;
    while (is_param_char(name[n])) n++;
    p = name;
    if (n == 0 || name[n] != '=' || !ends_with_secret_word(name, n)) continue;
    char *v = name + n + 1;
    size_t len = strcspn(v, "&#; \t\r\n\"'<>");
    if (len > 0 && strncmp(v, "[REDACTED]", 10) != 0) len = mask(v, len);
    p = v + len;
  }
}

void hvb__redact(char *text) {
  if (!text) return;
  g_mutex_lock(&secret_lock);
  for (guint i = 0; secrets && i < secrets->len; i++) redact_secret(text, secrets->pdata[i]);
  g_mutex_unlock(&secret_lock);
  redact_after(text, "Bearer ");
  redact_headers(text);
  redact_userinfo(text);
  redact_query(text);
}

char *hvb__redact_url(const char *url) {
  if (!url) return NULL;
  char *copy = g_strdup(url);
  hvb__redact(copy);
  return copy;
}

/* fork() (core/base/fork.c): both locks are held only for a few instructions and never around
 * the handler (the application's code runs outside them), so taking them in prepare is
 * quick; the handler, level and secrets carry over to the child unchanged. */
void hvb__log_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) {
    g_mutex_lock(&log_lock);
    g_mutex_lock(&secret_lock);
    g_mutex_lock(&once_lock);
  } else {
    g_mutex_unlock(&once_lock);
    g_mutex_unlock(&secret_lock);
    g_mutex_unlock(&log_lock);
  }
}
