/* core/api/export.c: client exports (see <heavenbase/export.h>).
 *
 * The gateway builds the export: its own prepare runs on a template request (the model and
 * the request defaults, with an empty message, input or prompt), so the URL, the headers and
 * the shaped arguments (a gateway's model-id prefix, a max_tokens its API requires) are exactly
 * what a library call would send. The template's placeholders are then taken out of the body,
 * and what is left is the arguments object.
 */
#include "net/transport.h"
#include "gateway/gateway.h"
#include "text/json.h"
#include "api/handle.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <heavenbase/export.h>
#include <glib.h>
#include <string.h>

struct hvb_export {
  hvb_client *client; /* reference: the CURLSH must outlive the easy handle */
  CURL *easy;
  struct curl_slist *headers;
  char *url;
  json_object *args;
};

/* The kinds, each with the capability a gateway declares to be exported in it. The core
 * keeps no list of gateways: a gateway whose requests a raw export would get wrong (a proxy
 * that rewrites requests per deployment) simply declares no kind. */
static const struct {
  hvb_export_kind kind;
  uint32_t cap;
  const char *name;
} kinds[] = {{HVB_EXPORT_OPENAI, HVB_GATEWAY_CAP_EXPORT_OPENAI, "the OpenAI kind"},
             {HVB_EXPORT_NATIVE, HVB_GATEWAY_CAP_EXPORT_NATIVE, "the native kind"}};

/* "the OpenAI kind and the native kind": the kinds `caps` declares. */
static char *declared_kinds(uint32_t caps) {
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
    if (!(caps & kinds[i].cap)) continue;
    if (s->len) g_string_append(s, " and ");
    g_string_append(s, kinds[i].name);
  }
  return g_string_free(s, FALSE);
}

static bool check_gateway(const hvb_gateway_record *gw, hvb_export_kind kind, hvb_error *err) {
  size_t k = 0;
  while (k < G_N_ELEMENTS(kinds) && kinds[k].kind != kind) k++;
  if (k == G_N_ELEMENTS(kinds))
    return hvb__fail(err, HVB_EINVAL,
                     "unknown export kind %d (HVB_EXPORT_OPENAI or HVB_EXPORT_NATIVE)", (int)kind);
  if (gw->ops.caps & HVB_GATEWAY_CAP_OFFLINE)
    return hvb__fail(err, HVB_EINVAL,
                     "gateway '%s' answers offline: it has no HTTP request to export", gw->name);
  if (gw->ops.caps & kinds[k].cap) return true;
  char *declared = declared_kinds(gw->ops.caps);
  if (*declared)
    hvb__fail(err, HVB_EINVAL, "gateway '%s' cannot be exported as %s (it declares %s)",
              gw->name, kinds[k].name, declared);
  else
    hvb__fail(err, HVB_EINVAL, "gateway '%s' cannot be exported: it declares no export kind",
              gw->name);
  g_free(declared);
  return false;
}

/* The template request of `op`: the model, the request defaults and a placeholder. */
static json_object *template_request(const hvb_spec *spec, hvb_gateway_op op) {
  json_object *req = json_object_new_object();
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  if (op == HVB_GATEWAY_OP_CHAT) hvb__json_merge(req, hvb_spec_args(spec));
  json_object_object_add(req, "model", json_object_new_string(hvb_spec_model_id(spec)));
  if (op == HVB_GATEWAY_OP_CHAT) {
    json_object *m = json_object_new_object();
    json_object_object_add(m, "role", json_object_new_string("user"));
    json_object_object_add(m, "content", json_object_new_string("placeholder"));
    json_object *msgs = json_object_new_array();
    json_object_array_add(msgs, m);
    json_object_object_add(req, "messages", msgs);
    json_object_object_add(req, "stream", json_object_new_boolean(0));
  } else if (op == HVB_GATEWAY_OP_EMBED) {
    json_object *in = json_object_new_array();
    json_object_array_add(in, json_object_new_string(""));
    json_object_object_add(req, "input", in);
  } else {
    json_object_object_add(req, "prompt", json_object_new_string(""));
  }
  return req;
}

/* The placeholders and transport fields, which the caller's body supplies. */
static const char *const placeholder_fields[] = {"messages", "input", "prompt", "stream",
                                                 "stream_options", NULL};

