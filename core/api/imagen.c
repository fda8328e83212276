/* core/api/imagen.c: image generation (hvb_llm_imagen, see <heavenbase/image.h>, and
 * hvb_llm_imagen_async, see <heavenbase/async.h>).
 *
 * One request on the gateway's IMAGE operation through hvb__llm_call_json, or for an async
 * call as a job on the engine (hvb__engine_json), so the check of hvb_llm_supports, offline
 * gateways and every HTTP gateway are served alike; then each item of the response's "data"
 * becomes an hvb_image. Both paths share imagen_begin / imagen_take / imagen_end. The response cache's `image`
 * namespace keeps the response with every image as b64_json (URLs expire), only for a
 * seeded request (the deterministic policy).
 *
 * Reference images (the `refs` argument and the "images" option, in the forms chat takes)
 * are sent or refused, never dropped: the gateway must declare HVB_GATEWAY_CAP_IMAGE_REFS
 * and the model's catalog entry must say where it takes them ("reference_images", read by
 * config/shape.c; the openai gateway uploads them to /images/edits for "edits"). They go
 * into the canonical request's "image" array as data URLs (for "generations", a URL image
 * keeps its URL): the cache key covers their bytes. An edit needs the bytes, so a sync call
 * downloads a URL reference (the image fetch's timeout and size cap); an async call refuses
 * one not downloaded yet, since the fetch would block its caller, maybe the engine thread.
 */
#include "text/json.h"
#include "config/shape.h"
#include "gateway/gateway.h"
#include "call/image.h"
#include "cache/store.h"
#include "api/handle.h"
#include "api/json-call.h"
#include "api/answer-cost.h"
#include "api/async.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <heavenbase/image.h>
#include <glib.h>
#include <string.h>

struct hvb_images {
  GPtrArray *images; /* hvb_image* */
  json_object *raw, *usage;
  bool cached;
  hvb_cost cost;
};

/* Chat arguments an images endpoint rejects: an LLM's resolved defaults must not break it. */
static const char *const chat_only_args[] = {
    "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop",
    "presence_penalty", "frequency_penalty", "tools", "tool_choice", "logprobs",
    "top_logprobs", "reasoning_effort", "stream", "stream_options", "messages", "input",
    "dimensions", "encoding_format", NULL};

/* Library options (core/config/options.c) are skipped by hvb__request_template. */
static const char *const pipeline_options[] = {NULL};

/* Does the comma-separated `include` list name `field`? */
static bool includes(const char *include, const char *field) {
  if (!include) return false;
  char **names = g_strsplit(include, ",", -1);
  bool found = false;
  for (char **n = names; *n && !found; n++) found = !strcmp(g_strstrip(*n), field);
  g_strfreev(names);
  return found;
}

/* The "image" value of one reference: a data URL, or for the generations route a URL
 * image's own URL. A sync call downloads a URL image for the edits route. New string. */
static char *reference_value(hvb_image *img, hvb_refs_route route, bool async, hvb_error *err) {
  const char *url = hvb_image_url(img);
  if (url && route == HVB_REFS_GENERATIONS) return g_strdup(url);
  if (url && async && !hvb__image_has_bytes(img)) {
    hvb__fail(err, HVB_UNSUPPORTED,
              "the URL %s is not downloaded by an async call (it would block the calling "
              "thread): an edit uploads the image's bytes; use hvb_llm_imagen, or give a file, "
              "a data URL or an image already fetched", url);
    return NULL;
  }
  return hvb_image_data_url(img, err);
}

/* May this call send reference images, and by which route? HVB_UNSUPPORTED naming the option
 * and the gateway or the model, HVB_CONFIG for a catalog value the library does not know. */
