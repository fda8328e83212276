/* core/text/suggest.c: "did you mean" for unknown names (Levenshtein distance). */
#include "text/suggest.h"

#include <glib.h>
#include <string.h>

static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t *row = g_new(size_t, lb + 1);
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
      size_t best = diag + cost;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  size_t d = row[lb];
  g_free(row);
  return d;
}

const char *hvb__suggest(const char *name, json_object *candidates) {
  if (!name || !json_object_is_type(candidates, json_type_object)) return NULL;
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  json_object_object_foreach(candidates, key, val) {
    (void)val;
    size_t d = distance(name, key);
    /* Ties go to the alphabetically first name so that the suggestion is stable. */
    if (d < best_d || (d == best_d && best && strcmp(key, best) < 0)) {
      best_d = d;
      best = key;
    }
  }
  size_t limit = strlen(name) / 3;
  if (limit < 2) limit = 2;
  return best && best_d <= limit ? best : NULL;
}