HVB_PUBLIC hvb_export *hvb_llm_export(hvb_llm *llm, hvb_gateway_op op, hvb_export_kind kind,
                                      hvb_error *err) {
  if (!llm) {
    hvb__fail(err, HVB_EINVAL, "llm is NULL");
    return NULL;
  }
  const hvb_gateway_record *gw = hvb__llm_gateway(llm);
  if (!check_gateway(gw, kind, err) || !hvb_llm_supports(llm, op, err)) return NULL;
  if (!gw->ops.prepare) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' has no prepare operation", gw->name);
    return NULL;
  }
  const hvb_spec *spec = hvb_llm_spec(llm);
  json_object *tmpl = template_request(spec, op);
  hvb_wire_request *wire = hvb__wire_request_new();
  bool ok = gw->ops.prepare(spec, op, tmpl, wire, err);
  json_object_put(tmpl);
  json_object *args = NULL;
  if (ok) {
    size_t len = 0;
    const char *body = hvb__wire_request_body(wire, &len);
    args = body ? hvb__json_parse(body, (long)len, "prepared request", err) : NULL;
    ok = json_object_is_type(args, json_type_object);
    if (!ok && body && args) hvb__fail(err, HVB_GATEWAY, "gateway '%s' prepared a non-object body",
                                       gw->name);
    if (!body) ok = hvb__fail(err, HVB_GATEWAY, "gateway '%s' prepared no body", gw->name);
  }
  if (!ok) {
    json_object_put(args);
    hvb__wire_request_free(wire);
    return NULL;
  }
  for (const char *const *f = placeholder_fields; *f; f++) json_object_object_del(args, *f);

  hvb_export *x = g_new0(hvb_export, 1);
  x->args = args;
  x->url = g_strdup(hvb_wire_request_url(wire));
  for (const char *const *h = hvb__wire_request_headers(wire); h && *h; h++)
    x->headers = curl_slist_append(x->headers, *h);
  /* libcurl would wait for "100 Continue" before a large body. */
  x->headers = curl_slist_append(x->headers, "Expect:");
  hvb__wire_request_free(wire);

  x->client = hvb__client_get(hvb_spec_client_key(spec));
  x->easy = curl_easy_init();
  CURLSH *share = hvb__client_share(x->client);
  ok = x->easy != NULL;
#define SET(opt, val) ok = ok && curl_easy_setopt(x->easy, opt, val) == CURLE_OK
  if (share) SET(CURLOPT_SHARE, share);
  SET(CURLOPT_URL, x->url);
  SET(CURLOPT_HTTPHEADER, x->headers);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_POSTFIELDS, ""); /* a POST; the caller's POSTFIELDS replace the empty body */
  SET(CURLOPT_CONNECTTIMEOUT_MS, hvb_spec_connect_timeout_ms(spec));
  SET(CURLOPT_TIMEOUT_MS, hvb_spec_timeout_ms(spec));
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
#undef SET
  if (!ok) {
    hvb__fail(err, HVB_TRANSPORT, "libcurl could not configure an easy handle for %s", x->url);
    hvb_export_free(x);
    return NULL;
  }
  hvb__log(HVB_LOG_DEBUG, "export: %s %s via gateway %s", hvb__gateway_op_phrase(op), x->url,
           gw->name);
  return x;
}

HVB_PUBLIC CURL *hvb_export_easy(hvb_export *x) { return x ? x->easy : NULL; }
HVB_PUBLIC json_object *hvb_export_args(const hvb_export *x) { return x ? x->args : NULL; }
HVB_PUBLIC const char *hvb_export_url(const hvb_export *x) { return x ? x->url : NULL; }
HVB_PUBLIC const struct curl_slist *hvb_export_headers(const hvb_export *x) {
  return x ? x->headers : NULL;
}

HVB_PUBLIC void hvb_export_free(hvb_export *x) {
  if (!x) return;
  /* The easy handle first: the share refuses to go while a handle still uses it. */
  if (x->easy) curl_easy_cleanup(x->easy);
  hvb__client_unref(x->client);
  curl_slist_free_all(x->headers);
  g_free(x->url);
  json_object_put(x->args);
  g_free(x);
}
