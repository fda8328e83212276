/* core/api/embed.c: the embeddings pipeline (see <heavenbase/embed.h>).
 *
 * Three parts, kept apart so that each can change alone:
 * - planning (embed_call): distinct texts, cache lookups with single flight, batches of the
 *   misses;
 * - one batch (run_batch): canonical request -> provider shape -> wire request -> vectors;
 * - running the batches (run_batches): concurrent transfers on the async engine
 *   (core/net/engine.c), at most embedding_max_workers at once, no thread per batch; the calling
 *   thread waits and reports progress. One batch, one worker, or a call made on the engine
 *   thread itself (from an async callback, where waiting for the engine would deadlock) run
 *   the batches one after another on the calling thread.
 *
 * A batch goes through the LLM's gateway as the EMBED operation (hvb__llm_call_json: the
 * gateway's prepare and parse, or an offline gateway's execute), so every gateway that can
 * embed is served, and one that cannot is refused by hvb_llm_supports before any work.
 */
#include "api/embed.h"
#include "text/json.h"
#include "config/config.h"
#include "config/shape.h"
#include "config/options.h"
#include "cache/store.h"
#include "api/handle.h"
#include "api/json-call.h"
#include "api/answer-cost.h"
#include "call/accum.h"
#include "api/async.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"
#include "base/fork.h"

#include <heavenbase/embed.h>
#include <glib.h>
#include <string.h>

#define DEFAULT_BATCH_SIZE 128
#define DEFAULT_MAX_WORKERS 4
#define PROBE_TEXT "dimension probe"

/* ============================================================================================
 * Limits (resolved when an LLM is made)
 * ========================================================================================== */

/* A positive integer at `key` in obj (NULL when absent); false with `status` naming `what`. */
static bool count_value(json_object *v, const char *what, hvb_status status, int *out,
                        hvb_error *err) {
  if (!v || json_object_is_type(v, json_type_null)) return true;
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
      json_object_get_int64(v) > 1000000)
    return hvb__fail(err, status, "%s must be a positive integer, not %s", what,
                     hvb__json_type_phrase(v));
  *out = (int)json_object_get_int64(v);
  return true;
}

bool hvb__embed_limits_init(const hvb_config *cfg, const hvb_spec *spec, json_object *options,
                            hvb_embed_limits *out, hvb_error *err) {
  memset(out, 0, sizeof *out);
  static const char *const names[] = {"embedding_batch_size", "embedding_max_workers"};
  int *slots[] = {&out->batch_size, &out->max_workers};
  for (int i = 0; i < 2; i++) {
    char *key = g_strconcat("heavenbase.llm.", names[i], NULL);
    char *what = g_strdup_printf("config key '%s'", key);
    bool ok = count_value(hvb_config_get(cfg, key), what, HVB_CONFIG, slots[i], err);
    g_free(what);
    g_free(key);
    if (!ok) return false;
    json_object *v = json_object_is_type(options, json_type_object)
                         ? json_object_object_get(options, names[i])
                         : NULL;
    if (!count_value(v, names[i], HVB_EINVAL, slots[i], err)) return false;
  }
  json_object *providers = json_object_object_get(hvb__config_catalog(cfg), "providers");
  json_object *p = json_object_object_get(providers, hvb_spec_provider(spec));
  json_object *cap = json_object_object_get(p, "embedding_batch_size");
  if (json_object_is_type(cap, json_type_int) && json_object_get_int64(cap) > 0)
    out->provider_cap = (int)MIN(json_object_get_int64(cap), 1000000);
  json_object *shape = json_object_object_get(p, "embedding");
  if (!shape) return true;
  if (!hvb__embedding_shape_check(shape, err)) {
    hvb__error_prefix(err, "catalog provider '%s'", hvb_spec_provider(spec));
    return false;
  }
  /* Interned text rather than a reference: the limits are a plain value of the LLM, and the
   * catalog object belongs to a configuration that may be shared between threads. */
  char *text = hvb__json_canonical(shape);
  out->shape = g_intern_string(text);
  g_free(text);
  return true;
}

/* ============================================================================================
 * The canonical request
 * ========================================================================================== */

/* Request arguments of chat that an embeddings endpoint rejects: an LLM's resolved arguments
 * (global default_args, a chat preset's) must not break its embeddings. */
static const char *const chat_only_args[] = {
    "temperature", "top_p", "top_k", "seed", "max_tokens", "max_completion_tokens", "n",
    "stop", "presence_penalty", "frequency_penalty", "tools", "tool_choice", "response_format",
    "logprobs", "top_logprobs", "reasoning_effort", "stream", "stream_options", "messages",
    NULL};

