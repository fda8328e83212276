/* core/text/jsonschema.c: compiling a JSON Schema (text/jsonschema.h) into the node graph of
 * jsonschema-node.h. Every keyword's value is checked here, once, so that validation
 * (jsonschema-validate.c) never meets a malformed schema. */
#include <math.h>
#include <string.h>
#include "text/jsonschema-node.h"
#include "base/error.h"

/* Schemas nested deeper than this are refused: no real schema comes near it, and the compiler
 * recurses once per level. */
#define COMPILE_MAX_DEPTH 256

typedef struct compiler {
  hvb_schema *s;
  GHashTable *done; /* json_object * -> its node: each subschema compiles once, and $ref
                       cycles end on a node still being filled */
  hvb_error *err;
  int depth;
} compiler;

typedef bool (*keyword_fn)(compiler *c, hvb_schema_node *n, json_object *v, const char *at);

static hvb_schema_node *compile_node(compiler *c, json_object *js, const char *ptr);

/* "ptr/token" with ~ and / escaped as JSON Pointer wants; new string. */
static char *ptr_join(const char *ptr, const char *token) {
  GString *out = g_string_new(ptr);
  g_string_append_c(out, '/');
  for (const char *p = token; *p; p++) {
    if (*p == '~') g_string_append(out, "~0");
    else if (*p == '/') g_string_append(out, "~1");
    else g_string_append_c(out, *p);
  }
  return g_string_free(out, FALSE);
}

static bool bad(compiler *c, const char *at, const char *what) {
  size_t len = strlen(at);
  /* A pointer longer than the message has room for keeps its start and its end. */
  if (len > 240) return hvb__fail(c->err, HVB_EINVAL, "schema %.120s...%s: %s", at, at + len - 100, what);
  return hvb__fail(c->err, HVB_EINVAL, "schema %s: %s", *at ? at : "/", what);
}

static const char *type_name(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "boolean";
  case json_type_double:
  case json_type_int: return "number";
  case json_type_string: return "string";
  case json_type_array: return "array";
  case json_type_object: return "object";
  }
  return "unknown";
}

/* ---- small keyword readers ---- */

static bool read_count(compiler *c, json_object *v, const char *at, int64_t *out) {
  json_type t = json_object_get_type(v);
  double d = t == json_type_double ? json_object_get_double(v) : 0;
  if (t == json_type_int && json_object_get_int64(v) >= 0) {
    *out = json_object_get_int64(v);
    return true;
  }
  if (t == json_type_double && d >= 0 && d == floor(d) && d < 9.2e18) {
    *out = (int64_t)d;
    return true;
  }
  return bad(c, at, "must be a non-negative integer");
}

static bool read_num(compiler *c, json_object *v, const char *at, hvb_schema_num *out) {
  json_type t = json_object_get_type(v);
  if (t != json_type_int && t != json_type_double) return bad(c, at, "must be a number");
  out->set = true;
  out->is_int = t == json_type_int;
  out->i = out->is_int ? json_object_get_int64(v) : 0;
  out->d = json_object_get_double(v);
  return true;
}

static unsigned type_bit(const char *name) {
  static const struct { const char *name; unsigned bit; } types[] = {
    {"null", HVB_ST_NULL},     {"boolean", HVB_ST_BOOLEAN}, {"object", HVB_ST_OBJECT},
    {"array", HVB_ST_ARRAY},   {"number", HVB_ST_NUMBER},   {"string", HVB_ST_STRING},
    {"integer", HVB_ST_INTEGER}};
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
    if (strcmp(types[i].name, name) == 0) return types[i].bit;
  return 0;
}

static bool read_list(compiler *c, json_object *v, const char *at, bool nonempty,
                      hvb_schema_list *out) {
  if (!json_object_is_type(v, json_type_array) || (nonempty && !json_object_array_length(v)))
    return bad(c, at, nonempty ? "must be a non-empty array of schemas" : "must be an array of schemas");
  out->n = json_object_array_length(v);
  out->v = g_new0(hvb_schema_node *, out->n ? out->n : 1);
  for (size_t i = 0; i < out->n; i++) {
    char idx[24];
    g_snprintf(idx, sizeof idx, "%zu", i);
    char *p = ptr_join(at, idx);
    out->v[i] = compile_node(c, json_object_array_get_idx(v, i), p);
    g_free(p);
    if (!out->v[i]) return false;
  }
  return true;
}

