/* cli/cmd-doctor.c: hb doctor [--json] [--online]: one report on what is wrong with a setup.
 *
 * Each check is one line, ok / warn / fail, with a one-line fix. The information comes from
 * the public API only: the config layers (hvb_config_layer_path), the warnings the library
 * logs while it loads them (trust refusals, dropped values, skipped catalog drop-ins: caught
 * with hvb_log_set_handler, since the library never prints), the catalog
 * (hvb_config_catalog), the key table (hvb_config_known_keys), the specs of the presets, the
 * gateway registry and hvb_cache_check, which looks at the cache without repairing it.
 * With --online each provider endpoint is asked for GET /models through libcurl. */
#include "cli.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct report {
  json_object *checks; /* array of {status, check, message, fix} */
  int fails;
} report;

static void add(report *r, const char *status, const char *check, const char *fix,
                const char *fmt, ...) HVB_ATTR_PRINTF(5, 6);

static void add(report *r, const char *status, const char *check, const char *fix,
                const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "status", json_object_new_string(status));
  json_object_object_add(o, "check", json_object_new_string(check));
  json_object_object_add(o, "message", json_object_new_string(msg));
  json_object_object_add(o, "fix", fix ? json_object_new_string(fix) : NULL);
  json_object_array_add(r->checks, o);
  if (!strcmp(status, "fail")) r->fails++;
}

/* ---- the library's warnings, caught while it loads ---- */

static pthread_mutex_t caught_lock = PTHREAD_MUTEX_INITIALIZER;
static json_object *caught; /* array of strings */

static void catch_log(hvb_log_level level, const char *message, void *data) {
  (void)data;
  if (level > HVB_LOG_WARN) return;
  pthread_mutex_lock(&caught_lock);
  json_object_array_add(caught, json_object_new_string(message));
  pthread_mutex_unlock(&caught_lock);
}

/* The caught warnings that start with `prefix`, in order; borrowed strings (NULL ends). */
static const char *caught_next(const char *prefix, size_t *i) {
  for (size_t n = json_object_array_length(caught); *i < n; (*i)++) {
    const char *m = json_object_get_string(json_object_array_get_idx(caught, *i));
    if (!strncmp(m, prefix, strlen(prefix))) return (*i)++, m;
  }
  return NULL;
}

/* ---- config ---- */

/* The fix the refusal's reason implies. */
static void refusal_fix(const char *path, const char *why, char *fix, size_t size) {
  const char *trust = strstr(why, "hb cfg trust ");
  if (trust) {
    snprintf(fix, size, "%.*s", (int)strcspn(trust, ")"), trust);
  } else if (strstr(why, "writable by group or others")) {
    snprintf(fix, size, "chmod go-w %s", path);
  } else {
    snprintf(fix, size, "make %s (and its directory) yours: chown $(id -u) %s", path, path);
  }
}

static void check_layer(report *r, const hvb_config *cfg, hvb_config_layer layer,
                        const char *name) {
  char check[32];
  snprintf(check, sizeof check, "config.%s", name);
  const char *path = hvb_config_layer_path(cfg, layer);
  if (!path) {
    add(r, "ok", check, NULL, "no %s config file", name);
    return;
  }
  if (access(path, F_OK) != 0) {
    add(r, "ok", check, NULL, "%s: absent (the layers below apply)", path);
    return;
  }
  char prefix[1024];
  snprintf(prefix, sizeof prefix, "config %s ignored: ", path);
  size_t i = 0;
  const char *refused = caught_next(prefix, &i);
  if (refused) {
    char fix[1024];
    refusal_fix(path, refused + strlen(prefix), fix, sizeof fix);
    add(r, "fail", check, fix, "%s: refused: %s", path, refused + strlen(prefix));
    return;
  }
  add(r, "ok", check, NULL, "%s: read", path);
}

/* Levenshtein distance, for "did you mean". */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t *row = calloc(lb + 1, sizeof *row);
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  size_t d = row[lb];
  free(row);
  return d;
}

static bool is_known(json_object *known, const char *key, const char **nearest) {
  size_t best = (size_t)-1;
  for (size_t i = 0, n = json_object_array_length(known); i < n; i++) {
    const char *k = json_object_get_string(json_object_array_get_idx(known, i));
    if (!strcmp(k, key)) return true;
    size_t d = distance(k, key);
    if (d < best) best = d, *nearest = k;
  }
  if (best > 3) *nearest = NULL;
  return false;
}

