/* plugins/cache-redis/cache-redis.c: hb-cache-redis.so, the Redis cache backend
 * (<heavenbase/cache-backend.h>) on the rclient layer (rclient.h: standalone, Sentinel,
 * Cluster, TLS, pool, timeouts).
 *
 * What lives in Redis, under the configured prefix (default "hb:"):
 *   <prefix>e:<ns>:<key>   an entry: "HVBE" + FNV-1a-64 of the payload (8 bytes, LE) + the
 *                          encoded entry the SQLite store keeps; PX = the namespace's TTL.
 *                          <key> is the library's SHA-256 hex: never a prompt or an API key.
 *   <prefix>l:<h>          a single-flight lock: SET NX PX, the holder's token as value.
 *   <prefix>c:<h>          a counter (INCRBY and PEXPIRE in one Lua script).
 *   <prefix>k:<h>          a small value (SET PX).
 *   {<prefix>c:<h>}:hz/:ha a counter's budget holds: a sorted set and a hash (see "holds").
 *   <prefix>n:<ns>:<key>   the channel an entry's put is published on (waiters subscribe).
 * <h> is the SHA-256 hex of the library's name for the lock, counter or value (route and
 * budget names are configuration, but stay out of Redis in clear all the same).
 *
 * A value under our prefix that lacks the header or whose checksum does not match (corrupt,
 * or written by something else) reads as a miss; the call's put then overwrites it.
 *
 * With encryption_key_env set, an entry's value is instead the encoded entry sealed with
 * AES-256-GCM (rcrypt.h: "HVBX", key id, nonce, ciphertext, tag; the Redis key as additional
 * data). Then a value that does not open (another key, tampered, foreign, or a plain "HVBE"
 * value, which anyone with write access could have put there) reads as a miss and is
 * overwritten the same way. Locks, counters and small values are not encrypted: they hold
 * tokens, numbers and breaker states, never a reply.
 */
#define HVB_CACHE_BACKEND_PLUGIN 1
#include <heavenbase/cache-backend.h>

#include "rclient.h"
#include "rcrypt.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#define HOST hvb_cache_backend_host_
#define MAGIC "HVBE"
#define HEADER_LEN 12 /* magic + checksum */

typedef struct redis_backend {
  rclient *rc;
  char *prefix;
  rcrypt *crypt; /* NULL: values in clear */
} redis_backend;

static bool init(const hvb_cache_backend_host *host, hvb_error *err) {
  (void)err;
  return host != NULL;
}

/* ---- options ---- */

static bool opt_int(json_object *o, const char *key, int lo, int hi, int *out, hvb_error *err) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !v) return true;
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < lo ||
      json_object_get_int64(v) > hi)
    return HOST->fail(err, HVB_EINVAL, "redis: '%s' must be an integer from %d to %d", key, lo,
                      hi);
  *out = (int)json_object_get_int64(v);
  return true;
}

static bool opt_str(json_object *o, const char *key, const char **out, hvb_error *err) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) || !v) return true;
  if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
    return HOST->fail(err, HVB_EINVAL, "redis: '%s' must be a non-empty string", key);
  *out = json_object_get_string(v);
  return true;
}

/* A secret from the environment variable named by option `key`; NULL when the option is
 * unset. The variable must be set when the option names it. */
static bool opt_env(json_object *o, const char *key, const char **out, hvb_error *err) {
  const char *name = NULL;
  if (!opt_str(o, key, &name, err)) return false;
  if (!name) return true;
  *out = HOST->getenv(name);
  if (!*out)
    return HOST->fail(err, HVB_EINVAL, "redis: '%s' names the environment variable %s, which "
                      "is not set", key, name);
  return true;
}

static bool opt_tls(json_object *o, rclient_config *cfg, hvb_error *err) {
  json_object *v;
  if (!json_object_object_get_ex(o, "tls", &v) || !v) return true;
  if (json_object_is_type(v, json_type_boolean)) {
    cfg->tls = json_object_get_boolean(v);
    return true;
  }
  if (!json_object_is_type(v, json_type_object))
    return HOST->fail(err, HVB_EINVAL, "redis: 'tls' must be true, false or an object");
  cfg->tls = true;
  return opt_str(v, "ca_file", &cfg->tls_ca_file, err) &&
         opt_str(v, "cert_file", &cfg->tls_cert_file, err) &&
         opt_str(v, "key_file", &cfg->tls_key_file, err) &&
         opt_str(v, "server_name", &cfg->tls_server_name, err);
}