/* An ECMA-262 pattern (what JSON Schema specifies, and ajv runs) spelled for GLib's PCRE:
 * \d and \w are ASCII in JavaScript but Unicode in GLib (which turns PCRE's UCP on), so they
 * become explicit classes; \uXXXX and \u{X...}, which PCRE lacks, become \x{...}. New string. */
static char *ecma_to_pcre(const char *src) {
  GString *out = g_string_new(NULL);
  bool in_class = false;
  for (const char *p = src; *p; p++) {
    if (*p != '\\' || !p[1]) {
      if (*p == '[') in_class = true;
      else if (*p == ']') in_class = false;
      g_string_append_c(out, *p);
      continue;
    }
    char e = *++p;
    size_t hex = 0;
    if (e == 'd') g_string_append(out, in_class ? "0-9" : "[0-9]");
    else if (e == 'w') g_string_append(out, in_class ? "A-Za-z0-9_" : "[A-Za-z0-9_]");
    else if (e == 'D' && !in_class) g_string_append(out, "[^0-9]");
    else if (e == 'W' && !in_class) g_string_append(out, "[^A-Za-z0-9_]");
    else if (e == 'u' && p[1] == '{' && (hex = strspn(p + 2, "0123456789abcdefABCDEF")) && p[2 + hex] == '}') {
      g_string_append_printf(out, "\\x{%.*s}", (int)hex, p + 2);
      p += hex + 2;
    } else if (e == 'u' && strspn(p + 1, "0123456789abcdefABCDEF") >= 4) {
      g_string_append_printf(out, "\\x{%.4s}", p + 1);
      p += 4;
    } else {
      g_string_append_c(out, '\\');
      g_string_append_c(out, e);
    }
  }
  return g_string_free(out, FALSE);
}

static GRegex *read_regex(compiler *c, const char *src, const char *at) {
  GError *gerr = NULL;
  char *pcre = ecma_to_pcre(src);
  /* DOLLAR_ENDONLY and NEWLINE_ANYCRLF: $ and . as ECMA-262 has them (docs/jsonschema.md). */
  GRegex *re = g_regex_new(pcre, G_REGEX_DOLLAR_ENDONLY | G_REGEX_NEWLINE_ANYCRLF, 0, &gerr);
  g_free(pcre);
  if (!re) {
    char *msg = g_strdup_printf("invalid regular expression \"%s\": %s", src, gerr->message);
    g_error_free(gerr);
    bad(c, at, msg);
    g_free(msg);
  }
  return re;
}

/* ---- keywords ---- */

static bool kw_type(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (json_object_is_type(v, json_type_string)) {
    n->types = type_bit(json_object_get_string(v));
    if (!n->types) {
      char *msg = g_strdup_printf("unknown type \"%s\"", json_object_get_string(v));
      bad(c, at, msg);
      g_free(msg);
      return false;
    }
    return true;
  }
  if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v))
    return bad(c, at, "must be a type name or a non-empty array of type names");
  for (size_t i = 0; i < json_object_array_length(v); i++) {
    json_object *t = json_object_array_get_idx(v, i);
    unsigned bit = json_object_is_type(t, json_type_string) ? type_bit(json_object_get_string(t)) : 0;
    if (!bit) return bad(c, at, "unknown type name in the array");
    if (n->types & bit) return bad(c, at, "a type appears twice");
    n->types |= bit;
  }
  return true;
}

static bool kw_enum(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_array)) return bad(c, at, "must be an array");
  n->enum_values = v;
  return true;
}

static bool kw_const(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  (void)c, (void)at;
  n->const_value = v;
  n->has_const = true;
  return true;
}

#define NUM_KEYWORD(fn, field)                                                                  \
  static bool fn(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {            \
    return read_num(c, v, at, &n->field);                                                       \
  }
NUM_KEYWORD(kw_minimum, minimum)
NUM_KEYWORD(kw_maximum, maximum)
NUM_KEYWORD(kw_exclusive_minimum, exclusive_minimum)
NUM_KEYWORD(kw_exclusive_maximum, exclusive_maximum)

static bool kw_multiple_of(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!read_num(c, v, at, &n->multiple_of)) return false;
  if (!(n->multiple_of.d > 0)) return bad(c, at, "must be greater than 0");
  return true;
}