/* Catalog sections hold free names: their members are not keys. */
static bool is_catalog_section(const char *key) {
  static const char *const sections[] = {"presets", "models", "providers", "gateways"};
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    char full[64];
    snprintf(full, sizeof full, "heavenbase.llm.%s", sections[i]);
    if (!strcmp(key, full)) return true;
  }
  return !strcmp(key, "heavenbase.llm.default_args");
}

static void walk_keys(report *r, json_object *known, json_object *obj, const char *prefix,
                      const char *path) {
  json_object_object_foreach(obj, name, val) {
    char key[512];
    snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", name);
    const char *nearest = NULL;
    if (!is_known(known, key, &nearest)) {
      char fix[640];
      snprintf(fix, sizeof fix, "remove or rename it in %s (hb cfg unset %s)", path, key);
      add(r, "warn", "config.keys", fix, "%s: unknown key '%s'%s%s%s", path, key,
          nearest ? "; did you mean '" : "", nearest ? nearest : "", nearest ? "'?" : "");
      continue;
    }
    if (json_object_is_type(val, json_type_object) && !is_catalog_section(key))
      walk_keys(r, known, val, key, path);
  }
}

static void check_unknown_keys(report *r, const hvb_config *cfg) {
  json_object *known = hvb_config_known_keys();
  for (int layer = HVB_CONFIG_SYSTEM; layer <= HVB_CONFIG_PROJECT; layer++) {
    const char *path = hvb_config_layer_path(cfg, (hvb_config_layer)layer);
    if (!path || access(path, R_OK) != 0) continue;
    json_object *tree = json_object_from_file(path);
    if (json_object_is_type(tree, json_type_object)) walk_keys(r, known, tree, "", path);
    json_object_put(tree);
  }
  json_object_put(known);
}

/* Values the library dropped while reading a layer (wrong type or range). */
static void check_dropped_values(report *r) {
  size_t i = 0;
  for (const char *m; (m = caught_next("config ", &i));) {
    if (strstr(m, " ignored: ") && !strstr(m, ": key '")) continue; /* a refused layer */
    add(r, "warn", "config.values", "correct it with hb cfg set KEY VALUE (or hb cfg unset KEY)",
        "%s", m);
  }
}

static hvb_config *check_config(report *r) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load(&err);
  if (!cfg) {
    add(r, "fail", "config", "fix the file at the line and column named (or move it away)",
        "%s", err.message);
    return NULL;
  }
  check_layer(r, cfg, HVB_CONFIG_SYSTEM, "system");
  check_layer(r, cfg, HVB_CONFIG_USER, "user");
  check_layer(r, cfg, HVB_CONFIG_PROJECT, "project");
  check_dropped_values(r);
  check_unknown_keys(r, cfg);
  return cfg;
}

/* ---- catalog, keys ---- */

static json_object *check_catalog(report *r, const hvb_config *cfg) {
  json_object *catalog = hvb_config_catalog(cfg);
  size_t i = 0;
  bool skipped = false;
  for (const char *m; (m = caught_next("catalog drop-in skipped: ", &i));) {
    skipped = true;
    add(r, "fail", "catalog", "correct the file (see docs: the catalog schema) or remove it",
        "%s", m);
  }
  if (!skipped)
    add(r, "ok", "catalog", NULL, "%d presets, %d models, %d providers",
        json_object_object_length(json_object_object_get(catalog, "presets")),
        json_object_object_length(json_object_object_get(catalog, "models")),
        json_object_object_length(json_object_object_get(catalog, "providers")));
  return catalog;
}

/* Per provider (keyed by its key variable): the presets that use it, whether the key is set,
 * and the endpoint (for --online). */
static void collect_presets(const hvb_config *cfg, json_object *catalog, json_object *uses) {
  json_object_object_foreach(json_object_object_get(catalog, "presets"), name, entry) {
    (void)entry;
    json_object *opts = json_object_new_object();
    json_object_object_add(opts, "preset", json_object_new_string(name));
    hvb_spec *spec = hvb_spec_resolve(cfg, opts, NULL);
    json_object_put(opts);
    if (!spec) continue; /* "custom" needs options; resolution errors show in hb spec */
    const char *provider = hvb_spec_provider(spec);
    json_object *u = json_object_object_get(uses, provider);
    if (!u) {
      u = json_object_new_object();
      json_object_object_add(u, "presets", json_object_new_array());
      json_object_object_add(u, "required", json_object_new_boolean(0));
      json_object_object_add(u, "set", json_object_new_boolean(hvb_spec_has_api_key(spec)));
      const char *env = hvb_spec_api_key_env(spec);
      json_object_object_add(u, "env", env ? json_object_new_string(env) : NULL);
      json_object_object_add(u, "base_url", json_object_new_string(hvb_spec_base_url(spec)));
      const char *key = hvb_spec_api_key(spec);
      if (key) json_object_object_add(u, "key", json_object_new_string(key));
      json_object_object_add(uses, provider, u);
    }
    json_object_array_add(json_object_object_get(u, "presets"), json_object_new_string(name));
    if (hvb_spec_api_key_required(spec))
      json_object_object_add(u, "required", json_object_new_boolean(1));
    hvb_spec_unref(spec);
  }
}

