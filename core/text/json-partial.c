/* core/text/json-partial.c: the closed prefix of an object being streamed (see
 * core/text/json-partial.h). The closing is the repair's (truncated input is closed, never
 * completed); this file only cuts the text back to where a closed prefix cannot change. */
#include "text/json-partial.h"

#include <heavenbase/repair.h>

static int is_bare(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '-' || c == '+' || c == '.';
}

/* Inside a string: where the text must end so no escape or UTF-8 character is cut. `esc` is
 * the offset of the last backslash that opened an escape still being read, or (size_t)-1. */
static size_t string_cut(const char *t, size_t len, size_t esc) {
  if (esc != (size_t)-1) return esc;
  /* A UTF-8 lead byte whose continuation bytes have not all come. */
  size_t i = len, back = 0;
  while (i > 0 && back < 4 && ((unsigned char)t[i - 1] & 0xC0) == 0x80) i--, back++;
  if (i > 0) {
    unsigned char lead = (unsigned char)t[i - 1];
    size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
    if (need > back) return i - 1;
  }
  return len;
}

#define ESC_START 5 /* after the backslash, before the escape's letter */

size_t hvb__json_partial_cut(const char *text, size_t len) {
  int in_string = 0;
  size_t esc = (size_t)-1;  /* an escape being read: where its backslash is */
  size_t esc_left = 0;      /* what of it is still to come: ESC_START, or hex digits */
  size_t bare = (size_t)-1; /* outside strings: where the current bare token started */
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if (in_string) {
      if (esc_left) {
        esc_left = esc_left == ESC_START ? (c == 'u' ? 4 : 0) : esc_left - 1;
        if (!esc_left) esc = (size_t)-1;
      } else if (c == '\\') {
        esc = i, esc_left = ESC_START;
      } else if (c == '"') {
        in_string = 0;
      }
      continue;
    }
    if (c == '"') {
      in_string = 1;
      bare = (size_t)-1;
    } else if (is_bare(c)) {
      if (bare == (size_t)-1) bare = i;
    } else {
      bare = (size_t)-1;
    }
  }
  if (in_string) return string_cut(text, len, esc);
  return bare != (size_t)-1 ? bare : len;
}

json_object *hvb__json_partial(const char *text, size_t len) {
  size_t cut = hvb__json_partial_cut(text, len);
  if (!cut) return NULL;
  hvb_repair_result *rr = hvb_repair_arguments(text, cut, NULL, NULL, NULL, 0, NULL);
  json_object *v = NULL;
  if (rr && hvb_repair_result_outcome(rr) != HVB_REPAIR_UNFIXABLE)
    v = json_object_get(hvb_repair_result_value(rr));
  hvb_repair_result_free(rr);
  return v;
}