#define COUNT_KEYWORD(fn, field)                                                                \
  static bool fn(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {            \
    return read_count(c, v, at, &n->field);                                                     \
  }
COUNT_KEYWORD(kw_min_length, min_length)
COUNT_KEYWORD(kw_max_length, max_length)
COUNT_KEYWORD(kw_min_items, min_items)
COUNT_KEYWORD(kw_max_items, max_items)
COUNT_KEYWORD(kw_min_contains, min_contains)
COUNT_KEYWORD(kw_max_contains, max_contains)
COUNT_KEYWORD(kw_min_props, min_props)
COUNT_KEYWORD(kw_max_props, max_props)

static bool kw_pattern(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_string)) return bad(c, at, "must be a string");
  n->pattern_source = json_object_get_string(v);
  n->pattern = read_regex(c, n->pattern_source, at);
  return n->pattern != NULL;
}

static bool kw_format(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_string)) return bad(c, at, "must be a string");
  n->format_name = json_object_get_string(v);
  n->format = hvb__schema_format_lookup(n->format_name);
  if (n->format == HVB_FMT_NONE) {
    char *msg = g_strdup_printf("unknown format \"%s\"", n->format_name);
    bad(c, at, msg);
    g_free(msg);
    return false;
  }
  n->format_re = hvb__schema_format_regex(n->format);
  return true;
}

static bool kw_unique(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_boolean)) return bad(c, at, "must be a boolean");
  n->unique_items = json_object_get_boolean(v);
  return true;
}

#define SUB_KEYWORD(fn, field)                                                                  \
  static bool fn(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {            \
    return (n->field = compile_node(c, v, at)) != NULL;                                         \
  }
SUB_KEYWORD(kw_items, items)
SUB_KEYWORD(kw_contains, contains)
SUB_KEYWORD(kw_additional, additional)
SUB_KEYWORD(kw_property_names, property_names)
SUB_KEYWORD(kw_not, not_)
SUB_KEYWORD(kw_if, if_)
SUB_KEYWORD(kw_then, then_)
SUB_KEYWORD(kw_else, else_)

#define LIST_KEYWORD(fn, field, nonempty)                                                       \
  static bool fn(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {            \
    return read_list(c, v, at, nonempty, &n->field);                                            \
  }
LIST_KEYWORD(kw_all_of, all_of, true)
LIST_KEYWORD(kw_any_of, any_of, true)
LIST_KEYWORD(kw_one_of, one_of, true)
LIST_KEYWORD(kw_prefix_items, prefix_items, true)

static bool read_props(compiler *c, json_object *v, const char *at, bool patterns,
                       hvb_schema_prop **out, size_t *n_out) {
  if (!json_object_is_type(v, json_type_object)) return bad(c, at, "must be an object of schemas");
  *out = g_new0(hvb_schema_prop, json_object_object_length(v) + 1);
  json_object_object_foreach(v, key, sub) {
    hvb_schema_prop *p = &(*out)[(*n_out)++];
    char *kat = ptr_join(at, key);
    p->name = key;
    if (patterns) p->pattern = read_regex(c, key, kat);
    p->node = (!patterns || p->pattern) ? compile_node(c, sub, kat) : NULL;
    g_free(kat);
    if (!p->node) return false;
  }
  return true;
}

static bool kw_properties(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  return read_props(c, v, at, false, &n->props, &n->n_props);
}

static bool kw_pattern_props(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  return read_props(c, v, at, true, &n->pattern_props, &n->n_pattern_props);
}

static bool kw_required(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_array)) return bad(c, at, "must be an array of strings");
  size_t len = json_object_array_length(v);
  n->required = g_new0(const char *, len + 1);
  for (size_t i = 0; i < len; i++) {
    json_object *name = json_object_array_get_idx(v, i);
    if (!json_object_is_type(name, json_type_string)) return bad(c, at, "must be an array of strings");
    n->required[n->n_required++] = json_object_get_string(name);
  }
  return true;
}

