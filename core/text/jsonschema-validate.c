/* core/text/jsonschema-validate.c: validating an instance against a compiled schema
 * (text/jsonschema.h). Read-only over the schema and the instance, so that threads may share
 * both; the state of one validation lives in a vctx on the caller's stack. */
#include <math.h>
#include <string.h>
#include "text/jsonschema-node.h"
#include "text/json.h"
#include "base/error.h"

/* Nested validations (one per instance level, $ref, allOf...) past this fail instead of
 * growing the stack: a recursive schema over a hostile instance cannot overflow it. */
#define VALIDATE_MAX_DEPTH 512

/* One step into the instance (a member or an item), on the C stack: the pointer is spelled
 * out only when something fails, so a valid value costs no string building. */
typedef struct step {
  const struct step *up;
  const char *key; /* NULL: an array item */
  size_t index;
} step;

typedef struct vctx {
  const step *at;  /* the instance location being validated */
  size_t level;    /* how many steps deep it is */
  int depth;
  char *msg;       /* the first failure, "pointer: rule" */
  size_t msg_ptr_len; /* the level of its location: branches of anyOf compare them */
  size_t msg_rule;    /* where the rule starts in msg */
  bool type_miss;     /* the failure was the type, where it started: anyOf ranks those last */
} vctx;

static bool validate(vctx *v, const hvb_schema_node *n, json_object *x);

/* The JSON pointer of `at`, ~ and / escaped; "" for the root. */
static GString *pointer(const step *at) {
  GPtrArray *steps = g_ptr_array_new();
  for (; at; at = at->up) g_ptr_array_add(steps, (gpointer)at);
  GString *out = g_string_new(NULL);
  for (guint i = steps->len; i-- > 0;) {
    const step *st = g_ptr_array_index(steps, i);
    if (!st->key) {
      g_string_append_printf(out, "/%zu", st->index);
      continue;
    }
    g_string_append_c(out, '/');
    for (const char *p = st->key; *p; p++) {
      if (*p == '~') g_string_append(out, "~0");
      else if (*p == '/') g_string_append(out, "~1");
      else g_string_append_c(out, *p);
    }
  }
  g_ptr_array_free(steps, TRUE);
  return out;
}

static bool fail(vctx *v, const char *fmt, ...) HVB_PRINTF(2, 3);
static bool fail(vctx *v, const char *fmt, ...) {
  if (v->msg) return false;
  va_list ap;
  va_start(ap, fmt);
  char *rule = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  GString *path = pointer(v->at);
  /* A pointer longer than the message has room for keeps its start and its end. */
  if (path->len > 240)
    v->msg = g_strdup_printf("%.120s...%s: %s", path->str, path->str + path->len - 100, rule);
  else
    v->msg = g_strdup_printf("%s: %s", path->len ? path->str : "/", rule);
  g_string_free(path, TRUE);
  v->msg_ptr_len = v->level;
  v->msg_rule = strlen(v->msg) - strlen(rule);
  g_free(rule);
  return false;
}

static void push(vctx *v, step *st) {
  st->up = v->at;
  v->at = st;
  v->level++;
}

static void pop(vctx *v) {
  v->at = v->at->up;
  v->level--;
}

/* A short JSON rendering of a schema value for messages: at most ~80 bytes. */
static char *show(json_object *value) {
  char *s = hvb__json_canonical(value);
  if (strlen(s) > 80) strcpy(s + 77, "...");
  return s;
}

static unsigned type_of(json_object *x) {
  switch (json_object_get_type(x)) {
  case json_type_null: return HVB_ST_NULL;
  case json_type_boolean: return HVB_ST_BOOLEAN;
  case json_type_object: return HVB_ST_OBJECT;
  case json_type_array: return HVB_ST_ARRAY;
  case json_type_string: return HVB_ST_STRING;
  case json_type_int: return HVB_ST_NUMBER | HVB_ST_INTEGER;
  case json_type_double: {
    double d = json_object_get_double(x);
    return isfinite(d) && d == floor(d) ? HVB_ST_NUMBER | HVB_ST_INTEGER : HVB_ST_NUMBER;
  }
  }
  return 0;
}

static const char *got_name(json_object *x) {
  switch (json_object_get_type(x)) {
  case json_type_null: return "null";
  case json_type_boolean: return "boolean";
  case json_type_object: return "object";
  case json_type_array: return "array";
  case json_type_string: return "string";
  case json_type_int:
  case json_type_double: return "number"; /* JSON's name: "expected integer, got number" for 1.5 */
  }
  return "unknown";
}

