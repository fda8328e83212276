/* core/gateway/openai.c: the built-in `openai` gateway (OpenAI-compatible HTTP: chat
 * completions, embeddings, image generation and, for reference images, image edits) and the
 * hvb_openai_* translation exported to plugins.
 *
 * The canonical form is the OpenAI wire form, so the translation is thin: the request body is
 * the canonical request (plus stream_options when streaming a chat), a response body is
 * already canonical and a stream event is already a chat.completion.chunk. What this file
 * adds is the URL, the headers, the check that a response has the shape of its operation
 * (every member read, with its JSON type: openai-shape.c), and turning error payloads into
 * errors. OpenAI-compatible
 * plugins (the gateway servers in plugins/) reuse the functions through the host table.
 */
#include "gateway/gateway.h"
#include "config/shape.h"
#include "gateway/openai-shape.h"
#include "text/json.h"
#include "text/url.h"
#include "base/common.h"
#include "base/error.h"

#include <heavenbase/version.h>

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool has_header(json_object *headers, const char *name) {
  if (!headers) return false;
  json_object_object_foreach(headers, key, val) {
    (void)val;
    if (g_ascii_strcasecmp(key, name) == 0) return true;
  }
  return false;
}

/* The body to send: the canonical request, with stream_options.include_usage when streaming
 * (so the last chunk reports usage) and without stream_options otherwise (OpenAI rejects
 * them on a non-streamed request). A shallow copy: the canonical request is borrowed and
 * must stay as the caller built it (the cache keys on it). New reference. */
static json_object *chat_body(json_object *canonical, bool stream) {
  /* Nothing to change (the common non-streamed case): the request itself. */
  if (!stream && !json_object_object_get_ex(canonical, "stream_options", NULL))
    return json_object_get(canonical);
  json_object *body = json_object_new_object();
  json_object_object_foreach(canonical, key, val) {
    if (strcmp(key, "stream_options") == 0) continue;
    json_object_object_add(body, key, json_object_get(val));
  }
  if (stream) {
    json_object *given = json_object_object_get(canonical, "stream_options");
    json_object *opts = json_object_is_type(given, json_type_object) ? hvb__json_copy(given)
                                                                     : json_object_new_object();
    if (!json_object_object_get_ex(opts, "include_usage", NULL))
      json_object_object_add(opts, "include_usage", json_object_new_boolean(1));
    json_object_object_add(body, "stream_options", opts);
  }
  return body;
}

static const char *op_path(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return "/chat/completions";
  case HVB_GATEWAY_OP_EMBED: return "/embeddings";
  case HVB_GATEWAY_OP_IMAGE: return "/images/generations";
  }
  return NULL;
}

/* ---- image edits: reference images as a multipart/form-data form ---- */

/* Whether an image request goes to /images/edits as a form: it has reference images and the
 * model's catalog entry says "edits". False with err set when the model takes none (the core
 * refuses those first; this is for a caller that did not) or names an unknown route. */
