/* core/gateway/wire.c: the parts of the gateway ABI a plugin calls into: wire requests, errors and
 * operation names. Every HVB_PUBLIC function here is declared in <heavenbase/gateway.h> and is
 * part of ABI 1.x: its behaviour may grow, never change.
 */
#include "gateway/gateway.h"
#include "base/common.h"
#include "base/error.h"
#include "text/json-write.h"
#include "text/url.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

struct hvb_wire_request {
  char *url;
  GPtrArray *headers; /* "Name: value" lines, NULL-terminated (the last element is NULL) */
  char *body;
  size_t body_len;
  GArray *parts; /* hvb_http_part, every string and datum owned; NULL until a part is added */
};

hvb_wire_request *hvb__wire_request_new(void) {
  hvb_wire_request *wr = g_new0(hvb_wire_request, 1);
  wr->url = g_strdup("");
  wr->headers = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(wr->headers, NULL);
  return wr;
}

void hvb__wire_request_free(hvb_wire_request *wr) {
  if (!wr) return;
  g_free(wr->url);
  g_ptr_array_free(wr->headers, TRUE);
  g_free(wr->body);
  for (guint i = 0; wr->parts && i < wr->parts->len; i++) {
    hvb_http_part *p = &g_array_index(wr->parts, hvb_http_part, i);
    g_free((char *)p->name);
    g_free((char *)p->filename);
    g_free((char *)p->content_type);
    g_free((char *)p->data);
  }
  if (wr->parts) g_array_free(wr->parts, TRUE);
  g_free(wr);
}

const char *const *hvb__wire_request_headers(const hvb_wire_request *wr) {
  return (const char *const *)wr->headers->pdata;
}

const char *hvb__wire_request_body(const hvb_wire_request *wr, size_t *len) {
  if (len) *len = wr->body_len;
  return wr->body;
}

bool hvb__wire_request_add_part(hvb_wire_request *wr, const char *name, const char *filename,
                                const char *content_type, const void *data, size_t len,
                                hvb_error *err) {
  if (!wr || !name || !*name || (!data && len))
    return hvb__fail(err, HVB_EINVAL, "a form part needs a name (and data for its length)");
  /* curl_mime quotes the name and file name; a line break would still end the header. */
  if (strpbrk(name, "\r\n") || (filename && strpbrk(filename, "\r\n")) ||
      (content_type && strpbrk(content_type, "\r\n")))
    return hvb__fail(err, HVB_EINVAL, "form part '%s' has a line break in its headers", name);
  if (!wr->parts) wr->parts = g_array_new(FALSE, TRUE, sizeof(hvb_http_part));
  char *copy = g_malloc(len + 1); /* GLib 2.64: no g_memdup2 */
  if (len) memcpy(copy, data, len);
  copy[len] = '\0';
  hvb_http_part p = {g_strdup(name), g_strdup(filename), g_strdup(content_type), copy, len};
  g_array_append_val(wr->parts, p);
  return true;
}

const hvb_http_part *hvb__wire_request_parts(const hvb_wire_request *wr, size_t *n) {
  *n = wr->parts ? wr->parts->len : 0;
  return *n ? (const hvb_http_part *)(void *)wr->parts->data : NULL;
}

/* A line break in a URL or header would let a value smuggle in headers of its own (values
 * come from configuration, the environment and plugins), so it is refused everywhere. */
static bool has_line_break(const char *s) {
  return strpbrk(s, "\r\n") != NULL;
}

HVB_PUBLIC bool hvb_wire_request_set_url(hvb_wire_request *wr, const char *url, hvb_error *err) {
  if (!wr || !url) return hvb__fail(err, HVB_EINVAL, "wire request and URL must not be NULL");
  if (has_line_break(url)) return hvb__fail(err, HVB_EINVAL, "the URL contains a line break");
  g_free(wr->url);
  wr->url = g_strdup(url);
  return true;
}

HVB_PUBLIC bool hvb_wire_request_set_url_path(hvb_wire_request *wr, const char *base_url,
                                              const char *path, hvb_error *err) {
  if (!wr || !base_url || !path)
    return hvb__fail(err, HVB_EINVAL, "wire request, base URL and path must not be NULL");
  char *url = hvb__url_join(base_url, path);
  bool ok = hvb_wire_request_set_url(wr, url, err);
  g_free(url);
  return ok;
}