static const char *const known_options[] = {
    "mode", "nodes", "master_name", "username_env", "password_env", "db", "prefix",
    "connect_timeout_ms", "command_timeout_ms", "pool_size", "tls", "encryption_key_env",
    "encryption_previous_key_env", NULL};

static bool check_known(json_object *o, hvb_error *err) {
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool known = false;
    for (size_t i = 0; known_options[i] && !known; i++) known = !strcmp(known_options[i], key);
    if (!known)
      return HOST->fail(err, HVB_EINVAL, "redis: unknown option '%s' (known: mode, nodes, "
                        "master_name, username_env, password_env, db, prefix, "
                        "connect_timeout_ms, command_timeout_ms, pool_size, tls, "
                        "encryption_key_env, encryption_previous_key_env)", key);
  }
  return true;
}

/* The key in the environment variable named by option `opt` into key[]: false with an error
 * naming the option and the variable (never the value) when it is not a 256-bit key. */
static bool opt_key(json_object *o, const char *opt, unsigned char *key, bool *found,
                    hvb_error *err) {
  const char *text = NULL, *name = NULL;
  *found = false;
  if (!opt_env(o, opt, &text, err)) return false;
  if (!text) return true;
  opt_str(o, opt, &name, NULL);
  if (!rcrypt_parse_key(text, key))
    return HOST->fail(err, HVB_EINVAL, "redis: '%s' names the environment variable %s, whose "
                      "value is not a 256-bit key: give 64 hex digits or the base64 of 32 "
                      "bytes (e.g. openssl rand -hex 32)", opt, name);
  *found = true;
  return true;
}

/* encryption_key_env (and encryption_previous_key_env, readable only, for a rotation). */
static bool opt_crypt(json_object *o, rcrypt **out, hvb_error *err) {
  unsigned char key[RCRYPT_KEY_LEN], prev[RCRYPT_KEY_LEN];
  bool has_key = false, has_prev = false, ok = false;
  *out = NULL;
  if (opt_key(o, "encryption_key_env", key, &has_key, err) &&
      opt_key(o, "encryption_previous_key_env", prev, &has_prev, err)) {
    if (has_prev && !has_key)
      HOST->fail(err, HVB_EINVAL, "redis: 'encryption_previous_key_env' needs "
                 "'encryption_key_env' (the key new values are sealed with)");
    else if (has_key && !rcrypt_available())
      HOST->fail(err, HVB_EINVAL, "redis: 'encryption_key_env' is set, but this build has no "
                 "encryption (configure found no OpenSSL; Debian: libssl-dev)");
    else if (has_key && !(*out = rcrypt_new(key, has_prev ? prev : NULL)))
      HOST->fail(err, HVB_ENOMEM, "redis: the encryption key could not be set up");
    else
      ok = true;
  }
  explicit_bzero(key, sizeof key); /* a memset here could be optimised away */
  explicit_bzero(prev, sizeof prev);
  return ok;
}

/* "nodes" into a NULL-terminated vector borrowed from `o` (g_free the vector only). */
static const char **opt_nodes(json_object *o, hvb_error *err) {
  json_object *v;
  if (!json_object_object_get_ex(o, "nodes", &v) || !v) {
    const char **d = g_new0(const char *, 2);
    d[0] = "127.0.0.1:6379";
    return d;
  }
  size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
  const char **nodes = g_new0(const char *, n + 1);
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(v, i);
    if (!json_object_is_type(item, json_type_string) || !strchr(json_object_get_string(item), ':'))
      break;
    nodes[i] = json_object_get_string(item);
  }
  if (n == 0 || !nodes[n - 1]) {
    g_free(nodes);
    HOST->fail(err, HVB_EINVAL, "redis: 'nodes' must be a non-empty array of \"host:port\"");
    return NULL;
  }
  return nodes;
}