static bool image_form(const hvb_spec *spec, json_object *canonical, bool *form, hvb_error *err) {
  json_object *refs = json_object_object_get(canonical, "image");
  *form = false;
  if (!refs || json_object_is_type(refs, json_type_null)) return true;
  if (!json_object_is_type(refs, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "'image' (the reference images) must be an array");
  if (json_object_array_length(refs) == 0) return true;
  switch (hvb__reference_images_route(hvb_spec_model_info(spec))) {
  case HVB_REFS_EDITS: *form = true; return true;
  case HVB_REFS_GENERATIONS: return true;
  default:
    return hvb__fail(err, HVB_UNSUPPORTED,
                     "option 'images': model '%s' takes no reference images (its catalog "
                     "entry has no valid \"reference_images\")", hvb_spec_model(spec));
  }
}

/* One image of the request (a base64 data URL) as the file part `field`, named `stem` plus
 * the extension of its type. `where` names it in errors. */
static bool file_part(hvb_wire_request *out, const char *field, const char *stem,
                      json_object *value, const char *where, hvb_error *err) {
  const char *url = json_object_is_type(value, json_type_string) ? json_object_get_string(value)
                                                                 : "";
  const char *comma = g_ascii_strncasecmp(url, "data:", 5) == 0 ? strchr(url, ',') : NULL;
  char *meta = comma ? g_strndup(url + 5, (gsize)(comma - url - 5)) : NULL;
  if (!meta || !g_str_has_suffix(meta, ";base64")) {
    g_free(meta);
    return hvb__fail(err, HVB_EINVAL, "%s must be a base64 data: URL: /images/edits uploads the "
                     "image's bytes (a URL is not fetched here)", where);
  }
  *strchr(meta, ';') = '\0'; /* the MIME type */
  const char *slash = strchr(meta, '/');
  char *filename = g_strdup_printf("%s.%s", stem, slash && slash[1] ? slash + 1 : "bin");
  gsize len = 0;
  guchar *bytes = g_base64_decode(comma + 1, &len);
  bool ok = hvb__wire_request_add_part(out, field, filename, *meta ? meta : NULL, bytes, len, err);
  g_free(bytes);
  g_free(filename);
  g_free(meta);
  return ok;
}

/* The edits form: every field of the request a plain part (strings as they are, other values
 * as JSON text), then the reference images as files ("image", or "image[]" for several, as
 * OpenAI's API wants) and the mask. */
static bool form_body(json_object *canonical, hvb_wire_request *out, hvb_error *err) {
  json_object_object_foreach(canonical, key, val) {
    if (!strcmp(key, "image") || !strcmp(key, "mask") || json_object_is_type(val, json_type_null))
      continue;
    size_t len = 0;
    const char *text =
        json_object_is_type(val, json_type_string)
            ? (len = (size_t)json_object_get_string_len(val), json_object_get_string(val))
            : json_object_to_json_string_length(
                  val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!hvb__wire_request_add_part(out, key, NULL, NULL, text, len, err)) return false;
  }
  json_object *refs = json_object_object_get(canonical, "image");
  size_t n = json_object_array_length(refs);
  for (size_t i = 0; i < n; i++) {
    char stem[32], where[48];
    snprintf(stem, sizeof stem, "image-%zu", i + 1);
    snprintf(where, sizeof where, "reference image %zu", i);
    if (!file_part(out, n > 1 ? "image[]" : "image", stem, json_object_array_get_idx(refs, i),
                   where, err))
      return false;
  }
  json_object *mask = json_object_object_get(canonical, "mask");
  return !mask || json_object_is_type(mask, json_type_null) ||
         file_part(out, "mask", "mask", mask, "the mask", err);
}

/* Headers: defaults first; a header of the same name from the configuration replaces ours
 * (Azure uses "api-key", some proxies their own Accept), since curl would send both. A form
 * gets no Content-Type, ours or the configuration's: libcurl writes it, with the boundary. */
static bool add_headers(const hvb_spec *spec, bool stream, bool form, hvb_wire_request *out,
                        hvb_error *err) {
  json_object *extra = hvb_spec_headers(spec);
  if (!json_object_is_type(extra, json_type_object)) extra = NULL;
  const char *provider = hvb_spec_provider(spec);
  const char *key = hvb_spec_api_key(spec);
  if (key && *key && strpbrk(key, "\r\n"))
    return hvb__fail(err, HVB_CONFIG, "the API key of provider '%s' contains a line break",
                     provider);
  if (!form && !has_header(extra, "Content-Type") &&
      !hvb_wire_request_add_header(out, "Content-Type", "application/json", err))
    return false;
  if (!has_header(extra, "Accept") &&
      !hvb_wire_request_add_header(out, "Accept",
                                   stream ? "text/event-stream" : "application/json", err))
    return false;
  if (key && *key && !has_header(extra, "Authorization")) {
    char *bearer = g_strconcat("Bearer ", key, NULL);
    bool ok = hvb_wire_request_add_header(out, "Authorization", bearer, err);
    g_free(bearer);
    if (!ok) return false;
  }
  if (extra) {
    json_object_object_foreach(extra, name, val) {
      /* A configured JSON type would replace the form's, and with it the boundary. */
      if (form && g_ascii_strcasecmp(name, "Content-Type") == 0) continue;
      const char *value =
          json_object_is_type(val, json_type_null) ? "" : json_object_get_string(val);
      if (!hvb_wire_request_add_header(out, name, value, err)) {
        hvb__error_prefix(err, "provider '%s'", provider);
        if (err) err->status = HVB_CONFIG; /* the configuration is what is wrong */
        return false;
      }
    }
  }
  return true;
}

HVB_PUBLIC bool hvb_openai_prepare(const hvb_spec *spec, hvb_gateway_op op,
                                   json_object *canonical, hvb_wire_request *out,
                                   hvb_error *err) {
  const char *path = op_path(op);
  if (!path) return hvb__fail(err, HVB_EINVAL, "unknown gateway operation %d", (int)op);
  if (!spec || !out) return hvb__fail(err, HVB_EINVAL, "spec and wire request must not be NULL");
  const char *base = hvb_spec_base_url(spec);
  if (!base || !*base)
    return hvb__fail(err, HVB_CONFIG, "provider '%s' has no base_url; pass base_url",
                     hvb_spec_provider(spec));
  if (!json_object_is_type(canonical, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "the canonical %s request is not a JSON object",
                     hvb__gateway_op_phrase(op));

  bool stream = false, form = false;
  if (op == HVB_GATEWAY_OP_CHAT) {
    json_object *sv = json_object_object_get(canonical, "stream");
    stream = json_object_is_type(sv, json_type_boolean) && json_object_get_boolean(sv);
  }
  if (op == HVB_GATEWAY_OP_IMAGE && !image_form(spec, canonical, &form, err)) return false;
  if (form) path = "/images/edits";
  if (!add_headers(spec, stream, form, out, err)) return false;
  char *url = hvb__url_join(base, path); /* a query in the base (api-version) stays last */
  bool ok = hvb_wire_request_set_url(out, url, err);
  g_free(url);
  if (!ok) return false;
  if (form) return form_body(canonical, out, err);
  /* Embeddings and images go as given: the canonical form is OpenAI's. */
  json_object *body = op == HVB_GATEWAY_OP_CHAT ? chat_body(canonical, stream)
                                                : json_object_get(canonical);
  ok = hvb_wire_request_set_json(out, body, err);
  json_object_put(body);
  return ok;
}

/* Fill err from an OpenAI error value ({"message", "type", "code"} or a bare string):
 * HVB_PROVIDER with the provider's message and type. Always returns false. */
static bool provider_error(json_object *error, const char *where, hvb_error *err) {
  const char *msg = NULL, *type = NULL;
  if (json_object_is_type(error, json_type_object)) {
    msg = hvb__json_str(error, "message");
    type = hvb__json_str(error, "type");
    if (!type) type = hvb__json_str(error, "code");
  } else if (json_object_is_type(error, json_type_string)) {
    msg = json_object_get_string(error);
  }
  if (!msg) msg = error ? json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN) : "";
  return hvb__fail_http(err, HVB_PROVIDER, 0, type,
                        "the provider reported an error in %s: %s%s%s%s", where, msg,
                        type ? " (" : "", type ? type : "", type ? ")" : "");
}

/* The error member of a payload when it carries one (a JSON null does not count). */
static json_object *error_member(json_object *obj) {
  json_object *e = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "error", &e))
    return NULL;
  return json_object_is_type(e, json_type_null) ? NULL : e;
}