static bool references_route(hvb_llm *llm, hvb_refs_route *route, hvb_error *err) {
  const hvb_spec *spec = hvb_llm_spec(llm);
  const hvb_gateway_record *gw = hvb__llm_gateway(llm);
  if (!(gw->ops.caps & HVB_GATEWAY_CAP_IMAGE_REFS))
    return hvb__fail(err, HVB_UNSUPPORTED,
                     "option 'images': gateway '%s' cannot send reference images (it does not "
                     "declare HVB_GATEWAY_CAP_IMAGE_REFS)", gw->name);
  *route = hvb__reference_images_route(hvb_spec_model_info(spec));
  if (*route == HVB_REFS_NONE)
    return hvb__fail(err, HVB_UNSUPPORTED,
                     "option 'images': model '%s' takes no reference images (its catalog entry "
                     "has no \"reference_images\"; a catalog.d entry can say \"edits\" or "
                     "\"generations\")", hvb_spec_model(spec));
  if (*route == HVB_REFS_INVALID) {
    char *v = hvb__json_canonical(
        json_object_object_get(hvb_spec_model_info(spec), "reference_images"));
    hvb__fail(err, HVB_CONFIG,
              "catalog model '%s': 'reference_images' must be \"edits\" or \"generations\", "
              "not %.40s", hvb_spec_model(spec), v);
    g_free(v);
    return false;
  }
  return true;
}

/* The reference images of a call, in order: `refs` (borrowed), then the "images" option
 * given to hvb_llm_new (a request argument by then) and to the call (made here). */
typedef struct references {
  GPtrArray *all;   /* hvb_image*, borrowed from the caller or from `owned` */
  GPtrArray *owned; /* made from the options */
  GPtrArray *names; /* how messages name each: "reference image 0", "option 'images'[1]" */
} references;

static bool references_collect(references *rs, hvb_image *const *refs, size_t nrefs,
                               json_object *arg, json_object *opts, hvb_error *err) {
  for (size_t i = 0; i < nrefs; i++) {
    if (!refs[i]) return hvb__fail(err, HVB_EINVAL, "reference image %zu is NULL", i);
    g_ptr_array_add(rs->all, refs[i]);
    g_ptr_array_add(rs->names, g_strdup_printf("reference image %zu", i));
  }
  json_object *lists[] = {arg, json_object_object_get(opts, "images")};
  for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
    guint from = rs->owned->len;
    if (!hvb__images_from_option(lists[l], rs->owned, err)) return false;
    for (guint i = from; i < rs->owned->len; i++) {
      g_ptr_array_add(rs->all, rs->owned->pdata[i]);
      g_ptr_array_add(rs->names, g_strdup_printf("option 'images'[%u]", i - from));
    }
  }
  return true;
}

/* A "mask" request argument (an image source) in the form the references take. */
static bool mask_value(json_object *req, hvb_refs_route route, bool async, hvb_error *err) {
  json_object *m = json_object_object_get(req, "mask");
  if (!json_object_is_type(m, json_type_string))
    return hvb__fail(err, HVB_EINVAL, "option 'mask' must be an image source string");
  hvb_image *img = hvb_image_new(json_object_get_string(m), err);
  char *v = img ? reference_value(img, route, async, err) : NULL;
  hvb_image_free(img);
  if (!v) {
    hvb__error_prefix(err, "option 'mask'");
    return false;
  }
  json_object_object_add(req, "mask", json_object_new_string(v));
  g_free(v);
  return true;
}

/* The call's reference images (and mask) into req's "image" array (and "mask"); an "images"
 * request argument is taken out of req: a reference, never a field. */