/* The texts are the call's own "input"; the library options (core/config/options.c) are
 * skipped by hvb__request_template. */
static const char *const pipeline_options[] = {"input", NULL};

json_object *hvb__request_template(const hvb_spec *spec, json_object *opts,
                                   const char *const *drop_args, const char *const *skip_options,
                                   hvb_error *err) {
  if (opts && !json_object_is_type(opts, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
    return NULL;
  }
  if (!hvb__options_check(opts, HVB__SCOPE_CALL, err)) return NULL;
  json_object *req = json_object_new_object();
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  json_object_object_foreach(hvb_spec_args(spec), key, val) {
    if (!g_strv_contains(drop_args, key)) json_object_object_add(req, key, hvb__json_copy(val));
  }
  json_object *top = json_object_new_object();
  if (opts) {
    json_object_object_foreach(opts, k, v) {
      if (g_strv_contains(skip_options, k) || hvb__option_is_library(k)) continue;
      if (strcmp(k, "args") != 0) {
        json_object_object_add(top, k, hvb__json_copy(v));
      } else if (json_object_is_type(v, json_type_object)) {
        hvb__json_merge(req, v);
      } else if (v) {
        hvb__fail(err, HVB_EINVAL, "call option 'args' must be a JSON object");
        json_object_put(top);
        json_object_put(req);
        return NULL;
      }
    }
  }
  hvb__json_merge(req, top); /* top-level keys win over "args" */
  json_object_put(top);
  /* An argument set to null is unset; the model is the pipeline's. */
  GPtrArray *nulls = g_ptr_array_new_with_free_func(g_free);
  json_object_object_foreach(req, nk, nv) {
    if (json_object_is_type(nv, json_type_null)) g_ptr_array_add(nulls, g_strdup(nk));
  }
  for (guint i = 0; i < nulls->len; i++) json_object_object_del(req, nulls->pdata[i]);
  g_ptr_array_free(nulls, TRUE);
  /* What the model's catalog entry says it rejects never goes, whoever set it. */
  hvb__rejected_args_drop(hvb_spec_model_info(spec), req);
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  return req;
}

/* The part of every batch's request that does not depend on the texts. */
static json_object *request_template(const hvb_spec *spec, json_object *opts, hvb_error *err) {
  json_object *req = hvb__request_template(spec, opts, chat_only_args, pipeline_options, err);
  if (req) json_object_object_del(req, "input");
  return req;
}

/* ============================================================================================
 * One batch
 * ========================================================================================== */

typedef struct batch_out {
  float **vecs; /* one per input of the batch, g_malloc'd, dim floats each */
  size_t dim;
  json_object *usage, *raw;
} batch_out;

static void batch_out_clear(batch_out *o, size_t n) {
  for (size_t i = 0; o->vecs && i < n; i++) g_free(o->vecs[i]);
  g_free(o->vecs);
  json_object_put(o->usage);
  json_object_put(o->raw);
  memset(o, 0, sizeof *o);
}

/* A canonical embeddings response (borrowed) -> n vectors in input order. */
static bool embed_parse(json_object *body, size_t n, batch_out *out, hvb_error *err) {
  json_object *e = json_object_object_get(body, "error");
  if (e && !json_object_is_type(e, json_type_null)) {
    const char *msg = json_object_is_type(e, json_type_object) ? hvb__json_str(e, "message")
                                                               : json_object_get_string(e);
    return hvb__fail_http(err, HVB_PROVIDER, 0,
                          json_object_is_type(e, json_type_object) ? hvb__json_str(e, "type") : NULL,
                          "the provider reported an error in the response: %s", msg ? msg : "");
  }
  json_object *data = json_object_object_get(body, "data");
  if (!json_object_is_type(data, json_type_array))
    return hvb__fail(err, HVB_PARSE, "the response has no 'data' array");
  if (json_object_array_length(data) != n)
    return hvb__fail(err, HVB_PARSE, "the response has %zu embeddings for %zu inputs",
                     json_object_array_length(data), n);
  out->vecs = g_new0(float *, n);
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(data, i);
    json_object *iv = json_object_object_get(item, "index");
    /* A wrongly typed index would put the vector in the wrong place, or nowhere. */
    if (iv && !json_object_is_type(iv, json_type_int))
      return hvb__fail(err, HVB_PARSE, "data[%zu].index: expected an integer or null, got %s", i,
                       json_type_to_name(json_object_get_type(iv)));
    int64_t idx = iv ? json_object_get_int64(iv) : (int64_t)i;
    json_object *vec = json_object_object_get(item, "embedding");
    if (idx < 0 || (size_t)idx >= n || out->vecs[idx])
      return hvb__fail(err, HVB_PARSE, "data[%zu].index %lld is out of range or repeated", i,
                       (long long)idx);
    if (!json_object_is_type(vec, json_type_array) || json_object_array_length(vec) == 0)
      return hvb__fail(err, HVB_PARSE, "data[%zu].embedding is not a non-empty array of numbers "
                       "(base64 encoding_format is not read)", i);
    size_t dim = json_object_array_length(vec);
    if (out->dim && dim != out->dim)
      return hvb__fail(err, HVB_PARSE, "data[%zu].embedding has %zu numbers, data[0] %zu", i, dim,
                       out->dim);
    out->dim = dim;
    for (size_t j = 0; j < dim; j++) {
      json_object *x = json_object_array_get_idx(vec, j);
      if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
        return hvb__fail(err, HVB_PARSE, "data[%zu].embedding[%zu]: expected a number, got %s", i,
                         j, json_type_to_name(json_object_get_type(x)));
    }
    float *v = g_new(float, dim);
    for (size_t j = 0; j < dim; j++)
      v[j] = (float)json_object_get_double(json_object_array_get_idx(vec, j));
    out->vecs[idx] = v;
  }
  json_object *usage = json_object_object_get(body, "usage");
  if (json_object_is_type(usage, json_type_object)) out->usage = hvb__json_copy(usage);
  return true;
}