static bool check_type(vctx *v, const hvb_schema_node *n, json_object *x) {
  if (!n->types || (n->types & type_of(x))) return true;
  static const struct { unsigned bit; const char *name; } order[] = {
    {HVB_ST_OBJECT, "object"}, {HVB_ST_ARRAY, "array"},     {HVB_ST_STRING, "string"},
    {HVB_ST_NUMBER, "number"}, {HVB_ST_INTEGER, "integer"}, {HVB_ST_BOOLEAN, "boolean"},
    {HVB_ST_NULL, "null"}};
  const char *names[G_N_ELEMENTS(order)];
  size_t k = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
    if (n->types & order[i].bit) names[k++] = order[i].name;
  GString *want = g_string_new(names[0]);
  for (size_t i = 1; i < k; i++) g_string_append_printf(want, "%s%s", i + 1 == k ? " or " : ", ", names[i]);
  fail(v, "expected %s, got %s", want->str, got_name(x));
  v->type_miss = true;
  g_string_free(want, TRUE);
  return false;
}

static bool check_values(vctx *v, const hvb_schema_node *n, json_object *x) {
  if (n->has_const && !hvb__schema_json_equal(n->const_value, x)) {
    char *s = show(n->const_value);
    fail(v, "must be equal to the constant %s", s);
    g_free(s);
    return false;
  }
  if (n->enum_values) {
    size_t len = json_object_array_length(n->enum_values);
    for (size_t i = 0; i < len; i++)
      if (hvb__schema_json_equal(json_object_array_get_idx(n->enum_values, i), x)) return true;
    char *s = show(n->enum_values);
    fail(v, "must be one of %s", s);
    g_free(s);
    return false;
  }
  return true;
}

/* -1, 0 or 1 as x compares with the bound; integers exactly, anything else as doubles. */
static int num_cmp(json_object *x, const hvb_schema_num *b) {
  if (json_object_get_type(x) == json_type_int && b->is_int) {
    int64_t i = json_object_get_int64(x);
    return i < b->i ? -1 : i > b->i;
  }
  double d = json_object_get_double(x);
  return d < b->d ? -1 : d > b->d;
}

/* As ajv decides it: the quotient must be an integer, as JavaScript's parseInt reads it back
 * (so a quotient of 1e21 or more, printed with an exponent, is not one). */
static bool is_multiple(double x, double m) {
  double q = x / m;
  return isfinite(q) && q == trunc(q) && fabs(q) < 1e21;
}

/* The bound as the schema most likely spelled it: the shortest text that reads back. */
static const char *bound_str(const hvb_schema_num *b, char *buf, size_t size) {
  if (b->is_int) {
    g_snprintf(buf, size, "%" G_GINT64_FORMAT, b->i);
    return buf;
  }
  for (int digits = 15; digits <= 17; digits++) {
    g_ascii_formatd(buf, (gint)size, digits == 15 ? "%.15g" : digits == 16 ? "%.16g" : "%.17g", b->d);
    if (g_ascii_strtod(buf, NULL) == b->d) break;
  }
  return buf;
}

static bool check_number(vctx *v, const hvb_schema_node *n, json_object *x) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
#define BOUND_STR(b) bound_str(&(b), buf, sizeof buf)
  if (n->minimum.set && num_cmp(x, &n->minimum) < 0)
    return fail(v, "must be >= %s", BOUND_STR(n->minimum));
  if (n->maximum.set && num_cmp(x, &n->maximum) > 0)
    return fail(v, "must be <= %s", BOUND_STR(n->maximum));
  if (n->exclusive_minimum.set && num_cmp(x, &n->exclusive_minimum) <= 0)
    return fail(v, "must be > %s", BOUND_STR(n->exclusive_minimum));
  if (n->exclusive_maximum.set && num_cmp(x, &n->exclusive_maximum) >= 0)
    return fail(v, "must be < %s", BOUND_STR(n->exclusive_maximum));
  if (n->multiple_of.set && !is_multiple(json_object_get_double(x), n->multiple_of.d))
    return fail(v, "must be a multiple of %s", BOUND_STR(n->multiple_of));
#undef BOUND_STR
  return true;
}

static bool check_string(vctx *v, const hvb_schema_node *n, json_object *x) {
  const char *s = json_object_get_string(x);
  size_t len = (size_t)json_object_get_string_len(x);
  if (n->min_length >= 0 || n->max_length >= 0) {
    size_t cps = hvb__schema_utf8_length(s, len);
    if (n->min_length >= 0 && cps < (uint64_t)n->min_length)
      return fail(v, "must be at least %" G_GINT64_FORMAT " characters long, is %zu", n->min_length, cps);
    if (n->max_length >= 0 && cps > (uint64_t)n->max_length)
      return fail(v, "must be at most %" G_GINT64_FORMAT " characters long, is %zu", n->max_length, cps);
  }
  if (n->pattern && !g_regex_match_full(n->pattern, s, (gssize)len, 0, 0, NULL, NULL))
    return fail(v, "must match the pattern \"%s\"", n->pattern_source);
  if (n->format && !hvb__schema_format_check(n->format, n->format_re, s, len))
    return fail(v, "must be a valid %s", n->format_name);
  return true;
}