static bool hold_keys(redis_backend *b, const char *name, char *keys[3], hvb_error *err);
static void redis_close(void *inst);

/* Cluster: a prefix whose braces would split a counter from its holds is refused here, once,
 * rather than failing every budgeted call. */
static redis_backend *check_cluster_prefix(redis_backend *b, const char *mode, hvb_error *err) {
  char *k[3];
  if (!b || strcmp(mode, "cluster") != 0) return b;
  if (!hold_keys(b, "budget", k, err)) {
    redis_close(b);
    return NULL;
  }
  for (int i = 0; i < 3; i++) g_free(k[i]);
  return b;
}

static void *redis_open(json_object *options, hvb_error *err) {
  json_object *o = options ? options : NULL;
  rclient_config cfg = {.mode = "standalone"};
  const char *prefix = "hb:";
  if (o && !json_object_is_type(o, json_type_object)) {
    HOST->fail(err, HVB_EINVAL, "redis: the options must be an object");
    return NULL;
  }
  json_object *empty = o ? NULL : json_object_new_object();
  if (!o) o = empty;
  const char **nodes = NULL;
  bool ok = check_known(o, err) && opt_str(o, "mode", &cfg.mode, err) &&
            opt_str(o, "master_name", &cfg.master_name, err) &&
            opt_env(o, "username_env", &cfg.username, err) &&
            opt_env(o, "password_env", &cfg.password, err) &&
            opt_int(o, "db", 0, 1000000, &cfg.db, err) && opt_str(o, "prefix", &prefix, err) &&
            opt_int(o, "connect_timeout_ms", 1, 600000, &cfg.connect_timeout_ms, err) &&
            opt_int(o, "command_timeout_ms", 1, 600000, &cfg.command_timeout_ms, err) &&
            opt_int(o, "pool_size", 1, 1024, &cfg.pool_size, err) && opt_tls(o, &cfg, err) &&
            (nodes = opt_nodes(o, err)) != NULL;
  rcrypt *crypt = NULL;
  ok = ok && opt_crypt(o, &crypt, err);
  redis_backend *b = NULL;
  if (ok) {
    cfg.nodes = nodes;
    char *why = NULL;
    rclient *rc = rclient_new(&cfg, &why);
    if (!rc) {
      HOST->fail(err, HVB_EINVAL, "%s", why ? why : "redis: invalid configuration");
    } else {
      b = g_new0(redis_backend, 1);
      b->rc = rc;
      b->prefix = g_strdup(prefix);
      b->crypt = crypt;
      crypt = NULL;
    }
    free(why);
  }
  rcrypt_free(crypt);
  g_free(nodes);
  b = check_cluster_prefix(b, cfg.mode, err);
  json_object_put(empty);
  return b;
}

static void redis_close(void *inst) {
  redis_backend *b = inst;
  rclient_free(b->rc);
  rcrypt_free(b->crypt);
  g_free(b->prefix);
  g_free(b);
}

/* ---- commands ---- */