/* The canonical request embedding `texts` (n), built on `tmpl`. New reference. */
static json_object *batch_body(hvb_llm *llm, json_object *tmpl, const char *const *texts,
                               size_t n) {
  json_object *body = hvb__json_copy(tmpl);
  json_object *input = json_object_new_array_ext((int)n);
  for (size_t i = 0; i < n; i++) json_object_array_add(input, json_object_new_string(texts[i]));
  json_object_object_add(body, "input", input);
  hvb__embedding_shape_apply(hvb__llm_embed_limits(llm)->shape, body);
  hvb__log(HVB_LOG_DEBUG, "embeddings: one request of %zu inputs", n);
  return body;
}

/* Embed `texts` (n) in one request built on `tmpl`. */
static bool run_batch(hvb_llm *llm, json_object *tmpl, const char *const *texts, size_t n,
                      batch_out *out, hvb_error *err) {
  json_object *body = batch_body(llm, tmpl, texts, n);
  json_object *resp = hvb__llm_call_json(llm, HVB_GATEWAY_OP_EMBED, body, err);
  json_object_put(body);
  bool ok = resp && embed_parse(resp, n, out, err);
  if (ok) out->raw = json_object_get(resp);
  json_object_put(resp);
  if (!ok) batch_out_clear(out, n);
  return ok;
}

/* ============================================================================================
 * One call: planning and running
 * ========================================================================================== */

typedef struct call {
  hvb_llm *llm;
  json_object *tmpl;
  hvb_cache *cache;   /* NULL: no cache for this call */
  GPtrArray *uniq;    /* distinct texts (borrowed from the caller) */
  char **keys;        /* per distinct text: cache key, or NULL */
  bool *claimed;      /* per distinct text: this call leads its key */
  bool *hit;          /* per distinct text: answered by the cache */
  float **vecs;       /* per distinct text: vector or NULL */
  size_t dim, done, requests;
  json_object *usage; /* summed */
  json_object *raw;   /* array of bodies */
  hvb_embed_progress_fn progress;
  void *progress_ud;

  /* Running batches (run_batches): guarded by lock. */
  GMutex lock;
  GCond changed;
  const size_t *todo; /* distinct indices to embed */
  size_t ntodo, batch_size, nbatches, next_batch, finished_batches;
  int in_flight; /* batches on the engine */
  bool failed;
  hvb_error error;

  /* The whole call: input map, timing; for an async call its handle and its plan. */
  size_t n;
  size_t *map;    /* input index -> distinct index */
  gint64 t0;
  hvb_call *owner; /* async: the public call (the producer's reference), else NULL */
  GArray *plan;    /* async: the distinct indices to embed (c->todo points into it) */
  GPtrArray *flying; /* engine_batch* on the engine (guarded by lock): what a cancel aborts */
} call;

/* The little-endian float32 bytes of a vector, for the cache. */
static GBytes *vector_bytes(const float *vec, size_t dim) {
  guint32 *w = g_new(guint32, dim);
  for (size_t i = 0; i < dim; i++) {
    guint32 u;
    memcpy(&u, &vec[i], sizeof u);
    w[i] = GUINT32_TO_LE(u);
  }
  return g_bytes_new_take(w, dim * sizeof *w);
}