static bool add_references(hvb_llm *llm, json_object *req, hvb_image *const *refs, size_t nrefs,
                           json_object *opts, bool async, hvb_error *err) {
  references rs = {g_ptr_array_new(),
                   g_ptr_array_new_with_free_func((GDestroyNotify)hvb_image_free),
                   g_ptr_array_new_with_free_func(g_free)};
  json_object *arg = json_object_get(json_object_object_get(req, "images"));
  json_object_object_del(req, "images");
  bool mask = json_object_object_get_ex(req, "mask", NULL);
  hvb_refs_route route = HVB_REFS_NONE;
  bool ok = references_collect(&rs, refs, nrefs, arg, opts, err);
  if (ok && mask && rs.all->len == 0)
    ok = hvb__fail(err, HVB_EINVAL, "option 'mask' needs reference images (option 'images')");
  if (ok && rs.all->len) ok = references_route(llm, &route, err);
  json_object *arr = ok && rs.all->len ? json_object_new_array() : NULL;
  for (guint i = 0; arr && i < rs.all->len; i++) {
    char *v = reference_value(rs.all->pdata[i], route, async, err);
    if (!v) {
      hvb__error_prefix(err, "%s", (const char *)rs.names->pdata[i]);
      json_object_put(arr);
      arr = NULL;
      ok = false;
      break;
    }
    json_object_array_add(arr, json_object_new_string(v));
    g_free(v);
  }
  if (arr) json_object_object_add(req, "image", arr);
  if (ok && mask) ok = mask_value(req, route, async, err);
  json_object_put(arg);
  g_ptr_array_free(rs.all, TRUE);
  g_ptr_array_free(rs.owned, TRUE);
  g_ptr_array_free(rs.names, TRUE);
  return ok;
}

static json_object *build_request(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                                  size_t nrefs, json_object *opts, bool async, hvb_error *err) {
  const hvb_spec *spec = hvb_llm_spec(llm);
  json_object *req = hvb__request_template(spec, opts, chat_only_args, pipeline_options, err);
  if (!req) return NULL;
  json_object *size = json_object_object_get(req, "size");
  if (size && !json_object_is_type(size, json_type_string)) {
    hvb__fail(err, HVB_EINVAL, "option 'size' must be a string such as \"1024x1024\"");
    goto fail;
  }
  json_object *n = json_object_object_get(req, "n");
  if (n && (!json_object_is_type(n, json_type_int) || json_object_get_int64(n) < 1 ||
            json_object_get_int64(n) > 100)) {
    hvb__fail(err, HVB_EINVAL, "option 'n' must be an integer from 1 to 100");
    goto fail;
  }
  json_object_object_add(req, "prompt", json_object_new_string(prompt));
  /* Models that always answer with b64_json may reject the question (catalog data). */
  if (!hvb__rejected_args_has(hvb_spec_model_info(spec), "response_format") &&
      !json_object_object_get_ex(req, "response_format", NULL))
    json_object_object_add(req, "response_format", json_object_new_string("b64_json"));
  if (!add_references(llm, req, refs, nrefs, opts, async, err)) goto fail;
  return req;
fail:
  json_object_put(req);
  return NULL;
}

/* Images of a canonical response (borrowed). */
static bool take_images(hvb_images *r, json_object *resp, hvb_error *err) {
  json_object *data = json_object_object_get(resp, "data");
  if (!json_object_is_type(data, json_type_array) || json_object_array_length(data) == 0)
    return hvb__fail(err, HVB_PARSE, "the response has no 'data' array of images");
  for (size_t i = 0; i < json_object_array_length(data); i++) {
    hvb_image *img = hvb_image_new_item(json_object_array_get_idx(data, i), err);
    if (!img) {
      hvb__error_prefix(err, "data[%zu]", i);
      return false;
    }
    g_ptr_array_add(r->images, img);
  }
  json_object *usage = json_object_object_get(resp, "usage");
  if (json_object_is_type(usage, json_type_object)) r->usage = hvb__json_copy(usage);
  return true;
}

/* The response with every image as b64_json (URL images fetched now), for the cache. NULL
 * when a fetch fails: such a response is not stored. */