/* Run a command; NULL with err for an unreachable server, a timeout or a Redis error. */
static redisReply *run(redis_backend *b, const char *slot_key, int argc, const char **argv,
                       const size_t *lens, hvb_error *err) {
  char *why = NULL;
  redisReply *r = rclient_command(b->rc, slot_key, argc, argv, lens, &why);
  if (!r) {
    HOST->fail(err, HVB_TRANSPORT, "%s", why ? why : "redis: no reply");
    free(why);
    return NULL;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    HOST->fail(err, HVB_IO, "redis: %.*s", (int)MIN(r->len, 200), r->str);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

static char *entry_key(redis_backend *b, const char *ns, const char *key) {
  return g_strconcat(b->prefix, "e:", ns, ":", key, NULL);
}

static char *named_key(redis_backend *b, char kind, const char *name) {
  char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, name, -1);
  char *k = g_strdup_printf("%s%c:%s", b->prefix, kind, h);
  g_free(h);
  return k;
}

static uint64_t fnv1a(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

/* An encrypted entry's value: opened, or a miss (logged at debug: a fleet that rotated its key
 * without encryption_previous_key_env sees many). */
static int open_sealed(redis_backend *b, const char *k, const redisReply *r, void **data,
                       size_t *len) {
  if (r->type != REDIS_REPLY_STRING) return 0;
  int rc = rcrypt_open(b->crypt, k, r->str, r->len, data, len);
  if (rc == 0 && HOST->log_enabled(HVB_LOG_DEBUG))
    HOST->log(HVB_LOG_DEBUG, "redis: an entry did not open with our key (another key, "
              "tampered or not ours): read as a miss, to be overwritten");
  return rc < 0 ? 0 : rc;
}

static int redis_get(void *inst, const char *ns, const char *key, void **data, size_t *len,
                     hvb_error *err) {
  redis_backend *b = inst;
  char *k = entry_key(b, ns, key);
  const char *argv[] = {"GET", k};
  redisReply *r = run(b, k, 2, argv, NULL, err);
  if (!r || b->crypt) {
    int rc = r ? open_sealed(b, k, r, data, len) : -1;
    if (r) freeReplyObject(r);
    g_free(k);
    return rc;
  }
  g_free(k);
  int rc = 0;
  if (r->type == REDIS_REPLY_STRING && r->len >= HEADER_LEN && !memcmp(r->str, MAGIC, 4)) {
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++) sum |= (uint64_t)(unsigned char)r->str[4 + i] << (8 * i);
    size_t n = r->len - HEADER_LEN;
    if (sum == fnv1a(r->str + HEADER_LEN, n)) {
      *data = malloc(n ? n : 1);
      if (*data) {
        memcpy(*data, r->str + HEADER_LEN, n);
        *len = n;
        rc = 1;
      }
    }
  }
  freeReplyObject(r);
  return rc;
}

/* What an entry is stored as: sealed (rcrypt.h) or the header and the payload (malloc). */
static char *encode_value(redis_backend *b, const char *k, const void *data, size_t len,
                          size_t *vlen) {
  if (b->crypt) return (char *)rcrypt_seal(b->crypt, k, data, len, vlen);
  char *v = malloc(len + HEADER_LEN);
  if (!v) return NULL;
  uint64_t sum = fnv1a(data, len);
  memcpy(v, MAGIC, 4);
  for (int i = 0; i < 8; i++) v[4 + i] = (char)(sum >> (8 * i));
  if (len) memcpy(v + HEADER_LEN, data, len);
  *vlen = len + HEADER_LEN;
  return v;
}

static bool redis_put(void *inst, const char *ns, const char *key, const void *data,
                      size_t len, int64_t ttl_ms, hvb_error *err) {
  redis_backend *b = inst;
  char *k = entry_key(b, ns, key);
  size_t vlen = 0;
  char *v = encode_value(b, k, data, len, &vlen);
  if (!v) {
    g_free(k);
    return HOST->fail(err, b->crypt ? HVB_IO : HVB_ENOMEM, "%s", b->crypt
                      ? "redis: the entry could not be encrypted (OpenSSL failed)"
                      : "redis: out of memory for an entry");
  }
  char ttl[32];
  snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
  const char *argv[] = {"SET", k, v, "PX", ttl};
  size_t lens[] = {3, strlen(k), vlen, 2, strlen(ttl)};
  redisReply *r = run(b, k, ttl_ms > 0 ? 5 : 3, argv, lens, err);
  free(v);
  if (r) {
    freeReplyObject(r);
    /* Waiters on other hosts (wait): best effort, a lost message costs them one poll. */
    char *ch = g_strconcat(b->prefix, "n:", ns, ":", key, NULL);
    const char *pub[] = {"PUBLISH", ch, "1"};
    hvb_error ignored = HVB_ERROR_INIT;
    redisReply *p = run(b, ch, 3, pub, NULL, &ignored);
    if (p) freeReplyObject(p);
    g_free(ch);
  }
  g_free(k);
  return r != NULL;
}

/* SCAN every master for `pattern`, deleting what matches when `del`; the count in *n. */
static bool scan_masters(redis_backend *b, const char *pattern, bool del, int64_t *n,
                         hvb_error *err) {
  char *why = NULL;
  char **masters = rclient_masters(b->rc, &why);
  if (!masters) {
    HOST->fail(err, HVB_TRANSPORT, "redis: %s", why ? why : "no master known");
    free(why);
    return false;
  }
  bool ok = true;
  *n = 0;
  for (char **m = masters; *m && ok; m++) {
    char cursor[32] = "0";
    do {
      const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "500"};
      redisReply *r = rclient_command_at(b->rc, *m, 6, argv, NULL, &why);
      if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        ok = HOST->fail(err, HVB_TRANSPORT, "redis: SCAN on %s failed: %s", *m,
                        why ? why : "unexpected reply");
        if (r) freeReplyObject(r);
        break;
      }
      g_strlcpy(cursor, r->element[0]->str, sizeof cursor);
      redisReply *keys = r->element[1];
      for (size_t i = 0; i < keys->elements; i++) {
        (*n)++;
        if (!del) continue;
        const char *d[] = {"DEL", keys->element[i]->str};
        redisReply *x = rclient_command_at(b->rc, *m, 2, d, NULL, &why);
        if (x) freeReplyObject(x);
      }
      freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
  }
  free(why);
  rclient_strv_free(masters);
  return ok;
}