static json_object *fail_parse(hvb_error *err, const char *fmt, ...) HVB_PRINTF(2, 3);
static json_object *fail_parse(hvb_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  hvb__fail(err, HVB_PARSE, "%s", msg ? msg : "");
  g_free(msg);
  return NULL;
}

HVB_PUBLIC json_object *hvb_openai_parse(const hvb_spec *spec, hvb_gateway_op op,
                                         json_object *body, hvb_error *err) {
  (void)spec;
  json_object *e = error_member(body);
  if (e) {
    provider_error(e, "the response", err);
    return NULL;
  }
  if (!json_object_is_type(body, json_type_object))
    return fail_parse(err, "the response is not a JSON object");
  bool ok;
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: ok = hvb__openai_shape_completion(body, err); break;
  case HVB_GATEWAY_OP_EMBED: ok = hvb__openai_shape_embeddings(body, err); break;
  case HVB_GATEWAY_OP_IMAGE: ok = hvb__openai_shape_images(body, err); break;
  default:
    hvb__fail(err, HVB_EINVAL, "unknown gateway operation %d", (int)op);
    return NULL;
  }
  return ok ? json_object_get(body) : NULL;
}

HVB_PUBLIC bool hvb_openai_parse_event(void *state, const hvb_sse_event *ev, json_object *chunks,
                                       bool *done, hvb_error *err) {
  if (!ev || !chunks || !done)
    return hvb__fail(err, HVB_EINVAL, "event, chunks and done must not be NULL");
  (void)state;
  const char *data = ev->data;
  size_t len = ev->data_len;
  while (len && g_ascii_isspace(data[len - 1])) len--;
  while (len && g_ascii_isspace(*data)) data++, len--;
  if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
    *done = true;
    return true;
  }
  json_object *chunk = hvb__json_parse(data, (long)len, "stream event", err);
  if (!chunk) return false;
  json_object *e = error_member(chunk);
  /* Some servers name the event instead: "event: error" with the error object as data. */
  if (!e && strcmp(ev->event, "error") == 0) e = chunk;
  if (e) {
    provider_error(e, "the stream", err);
    json_object_put(chunk);
    return false;
  }
  if (!json_object_is_type(chunk, json_type_object)) {
    json_object_put(chunk);
    return hvb__fail(err, HVB_PARSE, "stream event is not a JSON object");
  }
  /* Checked here, before the accumulator, which reads a wrongly typed member as absent. */
  if (!hvb__openai_shape_chunk(chunk, err)) {
    json_object_put(chunk);
    return false;
  }
  json_object_array_add(chunks, chunk);
  return true;
}