static json_object *cacheable(hvb_images *r, json_object *resp) {
  json_object *out = json_object_new_object();
  json_object *data = json_object_new_array();
  json_object_object_add(out, "data", data);
  for (guint i = 0; i < r->images->len; i++) {
    hvb_image *img = r->images->pdata[i];
    hvb_error e = HVB_ERROR_INIT;
    char *b64 = hvb_image_base64(img, &e);
    if (!b64) {
      hvb__log(HVB_LOG_WARN, "image cache: not stored: %s", e.message);
      json_object_put(out);
      return NULL;
    }
    json_object *item = json_object_new_object();
    json_object_object_add(item, "b64_json", json_object_new_string(b64));
    g_free(b64);
    const char *rp = hvb_image_revised_prompt(img);
    if (rp) json_object_object_add(item, "revised_prompt", json_object_new_string(rp));
    json_object_array_add(data, item);
  }
  json_object *usage = json_object_object_get(resp, "usage");
  if (usage) json_object_object_add(out, "usage", hvb__json_copy(usage));
  return out;
}

/* One imagen call between its steps, so that hvb_llm_imagen and hvb_llm_imagen_async share
 * the checks, the request, the cache lookup and store and the reading of the response. */
typedef struct imagen_call {
  hvb_llm *llm;        /* async: a reference (hvb__llm_ref); sync: borrowed */
  json_object *req;    /* the canonical request */
  hvb_cache *cache;    /* NULL: this call does not use the cache */
  char *key;           /* its key, when `cache` */
  bool leader;         /* the key is claimed by this call: release it at the end */
  bool want_raw;       /* include "raw" */
  bool async;          /* never wait on the cache; never fetch URL images to store them */
  hvb_images *r;       /* filled by a cache hit or by imagen_take */
  hvb_call *owner;     /* async: the public call (the producer's reference) */
  hvb_engine_job *job; /* async: the request on the engine, until it answers */
  hvb_error fail;      /* async: why the request could not start */
} imagen_call;

/* Release what imagen_begin took; the images when ok (caller owns), else NULL. */
static hvb_images *imagen_end(imagen_call *g, bool ok) {
  if (g->leader) hvb__cache_release(g->cache, g->key);
  hvb__cache_unref(g->cache);
  g_free(g->key);
  json_object_put(g->req);
  hvb_images *r = g->r;
  g_free(g);
  if (ok) return r;
  hvb_images_free(r);
  return NULL;
}

/* The checks, the request and the cache lookup: a hit leaves the images in g->r (cached).
 * `async`: a key another call computes is not waited for (that call's images are not shared;
 * this one runs on its own). NULL with err set for bad arguments or options or an
 * unsupported operation. */