HVB_PUBLIC bool hvb_wire_request_add_header(hvb_wire_request *wr, const char *name,
                                            const char *value, hvb_error *err) {
  if (!wr || !name || !value)
    return hvb__fail(err, HVB_EINVAL, "wire request, header name and value must not be NULL");
  /* The name is safe to quote; the value may be a key, so it is never quoted back. */
  if (!*name || has_line_break(name) || strchr(name, ':'))
    return hvb__fail(err, HVB_EINVAL, "header name '%s' is not a valid header name",
                     has_line_break(name) ? "(with a line break)" : name);
  if (has_line_break(value))
    return hvb__fail(err, HVB_EINVAL, "the value of header '%s' contains a line break", name);
  /* Keep the NULL terminator last. */
  /* Joined by hand: a header is added to every call (traceparent), printf costs more. */
  size_t nlen = strlen(name), vlen = strlen(value);
  char *line = g_malloc(nlen + vlen + 3);
  memcpy(line, name, nlen);
  memcpy(line + nlen, ": ", 2);
  memcpy(line + nlen + 2, value, vlen + 1);
  wr->headers->pdata[wr->headers->len - 1] = line;
  g_ptr_array_add(wr->headers, NULL);
  return true;
}

HVB_PUBLIC bool hvb_wire_request_set_body(hvb_wire_request *wr, const char *body, size_t len,
                                          hvb_error *err) {
  if (!wr || (!body && len)) return hvb__fail(err, HVB_EINVAL, "wire request or body is NULL");
  g_free(wr->body);
  /* NUL-terminated as a courtesy to debuggers and logs; body_len is what is sent. */
  wr->body = g_malloc(len + 1);
  if (len) memcpy(wr->body, body, len);
  wr->body[len] = '\0';
  wr->body_len = len;
  return true;
}

HVB_PUBLIC bool hvb_wire_request_set_json(hvb_wire_request *wr, json_object *body,
                                          hvb_error *err) {
  if (!wr || !body) return hvb__fail(err, HVB_EINVAL, "wire request or JSON body is NULL");
  /* Our writer prints json-c's PLAIN | NOSLASHESCAPE text byte for byte, without json-c's
   * printbuf, straight into the body (no copy). */
  g_free(wr->body);
  wr->body = hvb__json_write(body, &wr->body_len);
  for (guint i = 0; i + 1 < wr->headers->len; i++)
    if (g_ascii_strncasecmp(wr->headers->pdata[i], "Content-Type:", 13) == 0) return true;
  return hvb_wire_request_add_header(wr, "Content-Type", "application/json", err);
}

HVB_PUBLIC const char *hvb_wire_request_url(const hvb_wire_request *wr) {
  return wr && wr->url ? wr->url : "";
}

HVB_PUBLIC bool hvb_gateway_fail(hvb_error *err, hvb_status status, const char *fmt, ...) {
  if (!err) return false;
  if (!fmt) return hvb__fail(err, status, "%s", hvb_strerror(status));
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  /* Whole, not cut to a buffer: hvb__fail redacts, folds line breaks, then cuts. */
  hvb__fail(err, status, "%s", msg ? msg : "");
  g_free(msg);
  return false;
}

HVB_PUBLIC bool hvb_gateway_fail_http(hvb_error *err, hvb_status status, int http_status,
                                      const char *type, const char *fmt, ...) {
  if (!err) return false;
  if (!fmt) return hvb__fail_http(err, status, http_status, type, "%s", hvb_strerror(status));
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  hvb__fail_http(err, status, http_status, type, "%s", msg ? msg : "");
  g_free(msg);
  return false;
}

HVB_PUBLIC const char *hvb_gateway_op_name(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return "chat";
  case HVB_GATEWAY_OP_EMBED: return "embed";
  case HVB_GATEWAY_OP_IMAGE: return "image";
  }
  return "unknown";
}

const char *hvb__gateway_op_phrase(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return "chat";
  case HVB_GATEWAY_OP_EMBED: return "embeddings";
  case HVB_GATEWAY_OP_IMAGE: return "image generation";
  }
  return "an unknown operation";
}

uint32_t hvb__gateway_op_cap(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return HVB_GATEWAY_CAP_CHAT;
  case HVB_GATEWAY_OP_EMBED: return HVB_GATEWAY_CAP_EMBED;
  case HVB_GATEWAY_OP_IMAGE: return HVB_GATEWAY_CAP_IMAGE;
  }
  return 0;
}