/* A cached vector; NULL for a value of the wrong size (treated as a miss). */
static float *vector_from_bytes(GBytes *b, size_t want_dim, size_t *dim) {
  gsize len = 0;
  const guint8 *p = g_bytes_get_data(b, &len);
  if (len == 0 || len % 4 || (want_dim && len / 4 != want_dim)) return NULL;
  *dim = len / 4;
  float *v = g_new(float, *dim);
  for (size_t i = 0; i < *dim; i++) {
    guint32 u;
    memcpy(&u, p + 4 * i, sizeof u);
    u = GUINT32_FROM_LE(u);
    memcpy(&v[i], &u, sizeof u);
  }
  return v;
}

/* Take vector `vec` for distinct text `u` (called with c->lock held or single-threaded). */
static bool accept_vector(call *c, size_t u, float *vec, size_t dim, hvb_error *err) {
  if (c->dim && dim != c->dim) {
    g_free(vec);
    return hvb__fail(err, HVB_PARSE, "embeddings of %zu and %zu numbers in one call", c->dim, dim);
  }
  c->dim = dim;
  g_free(c->vecs[u]);
  c->vecs[u] = vec;
  c->done++;
  return true;
}

/* Tell the progress callback; reads c->done under the lock, calls outside it. */
static void report(call *c) {
  if (!c->progress) return;
  g_mutex_lock(&c->lock);
  size_t done = c->done;
  g_mutex_unlock(&c->lock);
  c->progress(done, c->uniq->len, c->progress_ud);
}

/* The texts of batch `b` of the current plan (new array of borrowed strings), and their
 * number in *n. */
static const char **planned_texts(call *c, size_t b, size_t *n) {
  size_t first = b * c->batch_size;
  *n = MIN(c->batch_size, c->ntodo - first);
  const char **texts = g_new(const char *, *n);
  for (size_t i = 0; i < *n; i++) texts[i] = c->uniq->pdata[c->todo[first + i]];
  return texts;
}

/* Batch `b` answered: store its vectors in the cache and take them. Consumes `out`. */
static bool take_batch(call *c, size_t b, size_t n, batch_out *out_p, hvb_error *err) {
  size_t first = b * c->batch_size;
  batch_out out = *out_p;
  bool ok = true;
  for (size_t i = 0; i < n && c->cache; i++) {
    size_t u = c->todo[first + i];
    GBytes *bytes = vector_bytes(out.vecs[i], out.dim);
    hvb__cache_put(c->cache, HVB_NS_EMBEDDING, c->keys[u], g_bytes_get_data(bytes, NULL),
                   g_bytes_get_size(bytes));
    g_bytes_unref(bytes);
  }
  g_mutex_lock(&c->lock);
  for (size_t i = 0; i < n && ok; i++) {
    ok = accept_vector(c, c->todo[first + i], out.vecs[i], out.dim, err);
    out.vecs[i] = NULL;
  }
  c->requests++;
  if (out.usage) {
    if (!c->usage) c->usage = json_object_new_object();
    hvb__usage_merge(c->usage, out.usage);
  }
  if (out.raw) {
    if (!c->raw) c->raw = json_object_new_array();
    json_object_array_put_idx(c->raw, b, json_object_get(out.raw));
  }
  g_mutex_unlock(&c->lock);
  batch_out_clear(&out, n);
  return ok;
}

/* Batch `b` of the current plan on the calling thread: run it, take its vectors. */
static bool run_planned(call *c, size_t b, hvb_error *err) {
  size_t n;
  const char **texts = planned_texts(c, b, &n);
  batch_out out = {0};
  bool ok = run_batch(c->llm, c->tmpl, texts, n, &out, err);
  g_free(texts);
  return ok && take_batch(c, b, n, &out, err);
}

/* ---- batches on the engine ---- */

typedef struct engine_batch {
  call *c;
  size_t b, n;
  hvb_engine_job *job; /* its request on the engine (for hvb__engine_job_cancel) */
} engine_batch;

static void start_next_locked(call *c);
static void async_finish(call *c);