static imagen_call *imagen_begin(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                                 size_t nrefs, json_object *options, bool async, hvb_error *err) {
  if (!llm || !prompt || (nrefs && !refs)) {
    hvb__fail(err, HVB_EINVAL, "%s", !llm ? "llm is NULL" : !prompt ? "prompt is NULL"
                                                                    : "refs is NULL");
    return NULL;
  }
  if (options && !json_object_is_type(options, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "options must be a JSON object");
    return NULL;
  }
  /* The operation first: an unsupported call fails the same way whatever its arguments. */
  if (!hvb_llm_supports(llm, HVB_GATEWAY_OP_IMAGE, err)) return NULL;
  json_object *inc = json_object_object_get(options, "include");
  if (inc && !json_object_is_type(inc, json_type_string)) {
    hvb__fail(err, HVB_EINVAL, "option 'include' must be a string");
    return NULL;
  }
  const hvb_spec *spec = hvb_llm_spec(llm);
  hvb_cache *cache = NULL;
  if (!hvb__cache_for_call(hvb__llm_cache(llm), options, HVB_NS_IMAGE, &cache, err)) return NULL;
  json_object *req = build_request(llm, prompt, refs, nrefs, options, async, err);
  if (!req) {
    hvb__cache_unref(cache);
    return NULL;
  }
  imagen_call *g = g_new0(imagen_call, 1);
  g->llm = llm;
  g->req = req;
  g->async = async;
  g->want_raw = includes(inc ? json_object_get_string(inc) : NULL, "raw");
  g->r = g_new0(hvb_images, 1);
  g->r->images = g_ptr_array_new_with_free_func((GDestroyNotify)hvb_image_free);
  if (!cache || !hvb__cache_policy_allows(HVB_NS_IMAGE, req, false)) {
    hvb__cache_unref(cache);
    return g;
  }
  g->cache = cache;
  g->key = hvb__cache_key(HVB_NS_IMAGE, hvb_spec_hash_key(spec), req);
  long wait_ms = async ? 0 : hvb_spec_timeout_ms(spec) > 0 ? hvb_spec_timeout_ms(spec) : -1;
  GBytes *value = NULL;
  hvb_flight f = hvb__cache_fetch(cache, HVB_NS_IMAGE, g->key, wait_ms, &value);
  g->leader = f == HVB_FLIGHT_LEADER;
  if (f != HVB_FLIGHT_HIT) return g;
  gsize len = 0;
  const char *text = g_bytes_get_data(value, &len);
  json_object *stored = hvb__json_parse(text, (long)len, "cached images", NULL);
  g_bytes_unref(value);
  if (stored && take_images(g->r, stored, NULL)) {
    g->r->cached = true;
    hvb__images_cost(spec, req, stored, true, &g->r->cost);
    if (g->want_raw) g->r->raw = json_object_get(stored);
    hvb__log(HVB_LOG_DEBUG, "cache hit (image %.12s)", g->key);
  } else { /* unreadable: a miss */
    g_ptr_array_set_size(g->r->images, 0);
    g_clear_pointer(&g->r->usage, json_object_put);
  }
  json_object_put(stored);
  return g;
}

/* Whether any image is only a URL (its bytes not fetched). */
static bool has_url_images(const hvb_images *r) {
  for (guint i = 0; i < r->images->len; i++)
    if (hvb_image_url(r->images->pdata[i])) return true;
  return false;
}

/* The response (borrowed) becomes the call's images, and is stored when cacheable. */
static bool imagen_take(imagen_call *g, json_object *resp, hvb_error *err) {
  if (!take_images(g->r, resp, err)) return false;
  hvb__images_cost(hvb_llm_spec(g->llm), g->req, resp, false, &g->r->cost);
  if (g->want_raw) g->r->raw = json_object_get(resp);
  if (!g->key) return true;
  if (g->async && has_url_images(g->r)) {
    /* Storing would fetch them here, on the engine thread, stalling every other call. */
    hvb__log(HVB_LOG_DEBUG, "image cache: not stored (URL images of an async call)");
    return true;
  }
  json_object *stored = cacheable(g->r, resp);
  if (stored) {
    const char *text = json_object_to_json_string_ext(stored, JSON_C_TO_STRING_PLAIN);
    hvb__cache_put(g->cache, HVB_NS_IMAGE, g->key, text, strlen(text));
    json_object_put(stored);
  }
  return true;
}

HVB_PUBLIC hvb_images *hvb_llm_imagen(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                                      size_t nrefs, json_object *options, hvb_error *err) {
  if (hvb__llm_routed(llm)) /* the whole call on each target in turn (route-llm.c) */
    return hvb__routed_imagen(hvb__llm_routed(llm), prompt, refs, nrefs, options, err);
  imagen_call *g = imagen_begin(llm, prompt, refs, nrefs, options, false, err);
  if (!g) return NULL;
  bool ok = g->r->cached;
  if (!ok) {
    json_object *resp = hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, g->req, err);
    ok = resp && imagen_take(g, resp, err);
    json_object_put(resp);
  }
  return imagen_end(g, ok);
}

/* ---- async ---- */

static void images_free(void *p) {
  hvb_images_free(p);
}

/* Let go of the call's state and of the references it holds; the images when ok. */
static hvb_images *async_release(imagen_call *g, bool ok) {
  hvb_llm *llm = g->llm;
  hvb_images *r = imagen_end(g, ok);
  hvb_llm_free(llm); /* the call's reference */
  return r;
}