static void check_keys(report *r, json_object *uses) {
  json_object_object_foreach(uses, provider, u) {
    const char *env = json_object_get_string(json_object_object_get(u, "env"));
    json_object *names = json_object_object_get(u, "presets");
    char presets[512] = "";
    for (size_t i = 0, n = json_object_array_length(names); i < n; i++)
      snprintf(presets + strlen(presets), sizeof presets - strlen(presets), "%s%s", i ? ", " : "",
               json_object_get_string(json_object_array_get_idx(names, i)));
    char check[128];
    snprintf(check, sizeof check, "key.%s", provider);
    if (!json_object_get_boolean(json_object_object_get(u, "required"))) {
      if (env && json_object_get_boolean(json_object_object_get(u, "set")))
        add(r, "ok", check, NULL, "%s is set (presets %s)", env, presets);
      else
        add(r, "ok", check, NULL, "needs no key (presets %s)", presets);
    } else if (json_object_get_boolean(json_object_object_get(u, "set"))) {
      add(r, "ok", check, NULL, "%s is set (presets %s)", env ? env : "the key", presets);
    } else {
      char fix[256];
      snprintf(fix, sizeof fix, "export %s=... (or try offline: hb chat -p mock)",
               env ? env : "THE_KEY_VARIABLE");
      add(r, "warn", check, fix, "%s is not set (presets %s)", env ? env : "the key", presets);
    }
  }
}

/* ---- gateways, cache ---- */

static void check_gateways(report *r) {
  for (size_t i = 0, n = hvb_gateway_count(); i < n; i++) {
    const hvb_gateway_record *g = hvb_gateway_at(i);
    hvb_gateway_state st = hvb_gateway_record_state(g);
    const char *path = hvb_gateway_record_path(g);
    char check[128];
    snprintf(check, sizeof check, "gateway.%s", hvb_gateway_record_name(g));
    /* A built-in copy that a plugin file replaces is how the file wins: nothing to fix. */
    if (st == HVB_GATEWAY_STATE_BUILTIN || st == HVB_GATEWAY_STATE_LOADED || !path) {
      add(r, "ok", check, NULL, "%s (%s)", hvb_gateway_state_name(st), path ? path : "built in");
      continue;
    }
    char fix[1024];
    if (st == HVB_GATEWAY_STATE_DUPLICATE)
      snprintf(fix, sizeof fix, "remove the extra copy %s", path);
    else
      snprintf(fix, sizeof fix, "reinstall a build for this library, or remove %s", path);
    const char *stage = hvb_gateway_stage_name(hvb_gateway_record_stage(g));
    add(r, st == HVB_GATEWAY_STATE_DUPLICATE ? "warn" : "fail", check, fix, "%s %s: %s%s%s",
        hvb_gateway_state_name(st), path, stage, *stage ? ": " : "",
        hvb_gateway_record_reason(g));
  }
}

static void check_cache(report *r, const hvb_config *cfg) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *c = hvb_cache_check(cfg, &err);
  if (!c) {
    add(r, "fail", "cache", "correct heavenbase.llm.cache (hb cfg show)", "%s", err.message);
    return;
  }
  const char *path = json_object_get_string(json_object_object_get(c, "path"));
  const char *integrity = json_object_get_string(json_object_object_get(c, "integrity"));
  const char *mode = json_object_get_string(json_object_object_get(c, "mode"));
  int64_t bytes = json_object_get_int64(json_object_object_get(c, "file_bytes"));
  int64_t max = json_object_get_int64(json_object_object_get(c, "max_bytes"));
  char fix[1024];
  if (!json_object_get_boolean(json_object_object_get(c, "exists"))) {
    add(r, "ok", "cache", NULL, "%s: not created yet", path);
  } else if (strcmp(integrity, "ok") != 0) {
    snprintf(fix, sizeof fix, "move it away: mv %s %s.damaged (the next call starts afresh)",
             path, path);
    add(r, "fail", "cache", fix, "%s is damaged: %s", path, integrity);
  } else if (mode && strtol(mode, NULL, 8) & 077) {
    snprintf(fix, sizeof fix, "chmod 600 %s", path);
    add(r, "warn", "cache", fix, "%s is readable or writable by others (mode %s)", path, mode);
  } else if (max > 0 && bytes > max) {
    add(r, "warn", "cache", "hb cache prune", "%s: %lld bytes, over max_bytes %lld", path,
        (long long)bytes, (long long)max);
  } else {
    add(r, "ok", "cache", NULL, "%s: integrity ok, %lld of %lld bytes, mode %s", path,
        (long long)bytes, (long long)max, mode ? mode : "?");
  }
  json_object_put(c);
}