/* Engine thread: one batch answered (or failed); start the next one. */
static void batch_done(void *ud, json_object *resp, const hvb_error *failure) {
  engine_batch *eb = ud;
  call *c = eb->c;
  hvb_error e = HVB_ERROR_INIT;
  batch_out out = {0};
  bool ok = false;
  if (!resp) {
    e = *failure;
  } else if (embed_parse(resp, eb->n, &out, &e)) {
    out.raw = json_object_get(resp);
    ok = take_batch(c, eb->b, eb->n, &out, &e);
  } else {
    batch_out_clear(&out, eb->n);
  }
  g_mutex_lock(&c->lock);
  if (!ok && !c->failed) {
    c->failed = true;
    c->error = e;
  }
  c->finished_batches++;
  c->in_flight--;
  g_ptr_array_remove_fast(c->flying, eb);
  start_next_locked(c);
  /* Decided under the lock: once it is released, a sync caller may return and free `c`. An
   * async call's plan has no waiter: the last batch finishes it. */
  bool finish = c->in_flight == 0 && c->owner;
  g_cond_broadcast(&c->changed);
  g_mutex_unlock(&c->lock);
  g_free(eb);
  if (finish) async_finish(c);
}

/* Start the next planned batch on the engine unless the call failed or none is left. */
static void start_next_locked(call *c) {
  if (c->owner && !c->failed && hvb__call_external_cancelled(c->owner)) {
    c->failed = true;
    hvb__fail(&c->error, HVB_CANCELLED, "the call was cancelled");
  }
  if (c->failed || c->next_batch >= c->nbatches) return;
  engine_batch *eb = g_new0(engine_batch, 1);
  eb->c = c;
  eb->b = c->next_batch++;
  const char **texts = planned_texts(c, eb->b, &eb->n);
  json_object *body = batch_body(c->llm, c->tmpl, texts, eb->n);
  g_free(texts);
  hvb_error e = HVB_ERROR_INIT;
  /* eb->job is set before batch_done can run; batch_done waits for the lock we hold. */
  if (hvb__engine_json(c->llm, HVB_GATEWAY_OP_EMBED, body, batch_done, eb, &eb->job, &e)) {
    c->in_flight++;
    g_ptr_array_add(c->flying, eb);
  } else {
    c->failed = true;
    c->error = e;
    g_free(eb);
  }
  json_object_put(body);
}

/* Embed the distinct texts `todo` (n indices) in batches of batch_size, at most `workers`
 * at a time. With one batch or one worker everything runs on the calling thread. */
static bool run_batches(call *c, const size_t *todo, size_t n, size_t batch_size, int workers,
                        hvb_error *err) {
  if (n == 0) return true;
  c->todo = todo;
  c->ntodo = n;
  c->batch_size = batch_size;
  c->nbatches = (n + batch_size - 1) / batch_size;
  c->next_batch = c->finished_batches = 0;
  c->failed = false;
  int parallel = (int)MIN((size_t)workers, c->nbatches);
  if (parallel <= 1 || hvb__engine_is_current()) {
    for (size_t b = 0; b < c->nbatches; b++) {
      if (!run_planned(c, b, err)) return false;
      report(c);
    }
    return true;
  }
  g_mutex_lock(&c->lock);
  for (int i = 0; i < parallel; i++) start_next_locked(c);
  size_t reported = 0;
  while (c->in_flight > 0) {
    if (c->finished_batches != reported && c->progress) {
      reported = c->finished_batches;
      g_mutex_unlock(&c->lock);
      report(c);
      g_mutex_lock(&c->lock);
      continue;
    }
    g_cond_wait(&c->changed, &c->lock);
  }
  g_mutex_unlock(&c->lock);
  if (c->failed) {
    if (err) *err = c->error;
    return false;
  }
  report(c);
  return true;
}

/* Give up every key this call still leads. */
static void release_all(call *c) {
  for (guint u = 0; c->cache && u < c->uniq->len; u++) {
    if (!c->claimed[u]) continue;
    hvb__cache_release(c->cache, c->keys[u]);
    c->claimed[u] = false;
  }
}

/* Look the distinct texts up: hits are taken; misses go to *todo (claimed when this call
 * leads them); texts another call has in flight go to *busy when `busy` is given (else they
 * are waited for). */
static void lookup(call *c, const size_t *which, size_t n, long wait_ms, GArray *todo,
                   GArray *busy) {
  for (size_t i = 0; i < n; i++) {
    size_t u = which[i];
    if (!c->cache) {
      g_array_append_val(todo, u);
      continue;
    }
    GBytes *value = NULL;
    hvb_flight f = hvb__cache_fetch(c->cache, HVB_NS_EMBEDDING, c->keys[u], busy ? 0 : wait_ms,
                                    &value);
    float *vec = NULL;
    size_t dim = 0;
    if (f == HVB_FLIGHT_HIT) {
      vec = vector_from_bytes(value, c->dim, &dim);
      g_bytes_unref(value);
    }
    if (vec && accept_vector(c, u, vec, dim, NULL)) {
      c->hit[u] = true;
    } else if (f == HVB_FLIGHT_BUSY) {
      g_array_append_val(busy, u);
    } else {
      c->claimed[u] = f == HVB_FLIGHT_LEADER;
      g_array_append_val(todo, u);
    }
  }
}