/* Engine thread: the outcome goes to the public call (whose on_done runs now), after the
 * cache key is released (on_done may ask for the same images again). */
static void async_finish(imagen_call *g, bool ok, const hvb_error *failure) {
  hvb_call *owner = g->owner;
  hvb_images *r = async_release(g, ok);
  hvb__call_external_finish(owner, r, images_free, r ? NULL : failure);
  hvb__call_unref(owner); /* the producer's reference */
}

/* Engine thread: the request answered or failed. */
static void async_done(void *user_data, json_object *resp, const hvb_error *failure) {
  imagen_call *g = user_data;
  g->job = NULL; /* the engine let go of it */
  hvb_error e = HVB_ERROR_INIT;
  bool ok = resp ? imagen_take(g, resp, &e) : false;
  async_finish(g, ok, resp ? &e : failure);
}

/* Engine thread, at its turn: a cache hit, or a request that could not start. Posted rather
 * than finished inside hvb_llm_imagen_async, so that on_done never runs inside it (it would
 * on the engine thread, from a callback). */
static void async_posted(void *user_data) {
  imagen_call *g = user_data;
  async_finish(g, g->r->cached, &g->fail);
}

/* Engine thread: the call was cancelled while its request ran: abort it (async_done will not
 * run) and let go; the engine completes the call with HVB_CANCELLED. */
static void async_cancel(void *user_data) {
  imagen_call *g = user_data;
  hvb__engine_job_cancel(g->job);
  hvb_call *owner = g->owner;
  async_release(g, false);
  hvb__call_unref(owner); /* the producer's reference */
}

HVB_PUBLIC hvb_call *hvb_llm_imagen_async(hvb_llm *llm, const char *prompt,
                                          hvb_image *const *refs, size_t nrefs,
                                          json_object *options, hvb_call_done_fn on_done,
                                          void *user_data, hvb_error *err) {
  imagen_call *g = imagen_begin(llm, prompt, refs, nrefs, options, true, err);
  if (!g) return NULL;
  hvb_call *owner = hvb__call_external_new(HVB_EXT_IMAGES, on_done, NULL, user_data);
  g->owner = owner;
  g->llm = hvb__llm_ref(llm); /* the request ends on the engine thread, maybe after hvb_llm_free */
  if (!g->r->cached) {
    /* Set before the job exists: from the moment it is submitted, async_done may run. */
    hvb__call_external_on_cancel(owner, async_cancel, g);
    /* From here on `g` belongs to the engine thread (async_done or async_cancel frees it). */
    if (hvb__engine_json(llm, HVB_GATEWAY_OP_IMAGE, g->req, async_done, g, &g->job, &g->fail))
      return owner;
    hvb__call_external_on_cancel(owner, NULL, NULL); /* nothing runs to be cancelled */
  }
  hvb__engine_post(async_posted, g);
  return owner;
}

HVB_PUBLIC size_t hvb_images_count(const hvb_images *r) { return r ? r->images->len : 0; }
HVB_PUBLIC hvb_image *hvb_images_at(hvb_images *r, size_t i) {
  return r && i < r->images->len ? r->images->pdata[i] : NULL;
}
HVB_PUBLIC json_object *hvb_images_raw(const hvb_images *r) { return r ? r->raw : NULL; }
HVB_PUBLIC json_object *hvb_images_usage(const hvb_images *r) { return r ? r->usage : NULL; }
HVB_PUBLIC bool hvb_images_cached(const hvb_images *r) { return r && r->cached; }
HVB_PUBLIC bool hvb_images_cost(const hvb_images *r, hvb_cost *out) {
  return hvb__cost_copy(r ? &r->cost : NULL, out);
}

HVB_PUBLIC void hvb_images_free(hvb_images *r) {
  if (!r) return;
  g_ptr_array_free(r->images, TRUE);
  json_object_put(r->raw);
  json_object_put(r->usage);
  g_free(r);
}