static bool kw_dependent_required(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_object)) return bad(c, at, "must be an object of arrays");
  n->dependent_required = g_hash_table_new(g_str_hash, g_str_equal);
  json_object_object_foreach(v, key, names) {
    if (!json_object_is_type(names, json_type_array)) return bad(c, at, "must be an object of arrays");
    for (size_t i = 0; i < json_object_array_length(names); i++)
      if (!json_object_is_type(json_object_array_get_idx(names, i), json_type_string))
        return bad(c, at, "must be an object of arrays of strings");
    g_hash_table_insert(n->dependent_required, key, names);
  }
  return true;
}

/* The value at a "#..." reference: a JSON pointer into the document, percent-decoded as a URI
 * fragment. NULL when it does not resolve. */
static json_object *resolve(json_object *doc, const char *ref) {
  char *frag = g_uri_unescape_string(ref + 1, NULL);
  if (!frag) return NULL;
  json_object *at = doc;
  char **tokens = *frag ? g_strsplit(frag + 1, "/", -1) : g_new0(char *, 1);
  bool ok = *frag == '\0' || *frag == '/';
  for (char **t = tokens; ok && *t; t++) {
    GString *tok = g_string_new(NULL);
    for (const char *p = *t; *p; p++) {
      if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) g_string_append_c(tok, *++p == '0' ? '~' : '/');
      else g_string_append_c(tok, *p);
    }
    if (json_object_is_type(at, json_type_object)) {
      ok = json_object_object_get_ex(at, tok->str, &at);
    } else if (json_object_is_type(at, json_type_array)) {
      char *end;
      unsigned long long i = g_ascii_strtoull(tok->str, &end, 10);
      ok = tok->len && !*end && g_ascii_isdigit(tok->str[0]) && i < json_object_array_length(at);
      if (ok) at = json_object_array_get_idx(at, (size_t)i);
    } else {
      ok = false;
    }
    g_string_free(tok, TRUE);
  }
  g_strfreev(tokens);
  g_free(frag);
  return ok ? at : NULL;
}

static bool kw_ref(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  if (!json_object_is_type(v, json_type_string)) return bad(c, at, "must be a string");
  const char *ref = json_object_get_string(v);
  char *msg = NULL;
  if (ref[0] != '#') {
    msg = g_strdup_printf("\"%s\": only references within the schema (\"#/...\") are "
                          "supported, not remote ones", ref);
  } else if (ref[1] != '\0' && ref[1] != '/') {
    msg = g_strdup_printf("\"%s\": anchors are not supported, only JSON pointers (\"#/...\")", ref);
  } else {
    json_object *target = resolve(c->s->doc, ref);
    if (target) {
      /* The target's pointer names it in later errors: the fragment, which is one. */
      char *tptr = g_uri_unescape_string(ref + 1, NULL);
      n->ref = compile_node(c, target, tptr);
      g_free(tptr);
      return n->ref != NULL;
    }
    msg = g_strdup_printf("\"%s\" does not resolve to a value in the schema", ref);
  }
  bad(c, at, msg);
  g_free(msg);
  return false;
}

/* $defs: compiled whether referenced or not, so that a malformed definition is an error. */
static bool kw_defs(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  (void)n;
  if (!json_object_is_type(v, json_type_object)) return bad(c, at, "must be an object of schemas");
  json_object_object_foreach(v, key, sub) {
    char *kat = ptr_join(at, key);
    bool ok = compile_node(c, sub, kat) != NULL;
    g_free(kat);
    if (!ok) return false;
  }
  return true;
}

static bool kw_id(compiler *c, hvb_schema_node *n, json_object *v, const char *at) {
  (void)n, (void)v;
  /* A nested $id starts a resource of its own, against which "#/..." would resolve: refused
   * rather than resolved against the wrong document. The root's is harmless. */
  if (c->depth > 1) return bad(c, at, "$id is supported on the root schema only");
  return true;
}

