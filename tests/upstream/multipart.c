/* tests/upstream/multipart.c: reading a recorded multipart/form-data body (see
 * up_request_parts in upstream.h), so tests can assert the parts a client sent: their
 * names, file names, content types and sizes. Enough of RFC 7578 for what libcurl's
 * curl_mime writes (and a hand-made body): a boundary from the Content-Type (quoted or not),
 * CRLF line ends, Content-Disposition with name and filename, an optional Content-Type. */
#include "upstream.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The value of parameter `key` (name="x" or name=x) in a header value; new string or NULL. */
static char *param(const char *value, const char *key) {
  size_t klen = strlen(key);
  for (const char *p = value; (p = strchr(p, ';')) != NULL;) {
    p++;
    while (*p == ' ' || *p == '\t') p++;
    if (g_ascii_strncasecmp(p, key, klen) != 0 || p[klen] != '=') continue;
    p += klen + 1;
    if (*p == '"') {
      GString *s = g_string_new(NULL);
      for (p++; *p && *p != '"'; p++) g_string_append_c(s, *p == '\\' && p[1] ? *++p : *p);
      return g_string_free(s, FALSE);
    }
    return g_strndup(p, strcspn(p, "; \t\r\n"));
  }
  return NULL;
}

/* One part's header block (lines "Name: value\r\n") into `part`; false when it has no
 * Content-Disposition: form-data with a name. */
static bool part_headers(const char *block, up_part *part) {
  char **lines = g_strsplit(block, "\r\n", -1);
  for (char **l = lines; *l; l++) {
    char *colon = strchr(*l, ':');
    if (!colon) continue;
    char *v = g_strstrip(g_strdup(colon + 1));
    size_t n = (size_t)(colon - *l);
    if (n == 19 && !g_ascii_strncasecmp(*l, "Content-Disposition", n)) {
      part->name = param(v, "name");
      part->filename = param(v, "filename");
    } else if (n == 12 && !g_ascii_strncasecmp(*l, "Content-Type", n)) {
      part->content_type = g_strdup(v);
    }
    g_free(v);
  }
  g_strfreev(lines);
  return part->name != NULL;
}

static void part_clear(up_part *p) {
  g_free(p->name);
  g_free(p->filename);
  g_free(p->content_type);
  g_free(p->data);
}

void up_parts_free(up_part *parts, size_t n) {
  for (size_t i = 0; parts && i < n; i++) part_clear(&parts[i]);
  g_free(parts);
}

/* The parts of `body` between delimiters "--<boundary>"; NULL when it does not parse. */
static up_part *split(const char *body, size_t len, const char *boundary, size_t *n) {
  char *delim = g_strconcat("\r\n--", boundary, NULL);
  size_t dlen = strlen(delim);
  GArray *parts = g_array_new(FALSE, TRUE, sizeof(up_part));
  /* The first delimiter may start the body (no CRLF before it). */
  const char *p = len >= dlen - 2 && !memcmp(body, delim + 2, dlen - 2) ? body + dlen - 2 : NULL;
  const char *end = body + len;
  bool ok = p != NULL;
  while (ok) {
    if (end - p >= 2 && !memcmp(p, "--", 2)) break; /* the closing delimiter */
    const char *head = end - p >= 2 && !memcmp(p, "\r\n", 2) ? p + 2 : NULL;
    const char *blank = head ? g_strstr_len(head, end - head, "\r\n\r\n") : NULL;
    const char *data = blank ? blank + 4 : NULL;
    const char *next = data ? memmem(data, (size_t)(end - data), delim, dlen) : NULL;
    up_part part = {0};
    char *block = next ? g_strndup(head, (gsize)(blank - head)) : NULL;
    ok = block && part_headers(block, &part);
    g_free(block);
    if (!ok) {
      part_clear(&part);
      break;
    }
    part.len = (size_t)(next - data);
    part.data = g_malloc(part.len + 1);
    memcpy(part.data, data, part.len);
    part.data[part.len] = '\0';
    g_array_append_val(parts, part);
    p = next + dlen;
  }
  g_free(delim);
  size_t count = parts->len;
  up_part *out = (up_part *)(void *)g_array_free(parts, FALSE);
  if (ok) {
    *n = count;
    return out;
  }
  up_parts_free(out, count);
  return NULL;
}

up_part *up_request_parts(const up_request *r, size_t *n) {
  *n = 0;
  char *ctype = up_request_header(r, "Content-Type");
  char *boundary = ctype && !g_ascii_strncasecmp(ctype, "multipart/form-data", 19)
                       ? param(ctype, "boundary") : NULL;
  free(ctype);
  up_part *parts = boundary && *boundary ? split(r->body, r->body_len, boundary, n) : NULL;
  g_free(boundary);
  return parts;
}