/* ---- --online ---- */

static size_t discard(char *p, size_t s, size_t n, void *d) {
  (void)p, (void)d;
  return s * n;
}

static void check_online(report *r, const char *provider, json_object *u) {
  const char *base = json_object_get_string(json_object_object_get(u, "base_url"));
  char check[128];
  snprintf(check, sizeof check, "online.%s", provider);
  if (!base || !*base) return; /* offline providers */
  char url[2048], auth[1024];
  snprintf(url, sizeof url, "%s/models", base);
  CURL *h = curl_easy_init();
  struct curl_slist *hdr = NULL;
  const char *key = json_object_get_string(json_object_object_get(u, "key"));
  if (key) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    hdr = curl_slist_append(hdr, auth);
    memset(auth, 0, sizeof auth);
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(h);
  double secs = 0;
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  curl_slist_free_all(hdr);
  int ms = (int)(secs * 1000);
  if (rc == CURLE_COULDNT_RESOLVE_HOST)
    add(r, "fail", check, "check the host name in the base URL and your DNS", "%s: DNS: %s", url,
        curl_easy_strerror(rc));
  else if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM)
    add(r, "fail", check, "check the system's CA certificates and the clock", "%s: TLS: %s",
        url, curl_easy_strerror(rc));
  else if (rc != CURLE_OK)
    add(r, "fail", check, "check the base URL, the network and any proxy", "%s: %s (%d ms)", url,
        curl_easy_strerror(rc), ms);
  else if (status == 401 || status == 403)
    add(r, "warn", check, "check the key (the provider refused it)", "%s: HTTP %ld in %d ms", url,
        status, ms);
  else
    add(r, "ok", check, NULL, "%s: HTTP %ld in %d ms", url, status, ms);
}

/* ---- the report ---- */

static void print_report(report *r, bool json) {
  if (json) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "checks", json_object_get(r->checks));
    json_object_object_add(o, "ok", json_object_new_boolean(r->fails == 0));
    hb_print_json(stdout, o, false);
    json_object_put(o);
    return;
  }
  for (size_t i = 0, n = json_object_array_length(r->checks); i < n; i++) {
    json_object *c = json_object_array_get_idx(r->checks, i);
    const char *fix = json_object_get_string(json_object_object_get(c, "fix"));
    printf("%-5s %s: %s%s%s\n", json_object_get_string(json_object_object_get(c, "status")),
           json_object_get_string(json_object_object_get(c, "check")),
           json_object_get_string(json_object_object_get(c, "message")), fix ? "; fix: " : "",
           fix ? fix : "");
  }
}

static void run_checks(report *r, bool online) {
  hvb_config *cfg = check_config(r);
  if (cfg) {
    json_object *catalog = check_catalog(r, cfg);
    json_object *uses = json_object_new_object();
    collect_presets(cfg, catalog, uses);
    check_keys(r, uses);
    check_gateways(r);
    check_cache(r, cfg);
    if (online) {
      curl_global_init(CURL_GLOBAL_DEFAULT);
      json_object_object_foreach(uses, provider, u) check_online(r, provider, u);
      curl_global_cleanup();
    }
    json_object_put(uses);
    json_object_put(catalog);
  } else {
    check_gateways(r);
  }
  hvb_config_free(cfg);
}

int hb_cmd_doctor(int argc, char **argv) {
  bool json = false, online = false;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "doctor", hb_command_options_find("doctor", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_POSITIONAL) return hb_usage("doctor", "unexpected argument '%s'", arg.value);
    if (arg.opt->id == HB_OPT_JSON) json = true;
    if (arg.opt->id == HB_OPT_ONLINE) online = true;
  }
  report r = {.checks = json_object_new_array()};
  caught = json_object_new_array();
  hvb_log_set_handler(catch_log, HVB_LOG_WARN, NULL);
  run_checks(&r, online);
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  print_report(&r, json);
  int rc = r.fails ? HB_EXIT_FAIL : HB_EXIT_OK;
  json_object_put(r.checks);
  json_object_put(caught);
  return rc;
}