static bool redis_delete_ns(void *inst, const char *ns, int64_t *removed, hvb_error *err) {
  redis_backend *b = inst;
  char *pattern = g_strconcat(b->prefix, "e:", ns ? ns : "*", ":*", NULL);
  int64_t n = 0;
  bool ok = scan_masters(b, pattern, true, &n, err);
  g_free(pattern);
  if (removed) *removed = n;
  return ok;
}

static json_object *redis_stats(void *inst, hvb_error *err) {
  redis_backend *b = inst;
  char *pattern = g_strconcat(b->prefix, "e:*", NULL);
  int64_t n = 0;
  bool ok = scan_masters(b, pattern, false, &n, err);
  g_free(pattern);
  if (!ok) return NULL;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "entries", json_object_new_int64(n));
  json_object_object_add(o, "prefix", json_object_new_string(b->prefix));
  return o;
}

static int redis_lock(void *inst, const char *name, const char *token, int64_t ttl_ms,
                      hvb_error *err) {
  redis_backend *b = inst;
  char *k = named_key(b, 'l', name);
  char ttl[32];
  snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms > 0 ? ttl_ms : 30000));
  const char *argv[] = {"SET", k, token, "NX", "PX", ttl};
  redisReply *r = run(b, k, 6, argv, NULL, err);
  g_free(k);
  if (!r) return -1;
  int rc = r->type == REDIS_REPLY_STATUS ? 1 : 0;
  freeReplyObject(r);
  return rc;
}

static bool redis_unlock(void *inst, const char *name, const char *token, hvb_error *err) {
  static const char script[] =
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
      "return 0";
  redis_backend *b = inst;
  char *k = named_key(b, 'l', name);
  const char *argv[] = {"EVAL", script, "1", k, token};
  redisReply *r = run(b, k, 5, argv, NULL, err);
  g_free(k);
  if (r) freeReplyObject(r);
  return r != NULL;
}

static int redis_wait(void *inst, const char *ns, const char *key, int timeout_ms,
                      hvb_error *err) {
  redis_backend *b = inst;
  char *ch = g_strconcat(b->prefix, "n:", ns, ":", key, NULL);
  char *why = NULL;
  rclient_sub *s = rclient_subscribe(b->rc, ch, &why);
  g_free(ch);
  int rc = -1;
  if (s) {
    rc = rclient_sub_wait(s, timeout_ms, &why);
    rclient_sub_free(s);
  }
  if (rc < 0) HOST->fail(err, HVB_TRANSPORT, "redis: %s", why ? why : "subscribe failed");
  free(why);
  return rc;
}

