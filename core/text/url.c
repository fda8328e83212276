/* core/text/url.c: joining a base URL and a path (see url.h). */
#include "text/url.h"

#include <glib.h>
#include <string.h>

char *hvb__url_join(const char *base, const char *path) {
  if (!base) base = "";
  if (!path) path = "";
  /* The query starts at the first '?' or '#' after the authority's "://" (a '?' cannot
   * appear in a scheme or host). */
  const char *scheme = strstr(base, "://");
  const char *from = scheme ? scheme + 3 : base;
  size_t head = (size_t)(from - base) + strcspn(from, "?#");
  GString *url = g_string_new_len(base, (gssize)head);
  if (url->len && url->str[url->len - 1] == '/' && path[0] == '/') path++;
  g_string_append(url, path);
  g_string_append(url, base + head);
  return g_string_free(url, FALSE);
}