static void call_clear(call *c) {
  release_all(c);
  for (guint u = 0; u < c->uniq->len; u++) {
    g_free(c->vecs[u]);
    if (c->keys) g_free(c->keys[u]);
  }
  g_free(c->vecs);
  g_free(c->keys);
  g_free(c->claimed);
  g_free(c->hit);
  g_ptr_array_free(c->uniq, TRUE);
  g_free(c->map);
  if (c->plan) g_array_free(c->plan, TRUE);
  json_object_put(c->tmpl);
  json_object_put(c->usage);
  json_object_put(c->raw);
  hvb__cache_unref(c->cache);
  g_ptr_array_free(c->flying, TRUE);
  g_mutex_clear(&c->lock);
  g_cond_clear(&c->changed);
}

/* Option `name` of the call (a positive integer) or `fallback`. */
static bool call_count(json_object *opts, const char *name, int fallback, int *out,
                       hvb_error *err) {
  *out = fallback;
  json_object *v = json_object_is_type(opts, json_type_object) ? json_object_object_get(opts, name)
                                                               : NULL;
  char *what = g_strdup_printf("call option '%s'", name);
  bool ok = count_value(v, what, HVB_EINVAL, out, err);
  g_free(what);
  return ok;
}

/* Plan a call: check the arguments and options, find the distinct texts (copied), make their
 * cache keys and look them up (`wait_ms` as hvb__cache_fetch; with `busy` given, texts another
 * call has in flight go there). Fills *batch, *workers and *todo. False with err set. */
static bool plan(call *c, const char *const *texts, size_t n, json_object *call_options,
                 long wait_ms, int *batch, int *workers, GArray *todo, GArray *busy,
                 hvb_error *err) {
  hvb_llm *llm = c->llm;
  if (!llm || !texts || n == 0)
    return hvb__fail(err, HVB_EINVAL, "%s", !llm ? "llm is NULL" : "no texts to embed (give n >= 1)");
  for (size_t i = 0; i < n; i++)
    if (!texts[i]) return hvb__fail(err, HVB_EINVAL, "texts[%zu] is NULL", i);
  const hvb_spec *spec = hvb_llm_spec(llm);
  const hvb_embed_limits *limits = hvb__llm_embed_limits(llm);
  int want = limits->batch_size     ? limits->batch_size
             : limits->provider_cap ? limits->provider_cap
                                    : DEFAULT_BATCH_SIZE;
  if (!hvb_llm_supports(llm, HVB_GATEWAY_OP_EMBED, err) ||
      !call_count(call_options, "embedding_batch_size", want, batch, err) ||
      !call_count(call_options, "embedding_max_workers",
                  limits->max_workers ? limits->max_workers : DEFAULT_MAX_WORKERS, workers, err) ||
      !hvb__cache_for_call(hvb__llm_cache(llm), call_options, HVB_NS_EMBEDDING, &c->cache, err) ||
      !(c->tmpl = request_template(spec, call_options, err)))
    return false;
  if (limits->provider_cap && *batch > limits->provider_cap) *batch = limits->provider_cap;

  /* Distinct texts, in order of first appearance; copied, since an async call outlives the
   * caller's array. */
  c->n = n;
  c->map = g_new(size_t, n);
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (size_t i = 0; i < n; i++) {
    gpointer idx;
    if (!g_hash_table_lookup_extended(seen, texts[i], NULL, &idx)) {
      idx = GSIZE_TO_POINTER(c->uniq->len);
      g_hash_table_insert(seen, (gpointer)texts[i], idx);
      g_ptr_array_add(c->uniq, g_strdup(texts[i]));
    }
    c->map[i] = GPOINTER_TO_SIZE(idx);
  }
  g_hash_table_destroy(seen);
  size_t nu = c->uniq->len;
  c->vecs = g_new0(float *, nu);
  c->claimed = g_new0(bool, nu);
  c->hit = g_new0(bool, nu);
  if (c->cache) {
    /* One entry per text: the key is the request of a batch of that text alone. */
    c->keys = g_new0(char *, nu);
    json_object *one = hvb__json_copy(c->tmpl);
    for (size_t u = 0; u < nu; u++) {
      json_object_object_add(one, "input", json_object_new_string(c->uniq->pdata[u]));
      c->keys[u] = hvb__cache_key(HVB_NS_EMBEDDING, hvb_spec_hash_key(spec), one);
    }
    json_object_put(one);
  }
  size_t *all = g_new(size_t, nu);
  for (size_t u = 0; u < nu; u++) all[u] = u;
  lookup(c, all, nu, wait_ms, todo, busy);
  g_free(all);
  return true;
}