/* OpenAI's error body, {"error": {"message", "type", "code"}} (also the shape of most
 * OpenAI-compatible servers); the type falls back to "code" when absent. A body of another
 * shape is left to the transport's neutral reading. */
bool hvb__openai_parse_error(const hvb_spec *spec, int http_status, json_object *body,
                             hvb_error *out) {
  (void)spec;
  json_object *e = error_member(body);
  if (!json_object_is_type(e, json_type_object)) return false;
  const char *msg = hvb__json_str(e, "message");
  const char *type = hvb__json_str(e, "type");
  json_object *code = NULL;
  if (!type && json_object_object_get_ex(e, "code", &code) && code &&
      !json_object_is_type(code, json_type_null))
    type = json_object_get_string(code);
  if (!msg && !type) return false;
  hvb__fail_http(out, HVB_HTTP, http_status, type, "%s", msg ? msg : "");
  return true;
}

const hvb_gateway_descriptor hvb__gateway_openai = {
    .magic = HVB_GATEWAY_MAGIC,
    .abi_major = HVB_GATEWAY_ABI_MAJOR,
    .abi_minor = HVB_GATEWAY_ABI_MINOR,
    .struct_size = (uint32_t)sizeof(hvb_gateway_descriptor),
    .name = "openai",
    .version = HVB_VERSION_STRING,
    .description = "OpenAI-compatible HTTP: chat completions, embeddings, image generation "
                   "(built in; the fallback)",
    .license = "MIT",
    .caps = HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
            HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_IMAGE_REFS | HVB_GATEWAY_CAP_EXPORT_OPENAI,
    .prepare = hvb_openai_prepare,
    .parse = hvb_openai_parse,
    .parse_event = hvb_openai_parse_event,
    .parse_error = hvb__openai_parse_error,
};
