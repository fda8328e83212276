/* core/imagen.c: image generation (hvb_llm_imagen, see <heavenbase/image.h>).
 *
 * One request on the gateway's IMAGE operation through hvb__llm_call_json (so the check of
 * hvb_llm_supports, offline gateways and every HTTP gateway are served alike), then each
 * item of the response's "data" becomes an hvb_image. The response cache's `image`
 * namespace keeps the response with every image as b64_json (URLs expire), only for a
 * seeded request (the deterministic policy).
 */
#include "internal.h"
#include "cache-internal.h"
#include "config-internal.h"
#include "image-internal.h"
#include "llm-internal.h"

#include <heavenbase/image.h>
#include <glib.h>
#include <string.h>

struct hvb_images {
  GPtrArray *images; /* hvb_image* */
  json_object *raw, *usage;
  bool cached;
};

/* Chat arguments an images endpoint rejects: an LLM's resolved defaults must not break it. */
static const char *const chat_only_args[] = {
    "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop",
    "presence_penalty", "frequency_penalty", "tools", "tool_choice", "logprobs",
    "top_logprobs", "reasoning_effort", "stream", "stream_options", "messages", "input",
    "dimensions", "encoding_format", NULL};

/* Call options that steer the pipeline and are never request arguments. */
static const char *const pipeline_options[] = {"cache", "include", "images", NULL};

/* gpt-image-1, gpt-image-1-mini, gpt-5-image, gpt-5.1-image-mini...: these answer with
 * b64_json always and reject "response_format". A provider prefix ("openai/") is ignored. */
static bool rejects_response_format(const char *model) {
  const char *slash = strrchr(model, '/');
  if (slash) model = slash + 1;
  return g_str_has_prefix(model, "gpt-image-") ||
         (g_str_has_prefix(model, "gpt-5") && strstr(model, "-image") != NULL);
}

/* Does the comma-separated `include` list name `field`? */
static bool includes(const char *include, const char *field) {
  if (!include) return false;
  char **names = g_strsplit(include, ",", -1);
  bool found = false;
  for (char **n = names; *n && !found; n++) found = !strcmp(g_strstrip(*n), field);
  g_strfreev(names);
  return found;
}

static json_object *build_request(const hvb_spec *spec, const char *prompt, hvb_image *const *refs,
                                  size_t nrefs, json_object *opts, hvb_error *err) {
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
  if (rejects_response_format(hvb_spec_model_id(spec)))
    json_object_object_del(req, "response_format");
  else if (!json_object_object_get_ex(req, "response_format", NULL))
    json_object_object_add(req, "response_format", json_object_new_string("b64_json"));
  if (nrefs) {
    json_object *arr = json_object_new_array();
    json_object_object_add(req, "image", arr);
    for (size_t i = 0; i < nrefs; i++) {
      json_object *part = refs[i] ? hvb_image_content_part(refs[i], err) : NULL;
      if (!part) {
        if (!refs[i]) hvb__fail(err, HVB_EINVAL, "reference image is NULL");
        hvb__error_prefix(err, "reference image %zu", i);
        goto fail;
      }
      json_object_array_add(arr, json_object_get(hvb__json_path(part, "image_url.url")));
      json_object_put(part);
    }
  }
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

HVB_PUBLIC hvb_images *hvb_llm_imagen(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                                      size_t nrefs, json_object *options, hvb_error *err) {
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
  bool want_raw = includes(inc ? json_object_get_string(inc) : NULL, "raw");
  const hvb_spec *spec = hvb_llm_spec(llm);
  hvb_cache *cache = NULL;
  if (!hvb__cache_for_call(hvb__llm_cache(llm), options, HVB_NS_IMAGE, &cache, err)) return NULL;
  json_object *req = build_request(spec, prompt, refs, nrefs, options, err);
  if (!req) {
    hvb__cache_unref(cache);
    return NULL;
  }
  hvb_images *r = g_new0(hvb_images, 1);
  r->images = g_ptr_array_new_with_free_func((GDestroyNotify)hvb_image_free);

  char *key = NULL;
  bool leader = false;
  if (cache && hvb__cache_policy_allows(HVB_NS_IMAGE, req, false)) {
    key = hvb__cache_key(HVB_NS_IMAGE, hvb_spec_hash_key(spec), req);
    long wait_ms = hvb_spec_timeout_ms(spec) > 0 ? hvb_spec_timeout_ms(spec) : -1;
    GBytes *value = NULL;
    hvb_flight f = hvb__cache_fetch(cache, HVB_NS_IMAGE, key, wait_ms, &value);
    leader = f == HVB_FLIGHT_LEADER;
    if (f == HVB_FLIGHT_HIT) {
      gsize len = 0;
      const char *text = g_bytes_get_data(value, &len);
      json_object *stored = hvb__json_parse(text, (long)len, "cached images", NULL);
      g_bytes_unref(value);
      if (stored && take_images(r, stored, NULL)) {
        r->cached = true;
        if (want_raw) r->raw = json_object_get(stored);
        hvb__log(HVB_LOG_DEBUG, "cache hit (image %.12s)", key);
      } else {
        g_ptr_array_set_size(r->images, 0);
        g_clear_pointer(&r->usage, json_object_put);
      }
      json_object_put(stored);
    }
  } else {
    g_clear_pointer(&cache, hvb__cache_unref);
  }

  bool ok = r->cached;
  if (!ok) {
    json_object *resp = hvb__llm_call_json(llm, HVB_GATEWAY_OP_IMAGE, req, err);
    ok = resp && take_images(r, resp, err);
    if (ok && want_raw) r->raw = json_object_get(resp);
    if (ok && key) {
      json_object *stored = cacheable(r, resp);
      if (stored) {
        const char *text = json_object_to_json_string_ext(stored, JSON_C_TO_STRING_PLAIN);
        hvb__cache_put(cache, HVB_NS_IMAGE, key, text, strlen(text));
        json_object_put(stored);
      }
    }
    json_object_put(resp);
  }
  if (leader) hvb__cache_release(cache, key);
  hvb__cache_unref(cache);
  g_free(key);
  json_object_put(req);
  if (!ok) {
    hvb_images_free(r);
    return NULL;
  }
  return r;
}

HVB_PUBLIC size_t hvb_images_count(const hvb_images *r) { return r ? r->images->len : 0; }
HVB_PUBLIC hvb_image *hvb_images_get(const hvb_images *r, size_t i) {
  return r && i < r->images->len ? r->images->pdata[i] : NULL;
}
HVB_PUBLIC json_object *hvb_images_raw(const hvb_images *r) { return r ? r->raw : NULL; }
HVB_PUBLIC json_object *hvb_images_usage(const hvb_images *r) { return r ? r->usage : NULL; }
HVB_PUBLIC bool hvb_images_cached(const hvb_images *r) { return r && r->cached; }

HVB_PUBLIC void hvb_images_free(hvb_images *r) {
  if (!r) return;
  g_ptr_array_free(r->images, TRUE);
  json_object_put(r->raw);
  json_object_put(r->usage);
  g_free(r);
}
