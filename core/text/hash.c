/* core/text/hash.c: SHA-256 over canonical JSON (GLib's GChecksum). */
#include "text/hash.h"
#include "text/json.h"

#include <glib.h>
#include <string.h>

char *hvb__hash_json(json_object *obj) {
  char *text = hvb__json_canonical(obj);
  char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, (gssize)strlen(text));
  g_free(text);
  return hex;
}

char *hvb__hash_text(const char *text, size_t len) {
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)text, len);
}