static bool redis_counter_add(void *inst, const char *name, int64_t delta, int64_t ttl_ms,
                              int64_t *value, hvb_error *err) {
  static const char script[] =
      "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
      "if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then "
      "redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return v";
  redis_backend *b = inst;
  char *k = named_key(b, 'c', name);
  char d[32], t[32];
  snprintf(d, sizeof d, "%lld", (long long)delta);
  snprintf(t, sizeof t, "%lld", (long long)ttl_ms);
  const char *argv[] = {"EVAL", script, "1", k, d, t};
  redisReply *r = run(b, k, 6, argv, NULL, err);
  g_free(k);
  if (!r) return false;
  bool ok = r->type == REDIS_REPLY_INTEGER;
  if (ok) *value = r->integer;
  else HOST->fail(err, HVB_IO, "redis: the counter script did not return an integer");
  freeReplyObject(r);
  return ok;
}

/* ---- holds (ABI 1.1) ----
 * A hold is a member (its token) of the sorted set <counter key>:hz scored by its expiry
 * (server time, ms), with its amount in the hash <counter key>:ha, whose field "=held" is
 * the sum of the live holds. An expired hold is pruned by the next hold: its amount leaves
 * "=held" and its field is marked "-", so a late release still adds what its call cost,
 * once. Each script touches the counter and its two keys only, which share a cluster slot
 * (a hash tag on the counter's key when it has none). Server time, not ours: the hosts'
 * clocks may disagree. */
/* (Lua writes a negated 0 as "-0", which Redis refuses as an integer: hence "0 - v".) */
static const char hold_script[] =
    "if redis.replicate_commands then redis.replicate_commands() end "
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now) "
    "for _, m in ipairs(dead) do "
    "  local v = tonumber(redis.call('HGET', KEYS[3], m)) "
    "  if v then redis.call('HINCRBY', KEYS[3], '=held', 0 - v) "
    "    redis.call('HSET', KEYS[3], m, '-') end end "
    "if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end "
    "local committed = (tonumber(redis.call('GET', KEYS[1])) or 0) + "
    "  (tonumber(redis.call('HGET', KEYS[3], '=held')) or 0) "
    "local amount, limit = tonumber(ARGV[2]), tonumber(ARGV[3]) "
    "if limit >= 0 and (committed >= limit or committed + amount > limit) then "
    "  return {0, committed} end "
    "redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1]) "
    "redis.call('HSET', KEYS[3], ARGV[1], ARGV[2]) "
    "redis.call('HINCRBY', KEYS[3], '=held', ARGV[2]) "
    "local ttl = tonumber(ARGV[5]) "
    "if ttl > 0 then for i = 2, 3 do "
    "  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ttl) end "
    "end end "
    "return {1, committed}";

static const char release_script[] =
    "local v = redis.call('HGET', KEYS[3], ARGV[1]) "
    "if not v then return 0 end "
    "redis.call('HDEL', KEYS[3], ARGV[1]) "
    "if v ~= '-' then redis.call('ZREM', KEYS[2], ARGV[1]) "
    "  redis.call('HINCRBY', KEYS[3], '=held', 0 - (tonumber(v) or 0)) end "
    "redis.call('INCRBY', KEYS[1], ARGV[2]) "
    "local ttl = tonumber(ARGV[3]) "
    "if ttl > 0 and redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ttl) end "
    "return 1";

/* The counter's key and its holds' two keys, all in one cluster slot; false (err set) for a
 * prefix that makes that impossible. */
static bool hold_keys(redis_backend *b, const char *name, char *keys[3], hvb_error *err) {
  keys[0] = named_key(b, 'c', name);
  unsigned slot = rclient_key_slot(keys[0], strlen(keys[0]));
  char *plain = g_strconcat(keys[0], ":hz", NULL);
  bool tagged = rclient_key_slot(plain, strlen(plain)) == slot; /* the prefix has a tag */
  g_free(plain);
  const char *open = tagged ? "" : "{", *close = tagged ? "" : "}";
  keys[1] = g_strconcat(open, keys[0], close, ":hz", NULL);
  keys[2] = g_strconcat(open, keys[0], close, ":ha", NULL);
  if (rclient_key_slot(keys[1], strlen(keys[1])) == slot) return true;
  for (int i = 0; i < 3; i++) g_free(keys[i]);
  return HOST->fail(err, HVB_EINVAL,
                    "redis: the 'prefix' option's braces keep budget holds out of their "
                    "counter's cluster slot");
}