static bool check_array(vctx *v, const hvb_schema_node *n, json_object *x) {
  size_t len = json_object_array_length(x);
  if (n->min_items >= 0 && len < (uint64_t)n->min_items)
    return fail(v, "must have at least %" G_GINT64_FORMAT " items, has %zu", n->min_items, len);
  if (n->max_items >= 0 && len > (uint64_t)n->max_items)
    return fail(v, "must have at most %" G_GINT64_FORMAT " items, has %zu", n->max_items, len);
  if (n->unique_items)
    for (size_t i = 0; i < len; i++)
      for (size_t j = i + 1; j < len; j++)
        if (hvb__schema_json_equal(json_object_array_get_idx(x, i), json_object_array_get_idx(x, j)))
          return fail(v, "items %zu and %zu are equal (uniqueItems)", i, j);
  if (n->contains) {
    size_t found = 0;
    for (size_t i = 0; i < len; i++) {
      vctx sub = {.at = v->at, .level = v->level, .depth = v->depth};
      if (validate(&sub, n->contains, json_object_array_get_idx(x, i))) found++;
      g_free(sub.msg);
    }
    int64_t min = n->min_contains >= 0 ? n->min_contains : 1;
    if (found < (uint64_t)min)
      return fail(v, "must contain at least %" G_GINT64_FORMAT " matching item%s, has %zu", min,
                  min == 1 ? "" : "s", found);
    if (n->max_contains >= 0 && found > (uint64_t)n->max_contains)
      return fail(v, "must contain at most %" G_GINT64_FORMAT " matching items, has %zu",
                  n->max_contains, found);
  }
  return true;
}

static bool check_object(vctx *v, const hvb_schema_node *n, json_object *x) {
  size_t len = (size_t)json_object_object_length(x);
  if (n->min_props >= 0 && len < (uint64_t)n->min_props)
    return fail(v, "must have at least %" G_GINT64_FORMAT " properties, has %zu", n->min_props, len);
  if (n->max_props >= 0 && len > (uint64_t)n->max_props)
    return fail(v, "must have at most %" G_GINT64_FORMAT " properties, has %zu", n->max_props, len);
  for (size_t i = 0; i < n->n_required; i++)
    if (!json_object_object_get_ex(x, n->required[i], NULL))
      return fail(v, "missing required property \"%s\"", n->required[i]);
  if (n->dependent_required) {
    json_object_object_foreach(x, key, val) {
      (void)val;
      json_object *names = g_hash_table_lookup(n->dependent_required, key);
      for (size_t i = 0; names && i < json_object_array_length(names); i++) {
        const char *need = json_object_get_string(json_object_array_get_idx(names, i));
        if (!json_object_object_get_ex(x, need, NULL))
          return fail(v, "missing property \"%s\", required when \"%s\" is present", need, key);
      }
    }
  }
  return true;
}

static bool check_members(vctx *v, const hvb_schema_node *n, json_object *x) {
  json_object_object_foreach(x, key, val) {
    step st = {.key = key};
    push(v, &st);
    bool matched = false, ok = true;
    for (size_t i = 0; ok && i < n->n_props; i++)
      if (strcmp(n->props[i].name, key) == 0) {
        matched = true;
        ok = validate(v, n->props[i].node, val);
      }
    size_t klen = strlen(key);
    for (size_t i = 0; ok && i < n->n_pattern_props; i++)
      if (g_regex_match_full(n->pattern_props[i].pattern, key, (gssize)klen, 0, 0, NULL, NULL)) {
        matched = true;
        ok = validate(v, n->pattern_props[i].node, val);
      }
    if (ok && !matched && n->additional) {
      if (n->additional->is_bool && !n->additional->bool_value) {
        pop(v);
        return fail(v, "property \"%s\" is not allowed", key);
      }
      ok = validate(v, n->additional, val);
    }
    if (ok && n->property_names) {
      json_object *name = json_object_new_string_len(key, (int)klen);
      vctx sub = {.at = v->at, .level = v->level, .depth = v->depth};
      ok = validate(&sub, n->property_names, name);
      if (!ok) fail(v, "property name does not match propertyNames: %s", sub.msg + sub.msg_rule);
      g_free(sub.msg);
      json_object_put(name);
    }
    pop(v);
    if (!ok) return false;
  }
  return true;
}