static const struct keyword {
  const char *name;
  keyword_fn fn; /* NULL: a keyword we refuse (ignoring it would accept wrong values) */
} keywords[] = {
  {"type", kw_type}, {"enum", kw_enum}, {"const", kw_const},
  {"minimum", kw_minimum}, {"maximum", kw_maximum},
  {"exclusiveMinimum", kw_exclusive_minimum}, {"exclusiveMaximum", kw_exclusive_maximum},
  {"multipleOf", kw_multiple_of},
  {"minLength", kw_min_length}, {"maxLength", kw_max_length}, {"pattern", kw_pattern},
  {"format", kw_format},
  {"items", kw_items}, {"prefixItems", kw_prefix_items}, {"contains", kw_contains},
  {"minItems", kw_min_items}, {"maxItems", kw_max_items}, {"uniqueItems", kw_unique},
  {"minContains", kw_min_contains}, {"maxContains", kw_max_contains},
  {"properties", kw_properties}, {"patternProperties", kw_pattern_props},
  {"additionalProperties", kw_additional}, {"propertyNames", kw_property_names},
  {"required", kw_required}, {"dependentRequired", kw_dependent_required},
  {"minProperties", kw_min_props}, {"maxProperties", kw_max_props},
  {"allOf", kw_all_of}, {"anyOf", kw_any_of}, {"oneOf", kw_one_of}, {"not", kw_not},
  {"if", kw_if}, {"then", kw_then}, {"else", kw_else},
  {"$ref", kw_ref}, {"$defs", kw_defs}, {"definitions", kw_defs}, {"$id", kw_id},
  {"$dynamicRef", NULL}, {"$dynamicAnchor", NULL}, {"$recursiveRef", NULL},
  {"$recursiveAnchor", NULL}, {"unevaluatedProperties", NULL}, {"unevaluatedItems", NULL},
  {"dependentSchemas", NULL}, {"dependencies", NULL}, {"additionalItems", NULL},
};

static bool compile_keyword(compiler *c, hvb_schema_node *n, const char *key, json_object *v,
                            const char *ptr) {
  for (size_t i = 0; i < G_N_ELEMENTS(keywords); i++) {
    if (strcmp(keywords[i].name, key) != 0) continue;
    char *at = ptr_join(ptr, key);
    bool ok = keywords[i].fn ? keywords[i].fn(c, n, v, at)
                             : bad(c, at, "keyword not supported (docs/jsonschema.md lists the subset)");
    g_free(at);
    return ok;
  }
  /* Anything else is an annotation (title, description, default, examples...) or a vendor
   * extension: JSON Schema says to ignore it, and it constrains nothing. */
  return true;
}

static hvb_schema_node *node_new(compiler *c, json_object *js, const char *ptr) {
  hvb_schema_node *n = g_new0(hvb_schema_node, 1);
  n->ptr = g_strdup(ptr);
  n->min_length = n->max_length = n->min_items = n->max_items = -1;
  n->min_contains = n->max_contains = n->min_props = n->max_props = -1;
  g_ptr_array_add(c->s->nodes, n);
  g_hash_table_insert(c->done, js, n);
  return n;
}

static hvb_schema_node *compile_node(compiler *c, json_object *js, const char *ptr) {
  hvb_schema_node *n = g_hash_table_lookup(c->done, js);
  if (n) return n;
  if (!json_object_is_type(js, json_type_object) && !json_object_is_type(js, json_type_boolean)) {
    char *msg = g_strdup_printf("a schema must be an object or a boolean, not %s", type_name(js));
    bad(c, ptr, msg);
    g_free(msg);
    return NULL;
  }
  if (c->depth >= COMPILE_MAX_DEPTH) {
    bad(c, ptr, "schema nested too deeply");
    return NULL;
  }
  n = node_new(c, js, ptr);
  if (json_object_is_type(js, json_type_boolean)) {
    n->is_bool = true;
    n->bool_value = json_object_get_boolean(js);
    return n;
  }
  c->depth++;
  bool ok = true;
  json_object_object_foreach(js, key, v) {
    if (!(ok = compile_keyword(c, n, key, v, ptr))) break;
  }
  c->depth--;
  return ok ? n : NULL;
}

/* The subschemas that apply to the same instance location as `n` (not descending into it). */
static void same_location(const hvb_schema_node *n, GPtrArray *out) {
  g_ptr_array_set_size(out, 0);
  const hvb_schema_node *one[] = {n->ref, n->not_, n->if_, n->then_, n->else_};
  for (size_t i = 0; i < G_N_ELEMENTS(one); i++)
    if (one[i]) g_ptr_array_add(out, (gpointer)one[i]);
  const hvb_schema_list *lists[] = {&n->all_of, &n->any_of, &n->one_of};
  for (size_t l = 0; l < G_N_ELEMENTS(lists); l++)
    for (size_t i = 0; i < lists[l]->n; i++) g_ptr_array_add(out, lists[l]->v[i]);
}

