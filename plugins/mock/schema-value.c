/* plugins/mock/schema-value.c: the mock's answer to a structured call, a value made from the
 * JSON Schema that satisfies it (see mock-schema.h for the rules). Deterministic: the same
 * schema always gives the same value. */
#include "mock-schema.h"

#include <glib.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 6 /* past it, recursive schemas get their smallest value */

static json_object *member(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
    return NULL;
  return v;
}

static size_t alen(json_object *v) {
  return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

static json_object *copy(json_object *v) {
  json_object *out = NULL;
  json_object_deep_copy(v, &out, NULL);
  return out;
}

/* "#/$defs/a/b" in root (JSON pointer, ~0 and ~1 unescaped); NULL when not found. */
static json_object *resolve_ref(json_object *root, const char *ref) {
  if (!ref || ref[0] != '#') return NULL;
  json_object *cur = root;
  char **parts = g_strsplit(ref + 1, "/", -1);
  for (char **p = parts; *p && cur; p++) {
    if (!**p) continue;
    GString *key = g_string_new(NULL);
    for (const char *c = *p; *c; c++) {
      if (c[0] == '~' && c[1] == '1') g_string_append_c(key, '/'), c++;
      else if (c[0] == '~' && c[1] == '0') g_string_append_c(key, '~'), c++;
      else g_string_append_c(key, *c);
    }
    cur = member(cur, key->str);
    g_string_free(key, TRUE);
  }
  g_strfreev(parts);
  return cur;
}

/* ---- strings ---- */

static const char *format_example(const char *format) {
  static const char *const examples[][2] = {
      {"date-time", "2024-01-01T00:00:00Z"}, {"date", "2024-01-01"}, {"time", "12:00:00Z"},
      {"email", "ada@example.com"}, {"uri", "https://example.com/"},
      {"uuid", "123e4567-e89b-42d3-a456-426614174000"}, {"ipv4", "192.0.2.1"},
      {"ipv6", "2001:db8::1"}, {"hostname", "example.com"}, {"duration", "P1D"}};
  for (size_t i = 0; format && i < G_N_ELEMENTS(examples); i++)
    if (!strcmp(examples[i][0], format)) return examples[i][1];
  return NULL;
}

/* One character a class or escape allows: the first of it. */
static const char *class_char(const char *p, char *out) {
  if (*p == '\\') {
    char e = p[1];
    *out = e == 'd' ? '0' : e == 'w' ? 'a' : e == 's' ? ' ' : e;
    return p + 2;
  }
  if (*p == '[') {
    p++;
    if (*p == '^') {
      *out = '\0'; /* negated classes are not generated */
      return NULL;
    }
    *out = *p == '\\' ? (p[1] == 'd' ? '0' : p[1] == 'w' ? 'a' : p[1]) : *p;
    const char *end = strchr(p + 1, ']');
    return end ? end + 1 : NULL;
  }
  *out = *p == '.' ? 'a' : *p;
  return p + 1;
}

/* A string for a simple pattern (atoms with quantifiers, anchored or not); NULL for anything
 * with groups or alternation. The caller checks the result against the pattern. */
static char *from_pattern(const char *pat) {
  if (strpbrk(pat, "()|")) return NULL;
  GString *out = g_string_new(NULL);
  const char *p = pat;
  if (*p == '^') p++;
  while (p && *p && !(p[0] == '$' && !p[1])) {
    char c = 0;
    p = class_char(p, &c);
    if (!p || !c) break;
    long n = 1;
    if (*p == '{') {
      n = strtol(p + 1, NULL, 10);
      p = strchr(p, '}');
      if (p) p++;
    } else if (*p == '*' || *p == '?') {
      n = 0, p++;
    } else if (*p == '+') {
      p++;
    }
    for (long i = 0; i < n && i < 1000; i++) g_string_append_c(out, c);
  }
  if (!p || (*p && strcmp(p, "$"))) {
    g_string_free(out, TRUE);
    return NULL;
  }
  return g_string_free(out, FALSE);
}

static bool matches(const char *pattern, const char *s) {
  GRegex *re = g_regex_new(pattern, 0, 0, NULL);
  bool ok = re && g_regex_match(re, s, 0, NULL);
  if (re) g_regex_unref(re);
  return ok;
}

static json_object *string_value(json_object *schema, const char *hint) {
  const char *pattern = json_object_get_string(member(schema, "pattern"));
  if (pattern && json_object_is_type(member(schema, "pattern"), json_type_string)) {
    char *s = from_pattern(pattern);
    if (s && matches(pattern, s)) {
      json_object *v = json_object_new_string(s);
      g_free(s);
      return v;
    }
    g_free(s);
  }
  const char *ex = format_example(json_object_get_string(member(schema, "format")));
  GString *s = g_string_new(ex ? ex : hint && *hint ? hint : "mock");
  /* Lengths count characters; the filler is ASCII. */
  int64_t min = json_object_get_int64(member(schema, "minLength"));
  json_object *maxv = member(schema, "maxLength");
  while ((int64_t)g_utf8_strlen(s->str, -1) < min) g_string_append_c(s, 'x');
  if (maxv) {
    int64_t max = json_object_get_int64(maxv);
    if (max >= 0 && (int64_t)g_utf8_strlen(s->str, -1) > max)
      g_string_truncate(s, (gsize)(g_utf8_offset_to_pointer(s->str, max) - s->str));
  }
  json_object *v = json_object_new_string(s->str);
  g_string_free(s, TRUE);
  return v;
}

/* ---- numbers ---- */

static json_object *number_value(json_object *schema, bool integer) {
  json_object *mn = member(schema, "minimum"), *mx = member(schema, "maximum");
  json_object *xmn = member(schema, "exclusiveMinimum"), *xmx = member(schema, "exclusiveMaximum");
  double lo = -INFINITY, hi = INFINITY;
  if (mn) lo = json_object_get_double(mn);
  if (xmn) lo = fmax(lo, json_object_get_double(xmn) + (integer ? 1 : 0.5));
  if (mx) hi = json_object_get_double(mx);
  if (xmx) hi = fmin(hi, json_object_get_double(xmx) - (integer ? 1 : 0.5));
  double v = 1;
  if (v < lo) v = lo;
  if (v > hi) v = isfinite(lo) ? (lo + hi) / 2 : hi;
  double m = json_object_get_double(member(schema, "multipleOf"));
  if (m > 0) v = ceil(v / m) * m;
  if (integer) return json_object_new_int64((int64_t)ceil(v));
  return json_object_new_double(v);
}

/* ---- the value ---- */

static json_object *value_of(json_object *schema, json_object *root, const char *hint, int depth);

static json_object *object_value(json_object *schema, json_object *root, int depth) {
  json_object *out = json_object_new_object();
  json_object *props = member(schema, "properties"), *required = member(schema, "required");
  json_object_object_foreach(props, key, sub) {
    bool needed = depth < MAX_DEPTH;
    for (size_t i = 0; !needed && i < alen(required); i++)
      needed = !strcmp(json_object_get_string(json_object_array_get_idx(required, i)), key);
    if (needed) json_object_object_add(out, key, value_of(sub, root, key, depth + 1));
  }
  return out;
}

static json_object *array_value(json_object *schema, json_object *root, const char *hint,
                                int depth) {
  json_object *out = json_object_new_array();
  json_object *prefix = member(schema, "prefixItems"), *items = member(schema, "items");
  for (size_t i = 0; i < alen(prefix); i++)
    json_object_array_add(out, value_of(json_object_array_get_idx(prefix, i), root, hint, depth + 1));
  int64_t min = json_object_get_int64(member(schema, "minItems"));
  json_object *maxv = member(schema, "maxItems");
  int64_t want = min > 1 ? min : (depth < MAX_DEPTH ? 1 : 0);
  if (maxv && json_object_get_int64(maxv) < want) want = json_object_get_int64(maxv);
  if (json_object_is_type(items, json_type_boolean) && !json_object_get_boolean(items)) want = 0;
  for (int64_t i = (int64_t)alen(out); i < want; i++)
    json_object_array_add(out, value_of(items, root, hint, depth + 1));
  return out;
}

/* The type to make: the first listed (past the depth limit, "null" when it is allowed). */
static const char *type_of(json_object *schema, int depth) {
  json_object *t = member(schema, "type");
  if (json_object_is_type(t, json_type_string)) return json_object_get_string(t);
  if (!json_object_is_type(t, json_type_array)) {
    if (member(schema, "properties")) return "object";
    if (member(schema, "items") || member(schema, "prefixItems")) return "array";
    return NULL;
  }
  const char *first = NULL;
  for (size_t i = 0; i < alen(t); i++) {
    const char *name = json_object_get_string(json_object_array_get_idx(t, i));
    if (depth >= MAX_DEPTH && name && !strcmp(name, "null")) return name;
    if (!first && name && strcmp(name, "null")) first = name;
  }
  return first ? first : "null";
}

/* The branch of anyOf/oneOf to follow: the first, or past the depth limit one without $ref. */
static json_object *branch_of(json_object *list, int depth) {
  size_t n = alen(list);
  for (size_t i = 0; depth >= MAX_DEPTH && i < n; i++)
    if (!member(json_object_array_get_idx(list, i), "$ref")) return json_object_array_get_idx(list, i);
  return n ? json_object_array_get_idx(list, 0) : NULL;
}

static json_object *value_of(json_object *schema, json_object *root, const char *hint, int depth) {
  if (depth > 2 * MAX_DEPTH) return NULL;
  json_object *v;
  if ((v = member(schema, "const"))) return copy(v);
  if ((v = member(schema, "enum")) && alen(v))
    return copy(json_object_array_get_idx(v, 0));
  if ((v = member(schema, "$ref")))
    return value_of(resolve_ref(root, json_object_get_string(v)), root, hint, depth + 1);
  if ((v = member(schema, "anyOf")) || (v = member(schema, "oneOf")))
    return value_of(branch_of(v, depth), root, hint, depth + 1);
  if ((v = member(schema, "allOf")) && alen(v))
    return value_of(json_object_array_get_idx(v, 0), root, hint, depth + 1);
  const char *type = type_of(schema, depth);
  if (!type) return json_object_new_string(hint && *hint ? hint : "mock");
  if (!strcmp(type, "object")) return object_value(schema, root, depth);
  if (!strcmp(type, "array")) return array_value(schema, root, hint, depth);
  if (!strcmp(type, "string")) return string_value(schema, hint);
  if (!strcmp(type, "integer")) return number_value(schema, true);
  if (!strcmp(type, "number")) return number_value(schema, false);
  if (!strcmp(type, "boolean")) return json_object_new_boolean(1);
  return NULL;
}

json_object *mock_schema_value(json_object *schema) {
  return value_of(schema, schema, NULL, 0);
}