static bool check_items(vctx *v, const hvb_schema_node *n, json_object *x) {
  size_t len = json_object_array_length(x);
  for (size_t i = 0; i < len; i++) {
    const hvb_schema_node *item = i < n->prefix_items.n ? n->prefix_items.v[i] : n->items;
    if (!item) break;
    step st = {.index = i};
    push(v, &st);
    bool ok = validate(v, item, json_object_array_get_idx(x, i));
    pop(v);
    if (!ok) return false;
  }
  return true;
}

/* Validate quietly into `sub`; the caller decides what to report. */
static bool try_branch(vctx *v, vctx *sub, const hvb_schema_node *n, json_object *x) {
  *sub = (vctx){.at = v->at, .level = v->level, .depth = v->depth};
  return validate(sub, n, x);
}

/* How far a failed branch got: deeper into the instance, or past the type check where it
 * started. The furthest is most likely the alternative that was meant (for anyOf [object,
 * null], the object's wrong field). */
static size_t reach(const vctx *sub) { return sub->msg_ptr_len * 2 + !sub->type_miss; }

/* No alternative matched: report the failure of the branch that got furthest as it is, or,
 * when every branch failed on its type here, the first one's rule as the alternatives'. */
static bool fail_alternatives(vctx *v, const char *kw, vctx *best) {
  if (best->msg_ptr_len > v->level || !best->type_miss) {
    v->msg = best->msg;
    v->msg_ptr_len = best->msg_ptr_len;
    v->msg_rule = best->msg_rule;
    best->msg = NULL;
    return false;
  }
  fail(v, "matches no %s alternative (%s)", kw, best->msg + best->msg_rule);
  g_free(best->msg);
  best->msg = NULL;
  return false;
}

/* anyOf (one: false) and oneOf (one: true). */
static bool check_alternatives(vctx *v, const hvb_schema_list *l, json_object *x, bool one) {
  const char *kw = one ? "oneOf" : "anyOf";
  vctx best = {0}, sub;
  size_t first_match = 0, matches = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (try_branch(v, &sub, l->v[i], x)) {
      if (!one) {
        g_free(best.msg);
        return true;
      }
      if (matches++ == 0) first_match = i;
      else {
        g_free(best.msg);
        return fail(v, "matches more than one oneOf alternative (%zu and %zu)", first_match, i);
      }
    } else if (!best.msg || reach(&sub) > reach(&best)) {
      g_free(best.msg);
      best = sub;
      continue;
    }
    g_free(sub.msg);
  }
  if (matches == 1) {
    g_free(best.msg);
    return true;
  }
  return fail_alternatives(v, kw, &best);
}

static bool check_applicators(vctx *v, const hvb_schema_node *n, json_object *x) {
  if (n->ref && !validate(v, n->ref, x)) return false;
  for (size_t i = 0; i < n->all_of.n; i++)
    if (!validate(v, n->all_of.v[i], x)) return false;
  if (n->any_of.n && !check_alternatives(v, &n->any_of, x, false)) return false;
  if (n->one_of.n && !check_alternatives(v, &n->one_of, x, true)) return false;
  vctx sub;
  if (n->not_) {
    bool matched = try_branch(v, &sub, n->not_, x);
    g_free(sub.msg);
    if (matched) return fail(v, "must not match the schema at %s/not", n->ptr);
  }
  if (n->if_) {
    bool cond = try_branch(v, &sub, n->if_, x);
    g_free(sub.msg);
    const hvb_schema_node *branch = cond ? n->then_ : n->else_;
    if (branch && !validate(v, branch, x)) return false;
  }
  return true;
}

static bool validate(vctx *v, const hvb_schema_node *n, json_object *x) {
  if (n->is_bool) return n->bool_value || fail(v, "no value is allowed here (false schema)");
  if (v->depth >= VALIDATE_MAX_DEPTH)
    return fail(v, "schema and value nested deeper than %d levels", VALIDATE_MAX_DEPTH);
  v->depth++;
  bool ok = check_type(v, n, x) && check_values(v, n, x);
  if (ok) {
    switch (json_object_get_type(x)) {
    case json_type_int:
    case json_type_double: ok = check_number(v, n, x); break;
    case json_type_string: ok = check_string(v, n, x); break;
    case json_type_array: ok = check_array(v, n, x); break;
    case json_type_object: ok = check_object(v, n, x); break;
    default: break;
    }
  }
  ok = ok && check_applicators(v, n, x);
  if (ok && json_object_is_type(x, json_type_object)) ok = check_members(v, n, x);
  if (ok && json_object_is_type(x, json_type_array)) ok = check_items(v, n, x);
  v->depth--;
  return ok;
}

bool hvb__schema_validate(const hvb_schema *s, json_object *instance, hvb_error *err) {
  vctx v = {0};
  bool ok = validate(&v, s->root, instance);
  if (!ok) hvb__fail(err, HVB_SCHEMA, "%s", v.msg);
  g_free(v.msg);
  return ok;
}