/* A cycle of $ref (and allOf, anyOf... ) that never descends into the instance would make
 * validation recurse forever: found here, by an iterative depth-first search (a long chain of
 * references must not overflow the stack either), and refused. */
static bool check_loops(compiler *c) {
  GHashTable *state = g_hash_table_new(NULL, NULL); /* node -> 1 on the path, 2 done */
  GPtrArray *path = g_ptr_array_new(), *edges = g_ptr_array_new();
  GArray *next = g_array_new(FALSE, FALSE, sizeof(guint));
  const hvb_schema_node *loop = NULL;
  for (guint r = 0; r < c->s->nodes->len && !loop; r++) {
    hvb_schema_node *start = g_ptr_array_index(c->s->nodes, r);
    if (g_hash_table_contains(state, start)) continue;
    g_ptr_array_add(path, start);
    guint zero = 0;
    g_array_append_val(next, zero);
    g_hash_table_insert(state, start, GINT_TO_POINTER(1));
    while (path->len && !loop) {
      hvb_schema_node *n = g_ptr_array_index(path, path->len - 1);
      guint *i = &g_array_index(next, guint, next->len - 1);
      same_location(n, edges);
      if (*i >= edges->len) {
        g_hash_table_insert(state, n, GINT_TO_POINTER(2));
        g_ptr_array_set_size(path, path->len - 1);
        g_array_set_size(next, next->len - 1);
        continue;
      }
      hvb_schema_node *to = g_ptr_array_index(edges, (*i)++);
      int st = GPOINTER_TO_INT(g_hash_table_lookup(state, to));
      if (st == 1) {
        loop = to;
      } else if (st == 0) {
        g_hash_table_insert(state, to, GINT_TO_POINTER(1));
        g_ptr_array_add(path, to);
        g_array_append_val(next, zero);
      }
    }
  }
  g_hash_table_destroy(state);
  g_ptr_array_free(path, TRUE);
  g_ptr_array_free(edges, TRUE);
  g_array_free(next, TRUE);
  return !loop || bad(c, loop->ptr, "$ref loop: the schema refers back to itself without "
                                    "descending into the instance, so no value could be validated");
}

static void node_free(gpointer p) {
  hvb_schema_node *n = p;
  g_free(n->ptr);
  g_free(n->all_of.v);
  g_free(n->any_of.v);
  g_free(n->one_of.v);
  g_free(n->prefix_items.v);
  if (n->pattern) g_regex_unref(n->pattern);
  if (n->format_re) g_regex_unref(n->format_re);
  for (size_t i = 0; i < n->n_pattern_props; i++)
    if (n->pattern_props[i].pattern) g_regex_unref(n->pattern_props[i].pattern);
  /* A pattern that failed to compile left its slot's name set and its pattern NULL. */
  g_free(n->pattern_props);
  g_free(n->props);
  g_free(n->required);
  if (n->dependent_required) g_hash_table_destroy(n->dependent_required);
  g_free(n);
}

void hvb__schema_free(hvb_schema *s) {
  if (!s) return;
  g_ptr_array_free(s->nodes, TRUE);
  json_object_put(s->doc);
  g_free(s);
}

hvb_schema *hvb__schema_compile(json_object *schema, hvb_error *err) {
  if (!schema) {
    hvb__fail(err, HVB_EINVAL, "schema /: no schema given");
    return NULL;
  }
  hvb_schema *s = g_new0(hvb_schema, 1);
  s->doc = json_object_get(schema);
  s->nodes = g_ptr_array_new_with_free_func(node_free);
  compiler c = {.s = s, .done = g_hash_table_new(NULL, NULL), .err = err};
  s->root = compile_node(&c, schema, "");
  bool ok = s->root && check_loops(&c);
  g_hash_table_destroy(c.done);
  if (!ok) {
    hvb__schema_free(s);
    return NULL;
  }
  return s;
}