/* The result of a call whose every distinct text has its vector. */
static hvb_embeddings *assemble(call *c) {
  hvb_embeddings *e = g_new0(hvb_embeddings, 1);
  e->count = c->n;
  e->dim = c->dim;
  e->data = g_new(float, c->n * c->dim);
  for (size_t i = 0; i < c->n; i++) {
    memcpy(e->data + i * c->dim, c->vecs[c->map[i]], c->dim * sizeof(float));
    e->cached += c->hit[c->map[i]]; /* a repeated text counts once per occurrence */
  }
  e->requests = c->requests;
  e->usage = g_steal_pointer(&c->usage);
  e->raw = g_steal_pointer(&c->raw);
  e->elapsed = (double)(g_get_monotonic_time() - c->t0) / 1e6;
  hvb__embeddings_cost(hvb_llm_spec(c->llm), e->usage, e->requests, &e->cost);
  return e;
}

static call *call_new(hvb_llm *llm) {
  call *c = g_new0(call, 1);
  c->llm = llm;
  c->t0 = g_get_monotonic_time();
  g_mutex_init(&c->lock);
  g_cond_init(&c->changed);
  c->uniq = g_ptr_array_new_with_free_func(g_free);
  c->flying = g_ptr_array_new();
  return c;
}

static void call_free(call *c) {
  call_clear(c);
  g_free(c);
}

HVB_PUBLIC hvb_embeddings *hvb_llm_embed_progress(hvb_llm *llm, const char *const *texts,
                                                  size_t n, json_object *call_options,
                                                  hvb_embed_progress_fn progress, void *user_data,
                                                  hvb_error *err) {
  if (hvb__llm_routed(llm)) /* the whole call on each target in turn (route-llm.c) */
    return hvb__routed_embed(hvb__llm_routed(llm), texts, n, call_options, progress, user_data,
                             err);
  call *c = call_new(llm);
  c->progress = progress;
  c->progress_ud = user_data;
  int batch = 0, workers = 0;
  hvb_embeddings *e = NULL;
  GArray *todo = g_array_new(FALSE, FALSE, sizeof(size_t));
  GArray *busy = g_array_new(FALSE, FALSE, sizeof(size_t));
  /* Round one: hits, and the misses this call leads; round two: what others had in flight,
   * once they are done (hits now, or ours to send when they failed). */
  long wait_ms = llm && hvb_spec_timeout_ms(hvb_llm_spec(llm)) > 0
                     ? hvb_spec_timeout_ms(hvb_llm_spec(llm))
                     : -1;
  if (!plan(c, texts, n, call_options, wait_ms, &batch, &workers, todo, busy, err)) goto out;
  report(c);
  bool ok = run_batches(c, (size_t *)(void *)todo->data, todo->len, (size_t)batch, workers, err);
  release_all(c);
  if (ok && busy->len) {
    g_array_set_size(todo, 0);
    lookup(c, (size_t *)(void *)busy->data, busy->len, wait_ms, todo, NULL);
    ok = run_batches(c, (size_t *)(void *)todo->data, todo->len, (size_t)batch, workers, err);
    release_all(c);
  }
  if (ok) e = assemble(c);
out:
  g_array_free(todo, TRUE);
  g_array_free(busy, TRUE);
  call_free(c);
  return e;
}

/* ---- async ---- */

static void embeddings_free(void *p) {
  hvb_embeddings_free(p);
}

/* Release an async call's plan and the references it holds (the outcome was handed over,
 * or the call was cancelled). */
static void async_release(call *c) {
  hvb_call *owner = c->owner;
  hvb_llm *llm = c->llm;
  call_free(c);
  hvb_llm_free(llm); /* the call's reference */
  hvb__call_unref(owner);
}

/* Every batch of an async call is over (or none was needed): hand the outcome to its public
 * call, release the plan. */
static void async_finish(call *c) {
  release_all(c);
  if (c->failed) hvb__call_external_finish(c->owner, NULL, embeddings_free, &c->error);
  else hvb__call_external_finish(c->owner, assemble(c), embeddings_free, NULL);
  async_release(c);
}

/* Engine thread: the call was cancelled with batches in flight (else it would be over):
 * abort them (their batch_done never runs, their vectors are not cached) and let go. */