static int redis_hold(void *inst, const char *name, const char *token, int64_t amount,
                      int64_t limit, int64_t hold_ms, int64_t ttl_ms, int64_t *committed,
                      hvb_error *err) {
  redis_backend *b = inst;
  char *k[3];
  if (!hold_keys(b, name, k, err)) return -1;
  char a[32], l[32], h[32], t[32];
  snprintf(a, sizeof a, "%lld", (long long)amount);
  snprintf(l, sizeof l, "%lld", (long long)limit);
  snprintf(h, sizeof h, "%lld", (long long)(hold_ms > 0 ? hold_ms : 1));
  snprintf(t, sizeof t, "%lld", (long long)ttl_ms);
  const char *argv[] = {"EVAL", hold_script, "3", k[0], k[1], k[2], token, a, l, h, t};
  redisReply *r = run(b, k[0], 11, argv, NULL, err);
  for (int i = 0; i < 3; i++) g_free(k[i]);
  if (!r) return -1;
  int rc = -1;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
    rc = r->element[0]->integer ? 1 : 0;
    *committed = r->element[1]->integer;
  } else {
    HOST->fail(err, HVB_IO, "redis: the hold script did not return two integers");
  }
  freeReplyObject(r);
  return rc;
}

static bool redis_release(void *inst, const char *name, const char *token, int64_t spent,
                          int64_t ttl_ms, hvb_error *err) {
  redis_backend *b = inst;
  char *k[3];
  if (!hold_keys(b, name, k, err)) return false;
  char s[32], t[32];
  snprintf(s, sizeof s, "%lld", (long long)spent);
  snprintf(t, sizeof t, "%lld", (long long)ttl_ms);
  const char *argv[] = {"EVAL", release_script, "3", k[0], k[1], k[2], token, s, t};
  redisReply *r = run(b, k[0], 9, argv, NULL, err);
  for (int i = 0; i < 3; i++) g_free(k[i]);
  if (r) freeReplyObject(r);
  return r != NULL;
}

static int redis_kv_get(void *inst, const char *name, char **value, hvb_error *err) {
  redis_backend *b = inst;
  char *k = named_key(b, 'k', name);
  const char *argv[] = {"GET", k};
  redisReply *r = run(b, k, 2, argv, NULL, err);
  g_free(k);
  if (!r) return -1;
  int rc = 0;
  if (r->type == REDIS_REPLY_STRING) {
    *value = malloc(r->len + 1);
    if (*value) {
      memcpy(*value, r->str, r->len);
      (*value)[r->len] = '\0';
      rc = 1;
    }
  }
  freeReplyObject(r);
  return rc;
}

static bool redis_kv_set(void *inst, const char *name, const char *value, int64_t ttl_ms,
                         hvb_error *err) {
  redis_backend *b = inst;
  char *k = named_key(b, 'k', name);
  char ttl[32];
  snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
  const char *argv[] = {"SET", k, value, "PX", ttl};
  redisReply *r = run(b, k, ttl_ms > 0 ? 5 : 3, argv, NULL, err);
  g_free(k);
  if (r) freeReplyObject(r);
  return r != NULL;
}

HVB_CACHE_BACKEND_DEFINE(redis, "1.1.0",
                         "Redis (standalone, Sentinel, Cluster; TLS, ACL): a cache a fleet "
                         "shares, with locks, counters, budget holds and values",
                         "MIT",
                         HVB_CACHE_BACKEND_CAP_ENTRIES | HVB_CACHE_BACKEND_CAP_LOCK |
                             HVB_CACHE_BACKEND_CAP_WAIT | HVB_CACHE_BACKEND_CAP_COUNTERS |
                             HVB_CACHE_BACKEND_CAP_KV | HVB_CACHE_BACKEND_CAP_HOLDS,
                         .init = init, .open = redis_open, .close = redis_close,
                         .get = redis_get, .put = redis_put, .delete_ns = redis_delete_ns,
                         .stats = redis_stats, .lock = redis_lock, .unlock = redis_unlock,
                         .wait = redis_wait, .counter_add = redis_counter_add,
                         .kv_get = redis_kv_get, .kv_set = redis_kv_set,
                         .hold = redis_hold, .release = redis_release)