static void async_cancel(void *data) {
  call *c = data;
  g_mutex_lock(&c->lock);
  GPtrArray *flying = c->flying;
  c->flying = g_ptr_array_new();
  c->in_flight = 0;
  g_mutex_unlock(&c->lock);
  for (guint i = 0; i < flying->len; i++) {
    engine_batch *eb = flying->pdata[i];
    hvb__engine_job_cancel(eb->job);
    g_free(eb);
  }
  g_ptr_array_free(flying, TRUE);
  async_release(c); /* call_clear gives up the texts this call claimed */
}

static void async_finish_posted(void *c) {
  async_finish(c);
}

HVB_PUBLIC hvb_call *hvb_llm_embed_async(hvb_llm *llm, const char *const *texts, size_t n,
                                         json_object *call_options, hvb_call_done_fn on_done,
                                         void *user_data, hvb_error *err) {
  call *c = call_new(llm);
  int batch = 0, workers = 0;
  c->plan = g_array_new(FALSE, FALSE, sizeof(size_t));
  /* Never wait for another call's texts (that would block the caller or the engine): they
   * are sent again. */
  if (!plan(c, texts, n, call_options, 0, &batch, &workers, c->plan, NULL, err)) {
    call_free(c);
    return NULL;
  }
  hvb_call *handle = hvb__call_external_new(HVB_EXT_EMBEDDINGS, on_done, NULL, user_data);
  c->owner = handle;
  hvb__llm_ref(llm); /* batches start from the engine thread, after the caller may free it */
  c->todo = (size_t *)(void *)c->plan->data;
  c->ntodo = c->plan->len;
  c->batch_size = (size_t)batch;
  c->nbatches = (c->ntodo + c->batch_size - 1) / c->batch_size;
  /* Set before the first batch exists (it may finish the call on the engine thread). */
  hvb__call_external_on_cancel(handle, async_cancel, c);
  g_mutex_lock(&c->lock);
  for (int i = 0; i < workers; i++) start_next_locked(c);
  bool none = c->in_flight == 0;
  if (none) hvb__call_external_on_cancel(handle, NULL, NULL); /* nothing runs to abort */
  g_mutex_unlock(&c->lock);
  /* All cached, or the first batches could not start: finish at the engine's next turn, so
   * on_done never runs inside this function (even when called from a callback). */
  if (none) hvb__engine_post(async_finish_posted, c);
  return handle;
}

HVB_PUBLIC hvb_embeddings *hvb_llm_embed(hvb_llm *llm, const char *const *texts, size_t n,
                                         json_object *call_options, hvb_error *err) {
  return hvb_llm_embed_progress(llm, texts, n, call_options, NULL, NULL, err);
}

/* ============================================================================================
 * Dimension
 * ========================================================================================== */

static GMutex dims_lock;
static GHashTable *dims; /* spec hash_key -> size, learned by probes */

HVB_PUBLIC size_t hvb_llm_embedding_dim(hvb_llm *llm, hvb_error *err) {
  if (!llm) return hvb__fail(err, HVB_EINVAL, "llm is NULL"), 0;
  const hvb_spec *spec = hvb_llm_spec(llm);
  json_object *d = json_object_object_get(hvb_spec_args(spec), "dimensions");
  if (!json_object_is_type(d, json_type_int))
    d = json_object_object_get(hvb_spec_model_info(spec), "dimension");
  if (json_object_is_type(d, json_type_int) && json_object_get_int64(d) > 0)
    return (size_t)json_object_get_int64(d);
  g_mutex_lock(&dims_lock);
  size_t dim = dims ? GPOINTER_TO_SIZE(g_hash_table_lookup(dims, hvb_spec_hash_key(spec))) : 0;
  g_mutex_unlock(&dims_lock);
  if (dim) return dim;
  const char *probe[] = {PROBE_TEXT};
  hvb_embeddings *e = hvb_llm_embed(llm, probe, 1, NULL, err);
  if (!e) return 0;
  dim = e->dim;
  hvb_embeddings_free(e);
  g_mutex_lock(&dims_lock);
  if (!dims) dims = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert(dims, g_strdup(hvb_spec_hash_key(spec)), GSIZE_TO_POINTER(dim));
  g_mutex_unlock(&dims_lock);
  return dim;
}

/* fork() (core/base/fork.c): dims_lock is held only around a table lookup or insert (never
 * around the probe call), so prepare takes it without waiting long; the child keeps the
 * dimensions learned so far. Per-call locks (a running embed's) are not taken: a call that
 * another thread was running at the fork is not the child's to use. */
void hvb__embed_atfork(hvb_fork_phase phase) {
  if (phase == HVB_FORK_PREPARE) g_mutex_lock(&dims_lock);
  else g_mutex_unlock(&dims_lock);
}
