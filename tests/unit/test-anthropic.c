/* tests/unit/test-anthropic.c: the anthropic gateway's translation, both ways.
 *
 * The plugin's translate.c is compiled into this program, so the translation is tested
 * directly: golden request bodies (tests/data/anthropic/requests/, one file per case: a
 * canonical request, the Messages body it must give, the arguments it must drop), checked
 * field by field against the official schema (tests/data/anthropic/messages-api.schema.json,
 * a subset of Anthropic's OpenAPI spec) by a small JSON Schema validator below; replies
 * (tests/data/anthropic/replies/); SSE captures decoded by the core's SSE decoder at every
 * split; gathered streams compared with the replies they stream, through the core's
 * accumulator. */
#include "testutil.h"
#include "text/json.h"
#include "text/sse.h"
#include "call/accum.h"
#include "gateway/gateway.h"
#include "translate.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "sk-ant-test-0123456789abcdef"
#define MESSAGES_PATH "/v1/messages"

static char data_dir[4096];
static char plugin_dir[4096]; /* where the built hb-gateway-anthropic.so is */

/* ---- helpers ---- */

static char *data_path(const char *name) {
  return g_build_filename(data_dir, "anthropic", name, NULL);
}

static char *fixture(const char *name) {
  char *path = data_path(name);
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read fixture %s", path);
  g_free(path);
  return text;
}

static json_object *fixture_json(const char *name) {
  char *text = fixture(name);
  json_object *obj = json_tokener_parse(text);
  ck_assert_msg(obj != NULL, "fixture %s is not JSON", name);
  free(text);
  return obj;
}

static json_object *parse(const char *text) {
  json_object *obj = json_tokener_parse(text);
  ck_assert_msg(obj != NULL, "test JSON does not parse: %s", text);
  return obj;
}

/* Canonical JSON text of `v` (sorted keys), for exact comparisons; g_free. */
static char *canon(json_object *v) {
  return hvb__json_canonical(v);
}

static void assert_json_eq(json_object *got, json_object *want, const char *what) {
  char *g = canon(got), *w = canon(want);
  ck_assert_msg(strcmp(g, w) == 0, "%s:\n got: %s\nwant: %s", what, g, w);
  g_free(g);
  g_free(w);
}

/* Translate canonical request text; NULL with *err on failure. `dropped` may be NULL. */
static json_object *request(const char *canonical_text, json_object *dropped, hvb_error *err) {
  json_object *c = parse(canonical_text);
  json_object *body = anthropic_request(c, dropped, err);
  json_object_put(c);
  return body;
}

/* A request that must translate (fails the test otherwise). */
static json_object *request_ok(const char *canonical_text) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *body = request(canonical_text, NULL, &err);
  ck_assert_msg(body != NULL, "translation failed: %s", err.message);
  return body;
}

/* A request that must fail with `status` and a message containing `needle`. */
static void request_fails(const char *canonical_text, hvb_status status, const char *needle) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *body = request(canonical_text, NULL, &err);
  ck_assert_msg(body == NULL, "translation should fail: %s", canonical_text);
  ck_assert_int_eq(err.status, status);
  ck_assert_msg(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'", err.message,
                needle);
}

static const char *str_at(json_object *root, const char *path) {
  json_object *v = hvb__json_path(root, path);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ============================================================================================
 * A JSON Schema validator for the keywords Anthropic's spec uses: $ref (into
 * #/components/schemas), type, properties, required, additionalProperties, items, enum,
 * const, anyOf, oneOf (with OpenAPI's discriminator), allOf, minLength, maxLength, minimum,
 * maximum, exclusiveMinimum, pattern, minItems, maxItems. Others (format, default) are
 * annotations. The first violation is described in `why`.
 * ========================================================================================== */

typedef struct validator {
  json_object *schemas; /* components.schemas */
  GString *why;
  int quiet; /* > 0 while trying alternatives: their failures are not the story */
} validator;

static bool sv_fail(validator *v, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static bool sv_fail(validator *v, const char *path, const char *fmt, ...) {
  if (v->quiet) return false;
  va_list ap;
  va_start(ap, fmt);
  g_string_printf(v->why, "%s: ", *path ? path : "(body)");
  g_string_append_vprintf(v->why, fmt, ap);
  va_end(ap);
  return false;
}

static json_object *sv_deref(validator *v, json_object *schema) {
  for (int hops = 0; hops < 32; hops++) {
    const char *ref = hvb__json_str(schema, "$ref");
    if (!ref) return schema;
    const char *prefix = "#/components/schemas/";
    ck_assert_msg(g_str_has_prefix(ref, prefix), "unsupported $ref %s", ref);
    schema = json_object_object_get(v->schemas, ref + strlen(prefix));
    ck_assert_msg(schema != NULL, "dangling $ref %s", ref);
  }
  ck_abort_msg("$ref loop");
  return NULL;
}

static bool sv_type_ok(json_object *val, const char *type) {
  if (strcmp(type, "object") == 0) return json_object_is_type(val, json_type_object);
  if (strcmp(type, "array") == 0) return json_object_is_type(val, json_type_array);
  if (strcmp(type, "string") == 0) return json_object_is_type(val, json_type_string);
  if (strcmp(type, "boolean") == 0) return json_object_is_type(val, json_type_boolean);
  if (strcmp(type, "null") == 0) return val == NULL || json_object_is_type(val, json_type_null);
  if (strcmp(type, "integer") == 0) return json_object_is_type(val, json_type_int);
  if (strcmp(type, "number") == 0)
    return json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double);
  ck_abort_msg("unknown schema type %s", type);
  return false;
}

static bool sv_equal(json_object *a, json_object *b) {
  char *x = canon(a), *y = canon(b);
  bool eq = strcmp(x, y) == 0;
  g_free(x);
  g_free(y);
  return eq;
}

static bool sv_check(validator *v, json_object *schema, json_object *val, const char *path);

static bool sv_alternatives(validator *v, json_object *schema, json_object *val,
                            const char *path) {
  json_object *all = json_object_object_get(schema, "allOf");
  for (size_t i = 0; all && i < json_object_array_length(all); i++)
    if (!sv_check(v, json_object_array_get_idx(all, i), val, path)) return false;

  json_object *any = json_object_object_get(schema, "anyOf");
  if (any) {
    bool ok = false;
    v->quiet++;
    for (size_t i = 0; !ok && i < json_object_array_length(any); i++)
      ok = sv_check(v, json_object_array_get_idx(any, i), val, path);
    v->quiet--;
    if (!ok) return sv_fail(v, path, "matches none of the anyOf alternatives");
  }

  json_object *one = json_object_object_get(schema, "oneOf");
  if (one) {
    /* OpenAPI's discriminator names the alternative: check that one, for a precise story. */
    json_object *disc = json_object_object_get(schema, "discriminator");
    const char *prop = hvb__json_str(disc, "propertyName");
    json_object *mapping = json_object_object_get(disc, "mapping");
    const char *tag = prop ? hvb__json_str(val, prop) : NULL;
    if (mapping && json_object_is_type(val, json_type_object)) {
      json_object *ref = tag ? json_object_object_get(mapping, tag) : NULL;
      if (!ref) return sv_fail(v, path, "%s '%s' is not one of the allowed kinds", prop,
                               tag ? tag : "(missing)");
      json_object *target = json_object_new_object();
      json_object_object_add(target, "$ref", json_object_get(ref));
      bool ok = sv_check(v, target, val, path);
      json_object_put(target);
      return ok;
    }
    int matches = 0;
    v->quiet++;
    for (size_t i = 0; i < json_object_array_length(one); i++)
      if (sv_check(v, json_object_array_get_idx(one, i), val, path)) matches++;
    v->quiet--;
    if (matches != 1) return sv_fail(v, path, "matches %d oneOf alternatives, not 1", matches);
  }
  return true;
}

static bool sv_object(validator *v, json_object *schema, json_object *val, const char *path) {
  json_object *props = json_object_object_get(schema, "properties");
  json_object *req = json_object_object_get(schema, "required");
  for (size_t i = 0; req && i < json_object_array_length(req); i++) {
    const char *k = json_object_get_string(json_object_array_get_idx(req, i));
    if (!json_object_object_get_ex(val, k, NULL))
      return sv_fail(v, path, "required field '%s' is missing", k);
  }
  json_object *extra = NULL;
  bool has_extra = json_object_object_get_ex(schema, "additionalProperties", &extra);
  json_object_object_foreach(val, k, member) {
    char *sub = g_strdup_printf("%s%s%s", path, *path ? "." : "", k);
    json_object *ps = json_object_object_get(props, k);
    bool ok = true;
    if (ps)
      ok = sv_check(v, ps, member, sub);
    else if (has_extra && json_object_is_type(extra, json_type_boolean) &&
             !json_object_get_boolean(extra))
      ok = sv_fail(v, path, "field '%s' is not allowed here", k);
    else if (has_extra && json_object_is_type(extra, json_type_object))
      ok = sv_check(v, extra, member, sub);
    g_free(sub);
    if (!ok) return false;
  }
  return true;
}

static bool sv_check(validator *v, json_object *schema, json_object *val, const char *path) {
  schema = sv_deref(v, schema);
  if (json_object_is_type(schema, json_type_boolean)) return json_object_get_boolean(schema);
  if (!sv_alternatives(v, schema, val, path)) return false;

  json_object *type = json_object_object_get(schema, "type");
  if (json_object_is_type(type, json_type_string) &&
      !sv_type_ok(val, json_object_get_string(type)))
    return sv_fail(v, path, "must be of type %s", json_object_get_string(type));
  if (json_object_is_type(type, json_type_array)) {
    bool ok = false;
    for (size_t i = 0; !ok && i < json_object_array_length(type); i++)
      ok = sv_type_ok(val, json_object_get_string(json_object_array_get_idx(type, i)));
    if (!ok) return sv_fail(v, path, "has a type the schema does not allow");
  }
  json_object *c = NULL;
  if (json_object_object_get_ex(schema, "const", &c) && !sv_equal(c, val))
    return sv_fail(v, path, "must be %s", json_object_to_json_string(c));
  json_object *en = json_object_object_get(schema, "enum");
  if (en) {
    bool ok = false;
    for (size_t i = 0; !ok && i < json_object_array_length(en); i++)
      ok = sv_equal(json_object_array_get_idx(en, i), val);
    if (!ok) return sv_fail(v, path, "is not one of %s", json_object_to_json_string(en));
  }
  if (json_object_is_type(val, json_type_string)) {
    const char *s = json_object_get_string(val);
    long n = g_utf8_strlen(s, -1);
    json_object *lim;
    if ((lim = json_object_object_get(schema, "minLength")) && n < json_object_get_int64(lim))
      return sv_fail(v, path, "is shorter than %lld characters",
                     (long long)json_object_get_int64(lim));
    if ((lim = json_object_object_get(schema, "maxLength")) && n > json_object_get_int64(lim))
      return sv_fail(v, path, "is longer than %lld characters",
                     (long long)json_object_get_int64(lim));
    const char *pattern = hvb__json_str(schema, "pattern");
    if (pattern && !g_regex_match_simple(pattern, s, 0, 0))
      return sv_fail(v, path, "'%s' does not match %s", s, pattern);
  }
  if (json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double)) {
    double d = json_object_get_double(val);
    json_object *lim;
    if ((lim = json_object_object_get(schema, "minimum")) && d < json_object_get_double(lim))
      return sv_fail(v, path, "is below the minimum %g", json_object_get_double(lim));
    if ((lim = json_object_object_get(schema, "maximum")) && d > json_object_get_double(lim))
      return sv_fail(v, path, "is above the maximum %g", json_object_get_double(lim));
    if ((lim = json_object_object_get(schema, "exclusiveMinimum")) &&
        d <= json_object_get_double(lim))
      return sv_fail(v, path, "must exceed %g", json_object_get_double(lim));
  }
  if (json_object_is_type(val, json_type_array)) {
    size_t n = json_object_array_length(val);
    json_object *lim;
    if ((lim = json_object_object_get(schema, "minItems")) &&
        (int64_t)n < json_object_get_int64(lim))
      return sv_fail(v, path, "has fewer than %lld items", (long long)json_object_get_int64(lim));
    if ((lim = json_object_object_get(schema, "maxItems")) &&
        (int64_t)n > json_object_get_int64(lim))
      return sv_fail(v, path, "has more than %lld items", (long long)json_object_get_int64(lim));
    json_object *items = json_object_object_get(schema, "items");
    for (size_t i = 0; items && i < n; i++) {
      char *sub = g_strdup_printf("%s[%zu]", path, i);
      bool ok = sv_check(v, items, json_object_array_get_idx(val, i), sub);
      g_free(sub);
      if (!ok) return false;
    }
  }
  if (json_object_is_type(val, json_type_object)) return sv_object(v, schema, val, path);
  return true;
}

static json_object *api_schema;

static json_object *schemas(void) {
  if (!api_schema) api_schema = fixture_json("messages-api.schema.json");
  return hvb__json_path(api_schema, "components.schemas");
}

/* Validate `val` against the named schema; false with the first violation in *why (g_free). */
static bool schema_valid(const char *name, json_object *val, char **why) {
  validator v = {schemas(), g_string_new(NULL), 0};
  json_object *root = json_object_object_get(v.schemas, name);
  ck_assert_msg(root != NULL, "no schema %s", name);
  bool ok = sv_check(&v, root, val, "");
  *why = g_string_free(v.why, FALSE);
  return ok;
}

static void assert_valid_request(json_object *body, const char *what) {
  char *why = NULL;
  bool ok = schema_valid("CreateMessageParams", body, &why);
  ck_assert_msg(ok, "%s does not satisfy CreateMessageParams: %s\n%s", what, why,
                json_object_to_json_string(body));
  g_free(why);
}

/* ============================================================================================
 * Requests
 * ========================================================================================== */

static char **golden_requests(void) {
  char *dir = data_path("requests");
  GDir *d = g_dir_open(dir, 0, NULL);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  GPtrArray *names = g_ptr_array_new();
  const char *n;
  while ((n = g_dir_read_name(d)))
    if (g_str_has_suffix(n, ".json")) g_ptr_array_add(names, g_strconcat("requests/", n, NULL));
  g_dir_close(d);
  g_free(dir);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  ck_assert_uint_ge(names->len, 8);
  g_ptr_array_add(names, NULL);
  return (char **)g_ptr_array_free(names, FALSE);
}

START_TEST(golden_requests_translate_exactly) {
  char **names = golden_requests();
  for (char **n = names; *n; n++) {
    json_object *g = fixture_json(*n);
    json_object *dropped = json_object_new_array();
    hvb_error err = HVB_ERROR_INIT;
    json_object *body = anthropic_request(json_object_object_get(g, "canonical"), dropped, &err);
    ck_assert_msg(body != NULL, "%s: %s", *n, err.message);
    assert_json_eq(body, json_object_object_get(g, "anthropic"), *n);
    json_object *want = json_object_object_get(g, "dropped");
    json_object *none = json_object_new_array();
    assert_json_eq(dropped, want ? want : none, *n);
    json_object_put(none);
    json_object_put(dropped);
    json_object_put(body);
    json_object_put(g);
  }
  g_strfreev(names);
}
END_TEST

START_TEST(golden_requests_satisfy_the_official_schema) {
  char **names = golden_requests();
  for (char **n = names; *n; n++) {
    json_object *g = fixture_json(*n);
    assert_valid_request(json_object_object_get(g, "anthropic"), *n);
    json_object_put(g);
  }
  g_strfreev(names);
}
END_TEST

/* The validator must be able to say no, or the test above proves nothing. */
START_TEST(schema_validator_rejects_what_the_api_rejects) {
  static const char *const bad[] = {
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", /* max_tokens */
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
      "{\"model\":\"m\",\"max_tokens\":1,\"n\":2,\"messages\":[]}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
      "\"text\",\"text\":\"\"}]}]}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
      "\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tool_choice\":{\"type\":\"required\"}}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"thinking\":{\"type\":\"enabled\","
      "\"budget_tokens\":100}}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"temperature\":1.5}",
      "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[],\"tools\":[{\"name\":\"bad name\","
      "\"input_schema\":{\"type\":\"object\"}}]}",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    json_object *b = parse(bad[i]);
    char *why = NULL;
    ck_assert_msg(!schema_valid("CreateMessageParams", b, &why), "accepted: %s", bad[i]);
    ck_assert_msg(*why, "no reason given for %s", bad[i]);
    g_free(why);
    json_object_put(b);
  }
}
END_TEST

START_TEST(max_tokens_defaults_and_comes_from_either_name) {
  json_object *b =
      request_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(b, "max_tokens")),
                   ANTHROPIC_DEFAULT_MAX_TOKENS);
  json_object_put(b);
  b = request_ok("{\"model\":\"m\",\"max_completion_tokens\":77.0,\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"x\"}]}");
  ck_assert_int_eq(json_object_get_int(json_object_object_get(b, "max_tokens")), 77);
  assert_valid_request(b, "max_completion_tokens");
  json_object_put(b);
  request_fails("{\"model\":\"m\",\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":"
                "\"x\"}]}",
                HVB_EINVAL, "max_tokens must be a positive integer");
  request_fails("{\"model\":\"m\",\"max_tokens\":\"many\",\"messages\":[{\"role\":\"user\","
                "\"content\":\"x\"}]}",
                HVB_EINVAL, "max_tokens");
  request_fails("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", HVB_EINVAL, "'model'");
  /* absurd counts are mistakes, and would overflow max_tokens + budget */
  request_fails("{\"model\":\"m\",\"max_tokens\":3000000000,\"messages\":[{\"role\":\"user\","
                "\"content\":\"x\"}]}",
                HVB_EINVAL, "max_tokens must be a positive integer up to 2147483647");
  request_fails("{\"model\":\"m\",\"think\":9000000000000000000,\"messages\":[{\"role\":"
                "\"user\",\"content\":\"x\"}]}",
                HVB_EINVAL, "think must be a token budget");
}
END_TEST

static void assert_tool_choice(const char *choice_json, const char *extra, const char *want) {
  char *text = g_strdup_printf(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{"
      "\"type\":\"function\",\"function\":{\"name\":\"f\"}}]%s%s%s}",
      choice_json ? ",\"tool_choice\":" : "", choice_json ? choice_json : "", extra);
  json_object *b = request_ok(text);
  json_object *tc = json_object_object_get(b, "tool_choice");
  char *got = tc ? canon(tc) : g_strdup("(none)");
  ck_assert_msg(strcmp(got, want) == 0, "tool_choice %s%s: got %s, want %s", choice_json,
                extra, got, want);
  assert_valid_request(b, text);
  g_free(got);
  g_free(text);
  json_object_put(b);
}

START_TEST(tool_choice_variants) {
  assert_tool_choice("\"auto\"", "", "{\"type\":\"auto\"}");
  assert_tool_choice("\"required\"", "", "{\"type\":\"any\"}");
  assert_tool_choice("\"none\"", "", "{\"type\":\"none\"}");
  assert_tool_choice("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "",
                     "{\"name\":\"f\",\"type\":\"tool\"}");
  assert_tool_choice("{\"type\":\"tool\",\"name\":\"f\"}", "",
                     "{\"name\":\"f\",\"type\":\"tool\"}");
  assert_tool_choice(NULL, "", "(none)");
  assert_tool_choice(NULL, ",\"parallel_tool_calls\":false",
                     "{\"disable_parallel_tool_use\":true,\"type\":\"auto\"}");
  assert_tool_choice(NULL, ",\"parallel_tool_calls\":true", "(none)");
  assert_tool_choice("{\"type\":\"function\",\"function\":{\"name\":\"f\"}}",
                     ",\"parallel_tool_calls\":false",
                     "{\"disable_parallel_tool_use\":true,\"name\":\"f\",\"type\":\"tool\"}");
  /* none takes no flag (the schema forbids it there) */
  assert_tool_choice("\"none\"", ",\"parallel_tool_calls\":false", "{\"type\":\"none\"}");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":"
                "[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"some\"}",
                HVB_EINVAL, "tool_choice 'some'");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":"
                "[{\"type\":\"custom\",\"custom\":{\"name\":\"f\"}}]}",
                HVB_EINVAL, "tools[0]");
}
END_TEST

START_TEST(anthropic_shaped_tools_pass_through) {
  json_object *b = request_ok(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{"
      "\"name\":\"lookup\",\"input_schema\":{\"type\":\"object\",\"properties\":{}},"
      "\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"web_search_20250305\",\"name\":"
      "\"web_search\",\"max_uses\":2}]}");
  json_object *want = parse(
      "[{\"name\":\"lookup\",\"input_schema\":{\"type\":\"object\",\"properties\":{}},"
      "\"cache_control\":{\"type\":\"ephemeral\"}},{\"type\":\"web_search_20250305\",\"name\":"
      "\"web_search\",\"max_uses\":2}]");
  assert_json_eq(json_object_object_get(b, "tools"), want, "native tools");
  json_object_put(want);
  assert_valid_request(b, "native tools");
  json_object_put(b);
}
END_TEST

static int64_t body_int(json_object *b, const char *path) {
  json_object *v = hvb__json_path(b, path);
  ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not an integer", path);
  return json_object_get_int64(v);
}

START_TEST(thinking_from_effort_flag_budget_or_object) {
  static const struct {
    const char *args;
    int64_t budget, max_tokens; /* budget 0: no thinking */
  } cases[] = {
      {"\"reasoning_effort\":\"low\"", 1024, 4096},
      {"\"reasoning_effort\":\"minimal\"", 1024, 4096},
      {"\"reasoning_effort\":\"medium\",\"max_tokens\":4096", 4096, 8192},
      {"\"reasoning_effort\":\"high\",\"max_tokens\":20000", 16384, 20000},
      {"\"reasoning_effort\":\"none\"", 0, 4096},
      {"\"think\":true", 4096, 8192},
      {"\"think\":false,\"reasoning_effort\":\"high\"", 0, 4096},
      {"\"think\":500", 1024, 4096},
      {"\"thinking\":2048,\"max_tokens\":100", 2048, 2148},
      {"\"thinking\":\"high\"", 16384, 20480},
      {"\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":3000}", 3000, 4096},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *text = g_strdup_printf(
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s}", cases[i].args);
    json_object *b = request_ok(text);
    if (cases[i].budget) {
      ck_assert_str_eq(str_at(b, "thinking.type"), "enabled");
      ck_assert_int_eq(body_int(b, "thinking.budget_tokens"), cases[i].budget);
      ck_assert_int_gt(body_int(b, "max_tokens"), body_int(b, "thinking.budget_tokens"));
    } else {
      ck_assert_msg(!json_object_object_get_ex(b, "thinking", NULL), "%s: thinking set", text);
    }
    ck_assert_int_eq(body_int(b, "max_tokens"), cases[i].max_tokens);
    assert_valid_request(b, text);
    g_free(text);
    json_object_put(b);
  }
  json_object *b = request_ok("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
                              "\"x\"}],\"thinking\":{\"type\":\"adaptive\"},\"temperature\":1}");
  ck_assert_str_eq(str_at(b, "thinking.type"), "adaptive");
  ck_assert(json_object_object_get_ex(b, "temperature", NULL)); /* 1 is allowed with thinking */
  json_object_put(b);
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"reasoning_effort\":\"extreme\"}",
                HVB_EINVAL, "reasoning_effort 'extreme'");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"thinking\":{\"type\":\"on\"}}",
                HVB_EINVAL, "thinking object");
}
END_TEST

START_TEST(sampling_arguments_are_fitted_to_anthropic_ranges) {
  json_object *dropped = json_object_new_array();
  hvb_error err = HVB_ERROR_INIT;
  json_object *b = request("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                           "\"temperature\":1.7,\"top_k\":5,\"top_p\":0.5,\"stop\":[\"a\",\"b\"],"
                           "\"stop_sequences\":[\"c\"]}",
                           dropped, &err);
  ck_assert_ptr_nonnull(b);
  ck_assert(json_object_get_double(json_object_object_get(b, "temperature")) == 1.0);
  ck_assert_int_eq(body_int(b, "top_k"), 5);
  ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(b, "stop_sequences"),
                                                  JSON_C_TO_STRING_PLAIN),
                   "[\"a\",\"b\",\"c\"]");
  ck_assert_int_eq((int)json_object_array_length(dropped), 0);
  assert_valid_request(b, "sampling");
  json_object_put(b);
  json_object_put(dropped);
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"temperature\":\"warm\"}",
                HVB_EINVAL, "temperature must be a number");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"stop\":[1]}",
                HVB_EINVAL, "stop[0]");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"top_k\":2.5}",
                HVB_EINVAL, "top_k must be an integer");
}
END_TEST

START_TEST(unparsable_tool_arguments_name_the_call) {
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
                "\"assistant\",\"tool_calls\":[{\"id\":\"call_9\",\"type\":\"function\","
                "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":\"}}]}]}",
                HVB_EINVAL, "tool call 'call_9' (f)");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
                "\"assistant\",\"tool_calls\":[{\"id\":\"call_8\",\"type\":\"function\","
                "\"function\":{\"name\":\"f\",\"arguments\":\"[1,2]\"}}]}]}",
                HVB_EINVAL, "messages[1].tool_calls[0]: the arguments of tool call 'call_8'");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
                "\"assistant\",\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":"
                "\"f\",\"arguments\":\"{}\"}}]}]}",
                HVB_EINVAL, "needs an 'id'");
  request_fails("{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}",
                HVB_EINVAL, "messages[0]: a tool message needs a 'tool_call_id'");
  /* Arguments given as an object (some clients do) are taken as they are. */
  json_object *b = request_ok(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
      "\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]},{\"role\":\"tool\","
      "\"tool_call_id\":\"c1\",\"content\":\"\"}]}");
  json_object *msgs = json_object_object_get(b, "messages");
  json_object *use = json_object_array_get_idx(
      json_object_object_get(json_object_array_get_idx(msgs, 1), "content"), 0);
  ck_assert_int_eq(body_int(use, "input.a"), 1);
  /* an empty tool result is sent without content (the API refuses an empty text block) */
  json_object *res = json_object_array_get_idx(
      json_object_object_get(json_object_array_get_idx(msgs, 2), "content"), 0);
  ck_assert_str_eq(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN),
                   "{\"type\":\"tool_result\",\"tool_use_id\":\"c1\"}");
  assert_valid_request(b, "object arguments");
  json_object_put(b);
}
END_TEST

START_TEST(content_that_anthropic_cannot_take_is_named) {
  static const struct {
    const char *messages, *needle;
  } cases[] = {
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
       "\"data:image/png,abc\"}}]}]",
       "messages[0].content[0]: a data: URL image must be base64"},
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
       "\"data:image/svg+xml;base64,PHN2Zz4=\"}}]}]",
       "image type 'image/svg+xml' is not supported"},
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
       "\"ftp://host/cat.png\"}}]}]",
       "must be a data: URL or an http(s) URL"},
      {"[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":[{\"type\":"
       "\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]",
       "messages[1].content[0]: only user and tool messages may hold images"},
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}]",
       "content part type 'input_audio' has no Anthropic equivalent"},
      {"[{\"role\":\"function\",\"name\":\"f\",\"content\":\"x\"}]",
       "messages[0]: role 'function' has no Anthropic equivalent"},
      {"[{\"role\":\"system\",\"content\":\"only a system prompt\"}]",
       "no user or assistant message"},
      {"[{\"role\":\"user\",\"content\":42}]", "messages[0]: content must be a string"},
      {"[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\",\"image_url\":\"https://x\"}]}]",
       "messages[0].content[0]: only user and tool messages may hold images"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *text = g_strdup_printf("{\"model\":\"m\",\"messages\":%s}", cases[i].messages);
    request_fails(text, HVB_EINVAL, cases[i].needle);
    g_free(text);
  }
}
END_TEST

START_TEST(tool_call_ids_are_fitted_to_anthropic_pattern_consistently) {
  json_object *b = request_ok(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
      "\"assistant\",\"tool_calls\":[{\"id\":\"functions.f:0\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
      "\"functions.f:0\",\"content\":\"ok\"}]}");
  json_object *msgs = json_object_object_get(b, "messages");
  json_object *use = json_object_array_get_idx(
      json_object_object_get(json_object_array_get_idx(msgs, 1), "content"), 0);
  json_object *res = json_object_array_get_idx(
      json_object_object_get(json_object_array_get_idx(msgs, 2), "content"), 0);
  ck_assert_str_eq(hvb__json_str(use, "id"), "functions_f_0");
  ck_assert_str_eq(hvb__json_str(res, "tool_use_id"), "functions_f_0");
  assert_valid_request(b, "ids");
  json_object_put(b);
}
END_TEST

START_TEST(anthropic_only_keys_pass_and_user_becomes_metadata) {
  json_object *dropped = json_object_new_array();
  hvb_error err = HVB_ERROR_INIT;
  json_object *b = request(
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"system\":\"S\","
      "\"metadata\":{\"user_id\":\"native\"},\"service_tier\":\"standard_only\","
      "\"output_config\":{\"effort\":\"low\"},\"inference_geo\":\"us\",\"stream\":false,"
      "\"presence_penalty\":null}",
      dropped, &err);
  ck_assert_ptr_nonnull(b);
  ck_assert_str_eq(str_at(b, "metadata.user_id"), "native");
  ck_assert_str_eq(str_at(b, "service_tier"), "standard_only");
  ck_assert_str_eq(str_at(b, "output_config.effort"), "low");
  ck_assert_str_eq(str_at(b, "inference_geo"), "us");
  ck_assert_str_eq(str_at(b, "system"), "S");
  ck_assert(!json_object_get_boolean(json_object_object_get(b, "stream")));
  ck_assert_int_eq((int)json_object_array_length(dropped), 0); /* null is absent */
  assert_valid_request(b, "native keys");
  json_object_put(b);
  json_object_put(dropped);
}
END_TEST

/* ============================================================================================
 * Replies
 * ========================================================================================== */

START_TEST(golden_replies_translate_exactly) {
  static const char *const names[] = {"replies/text.json", "replies/thinking.json",
                                      "replies/tools.json"};
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    json_object *g = fixture_json(names[i]);
    json_object *body = json_object_object_get(g, "anthropic");
    char *why = NULL;
    ck_assert_msg(schema_valid("Message", body, &why), "%s is not a Message: %s", names[i], why);
    g_free(why);
    hvb_error err = HVB_ERROR_INIT;
    json_object *c = anthropic_response(body, &err);
    ck_assert_msg(c != NULL, "%s: %s", names[i], err.message);
    assert_json_eq(c, json_object_object_get(g, "canonical"), names[i]);
    json_object_put(c);
    json_object_put(g);
  }
}
END_TEST

START_TEST(stop_reasons_map_to_finish_reasons) {
  static const char *const map[][2] = {
      {"end_turn", "stop"},
      {"stop_sequence", "stop"},
      {"pause_turn", "stop"},
      {"max_tokens", "length"},
      {"model_context_window_exceeded", "length"},
      {"tool_use", "tool_calls"},
      {"refusal", "content_filter"},
      {"something_new", "something_new"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
    ck_assert_str_eq(anthropic_finish_reason(map[i][0]), map[i][1]);
    char *text = g_strdup_printf("{\"id\":\"m\",\"type\":\"message\",\"content\":[{\"type\":"
                                 "\"text\",\"text\":\"t\"}],\"stop_reason\":\"%s\"}",
                                 map[i][0]);
    json_object *b = parse(text);
    json_object *c = anthropic_response(b, NULL);
    ck_assert_str_eq(str_at(json_object_array_get_idx(json_object_object_get(c, "choices"), 0),
                            "finish_reason"),
                     map[i][1]);
    ck_assert_ptr_null(json_object_object_get(c, "usage")); /* none reported, none invented */
    json_object_put(c);
    json_object_put(b);
    g_free(text);
  }
  ck_assert_ptr_null(anthropic_finish_reason(NULL));
}
END_TEST

START_TEST(error_bodies_are_provider_errors_with_type_and_message) {
  json_object *b = parse("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                         "\"message\":\"Overloaded\"},\"request_id\":\"req_1\"}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(anthropic_response(b, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "overloaded_error");
  ck_assert_ptr_nonnull(strstr(err.message, "Overloaded"));
  json_object_put(b);

  b = parse("{\"id\":\"m\",\"type\":\"message\"}");
  hvb_error err2 = HVB_ERROR_INIT;
  ck_assert_ptr_null(anthropic_response(b, &err2));
  ck_assert_int_eq(err2.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err2.message, "'content'"));
  json_object_put(b);

  b = parse("[1]");
  hvb_error err3 = HVB_ERROR_INIT;
  ck_assert_ptr_null(anthropic_response(b, &err3));
  ck_assert_int_eq(err3.status, HVB_PARSE);
  json_object_put(b);
}
END_TEST

/* ============================================================================================
 * Streams
 * ========================================================================================== */

typedef struct replay {
  anthropic_stream *st;
  json_object *chunks; /* every chunk, in order */
  bool done;
  int events;
} replay;

static bool on_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  replay *r = ud;
  r->events++;
  return anthropic_stream_event(r->st, ev->event, ev->data, ev->data_len, r->chunks, &r->done,
                                err);
}

/* Decode `text` fed in two pieces cut at `cut` through the core's SSE decoder and the
 * stream translation. Returns the chunks (new reference); *err gets the first failure. */
static json_object *decode(const char *text, size_t len, size_t cut, bool *done, hvb_error *err) {
  replay r = {anthropic_stream_new(), json_object_new_array(), false, 0};
  hvb_sse *sse = hvb__sse_new(0, 0, on_event, &r);
  if (hvb__sse_feed(sse, text, cut, err) >= 0) hvb__sse_feed(sse, text + cut, len - cut, err);
  hvb__sse_free(sse);
  anthropic_stream_free(r.st);
  if (done) *done = r.done;
  return r.chunks;
}

static const char *const streams[] = {"stream-tools.sse", "stream-thinking.sse",
                                      "stream-error.sse", "../sse/anthropic-messages.sse"};

START_TEST(every_split_of_the_sse_gives_the_same_chunks) {
  for (size_t f = 0; f < G_N_ELEMENTS(streams); f++) {
    char *text = fixture(streams[f]);
    size_t len = strlen(text);
    hvb_error whole_err = HVB_ERROR_INIT;
    json_object *whole = decode(text, len, len, NULL, &whole_err);
    char *want = canon(whole);
    ck_assert_int_ge((int)json_object_array_length(whole), 2);
    for (size_t cut = 0; cut < len; cut++) {
      hvb_error err = HVB_ERROR_INIT;
      json_object *got = decode(text, len, cut, NULL, &err);
      char *g = canon(got);
      ck_assert_msg(strcmp(g, want) == 0, "%s cut at %zu differs", streams[f], cut);
      ck_assert_int_eq(err.status, whole_err.status);
      g_free(g);
      json_object_put(got);
    }
    g_free(want);
    json_object_put(whole);
    free(text);
  }
}
END_TEST

/* Feed chunks into an accumulator and build the result. */
static hvb_result *gather(json_object *chunks) {
  hvb_accum *acc = hvb__accum_new();
  for (size_t i = 0; i < json_object_array_length(chunks); i++)
    json_object_put(hvb__accum_feed(acc, json_object_array_get_idx(chunks, i)));
  json_object *msgs = parse("[{\"role\":\"user\",\"content\":\"hi\"}]");
  hvb_result *r = hvb__accum_result(acc, msgs);
  json_object_put(msgs);
  hvb__accum_free(acc);
  return r;
}

/* A whole SSE fixture decoded (see decode). */
static json_object *decode_fixture(const char *name, bool *done, hvb_error *err) {
  char *text = fixture(name);
  json_object *chunks = decode(text, strlen(text), 0, done, err);
  free(text);
  return chunks;
}

static hvb_result *stream_result(const char *name) {
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  json_object *chunks = decode_fixture(name, &done, &err);
  ck_assert_msg(err.status == HVB_OK, "%s: %s", name, err.message);
  ck_assert_msg(done, "%s: no message_stop seen", name);
  hvb_result *r = gather(chunks);
  json_object_put(chunks);
  return r;
}

/* The pipeline's route for a JSON reply: completion -> one chunk -> accumulator. */
static hvb_result *reply_result(const char *name) {
  json_object *g = fixture_json(name);
  json_object *c = anthropic_response(json_object_object_get(g, "anthropic"), NULL);
  ck_assert_ptr_nonnull(c);
  json_object *chunks = json_object_new_array();
  json_object_array_add(chunks, hvb__completion_to_chunk(c));
  hvb_result *r = gather(chunks);
  json_object_put(chunks);
  json_object_put(c);
  json_object_put(g);
  return r;
}

static char *project(const hvb_result *r) {
  json_object *v =
      hvb_result_project(r, "text,think,message,messages,tool_calls,usage", NULL, NULL);
  char *s = canon(v);
  json_object_put(v);
  return s;
}

START_TEST(a_gathered_stream_equals_the_reply_it_streams) {
  static const char *const pairs[][2] = {{"../sse/anthropic-messages.sse", "replies/text.json"},
                                         {"stream-thinking.sse", "replies/thinking.json"},
                                         {"stream-tools.sse", "replies/tools.json"}};
  for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
    hvb_result *s = stream_result(pairs[i][0]), *j = reply_result(pairs[i][1]);
    char *x = project(s), *y = project(j);
    ck_assert_msg(strcmp(x, y) == 0, "%s vs %s:\nstream: %s\n reply: %s", pairs[i][0],
                  pairs[i][1], x, y);
    ck_assert_str_eq(hvb_result_finish_reason(s), hvb_result_finish_reason(j));
    g_free(x);
    g_free(y);
    hvb_result_free(s);
    hvb_result_free(j);
  }
}
END_TEST

START_TEST(stream_tool_calls_are_indexed_by_ordinal_and_usage_comes_once) {
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  json_object *chunks = decode_fixture("stream-tools.sse", &done, &err);
  GString *frags = g_string_new(NULL);
  int usage_chunks = 0;
  for (size_t i = 0; i < json_object_array_length(chunks); i++) {
    json_object *c = json_object_array_get_idx(chunks, i);
    ck_assert_str_eq(hvb__json_str(c, "object"), "chat.completion.chunk");
    ck_assert_str_eq(hvb__json_str(c, "id"), "msg_014p7gG3wDgGV9EUtLvnow3U");
    if (json_object_object_get(c, "usage")) usage_chunks++;
    json_object *tc = hvb__json_path(
        json_object_array_get_idx(json_object_object_get(c, "choices"), 0), "delta.tool_calls");
    if (tc) {
      char *s = canon(json_object_array_get_idx(tc, 0));
      g_string_append_printf(frags, "%s\n", s);
      g_free(s);
    }
  }
  ck_assert_str_eq(
      frags->str,
      "{\"function\":{\"arguments\":\"\",\"name\":\"get_weather\"},\"id\":"
      "\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"index\":0,\"type\":\"function\"}\n"
      "{\"function\":{\"arguments\":\"{\\\"city\\\":\\\"San Fr\"},\"index\":0}\n"
      "{\"function\":{\"arguments\":\"ancisco, CA\\\",\\\"unit\\\":\\\"fahrenheit\\\"}\"},"
      "\"index\":0}\n"
      "{\"function\":{\"arguments\":\"\",\"name\":\"get_weather\"},\"id\":"
      "\"toolu_01VfXk6vYQmZ4yqvB2pMmBA3\",\"index\":1,\"type\":\"function\"}\n"
      "{\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Rome\\\",\\\"note\\\":\\\"say "
      "\\\\\\\"ciao\\\\\"},\"index\":1}\n"
      "{\"function\":{\"arguments\":\"\\\" twice\\\"}\"},\"index\":1}\n");
  ck_assert_int_eq(usage_chunks, 1);
  g_string_free(frags, TRUE);
  json_object_put(chunks);
}
END_TEST

/* Feed one event by hand. */
static bool event(anthropic_stream *st, const char *name, const char *data, json_object *chunks,
                  bool *done, hvb_error *err) {
  return anthropic_stream_event(st, name, data, strlen(data), chunks, done, err);
}

START_TEST(stream_errors_and_odd_events) {
  anthropic_stream *st = anthropic_stream_new();
  json_object *chunks = json_object_new_array();
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(event(st, "ping", "{\"type\":\"ping\"}", chunks, &done, &err));
  ck_assert(event(st, "future", "{\"type\":\"something_new\",\"x\":1}", chunks, &done, &err));
  ck_assert(event(st, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}",
                  chunks, &done, &err));
  ck_assert_int_eq((int)json_object_array_length(chunks), 0);
  /* the kind from the event: field when the data has no type */
  ck_assert(event(st, "message_stop", "{}", chunks, &done, &err));
  ck_assert(done);

  ck_assert(!event(st, "content_block_delta",
                   "{\"type\":\"content_block_delta\",\"index\":7,\"delta\":{\"type\":"
                   "\"input_json_delta\",\"partial_json\":\"{\"}}",
                   chunks, &done, &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(err.message, "content block 7"));

  hvb_error e2 = HVB_ERROR_INIT;
  ck_assert(!event(st, "message_start", "{\"type\":\"message_start\"", chunks, &done, &e2));
  ck_assert_int_eq(e2.status, HVB_PARSE);
  ck_assert_ptr_nonnull(strstr(e2.message, "message_start"));
  hvb_error e3 = HVB_ERROR_INIT;
  ck_assert(!event(st, "", "{\"a\":1} trailing", chunks, &done, &e3));
  ck_assert_int_eq(e3.status, HVB_PARSE);

  hvb_error e4 = HVB_ERROR_INIT;
  ck_assert(!event(st, "error",
                   "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
                   "\"Slow down\"}}",
                   chunks, &done, &e4));
  ck_assert_int_eq(e4.status, HVB_PROVIDER);
  ck_assert_str_eq(e4.type, "rate_limit_error");
  ck_assert_ptr_nonnull(strstr(e4.message, "Slow down"));
  json_object_put(chunks);
  anthropic_stream_free(st);

  hvb_error e5 = HVB_ERROR_INIT;
  json_object *c2 = json_object_new_array();
  ck_assert(!anthropic_stream_event(NULL, "", "{}", 2, c2, &done, &e5));
  ck_assert_int_eq(e5.status, HVB_ENOMEM);
  json_object_put(c2);
  anthropic_stream_free(NULL);
}
END_TEST

/* Issue #13, defect 5: a wrongly typed member was read as absent and the reply became an
 * empty success. Now the first wrong one is HVB_PARSE naming its path. */
START_TEST(wrongly_typed_replies_are_parse_errors_naming_the_member) {
  static const struct {
    const char *body, *message;
  } replies[] = {
    {"{\"content\":[{\"type\":\"text\",\"text\":42}]}",
     "content[0].text: expected a string, got an integer"},
    {"{\"content\":[\"hello\"]}", "content[0]: expected an object, got a string"},
    {"{\"content\":[{\"text\":\"x\"}]}", "content[0].type: missing (expected a string)"},
    {"{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":7,\"input\":{}}]}",
     "content[0].name: expected a string, got an integer"},
    {"{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":\"{}\"}]}",
     "content[0].input: expected an object or null, got a string"},
    {"{\"content\":[],\"stop_reason\":1}", "stop_reason: expected a string or null, got an integer"},
    {"{\"content\":[],\"role\":7}", "role: expected a string or null, got an integer"},
    {"{\"content\":[],\"usage\":\"lots\"}", "usage: expected an object or null, got a string"},
    {"{\"content\":[],\"usage\":{\"input_tokens\":\"3\"}}",
     "usage.input_tokens: expected a number or null, got a string"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(replies); i++) {
    hvb_error err = HVB_ERROR_INIT;
    json_object *body = tu_parse(replies[i].body);
    json_object *out = anthropic_response(body, &err);
    ck_assert_msg(out == NULL, "%s: accepted", replies[i].body);
    ck_assert_int_eq(err.status, HVB_PARSE);
    ck_assert_msg(strcmp(err.message, replies[i].message) == 0, "%s: %s", replies[i].body,
                  err.message);
    json_object_put(body);
  }
  static const struct {
    const char *name, *data, *message;
  } events[] = {
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":5}}",
     "content_block_delta event: delta.text: expected a string, got an integer"},
    {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":\"x\"}",
     "content_block_delta event: delta: expected an object, got a string"},
    {"content_block_start",
     "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
     "\"text\":[]}}",
     "content_block_start event: content_block.text: expected a string or null, got an array"},
    {"message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":3}}",
     "message_delta event: delta.stop_reason: expected a string or null, got an integer"},
    {"message_delta", "{\"type\":\"message_delta\",\"delta\":{},\"usage\":\"lots\"}",
     "message_delta event: usage: expected an object or null, got a string"},
    {"message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"output_tokens\":"
     "true}}}",
     "message_start event: message.usage.output_tokens: expected a number or null, got a "
     "boolean"},
    {"", "{\"type\":7}", "stream event: type: expected a string or null, got an integer"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
    anthropic_stream *st = anthropic_stream_new();
    json_object *chunks = json_object_new_array();
    bool done = false;
    hvb_error err = HVB_ERROR_INIT;
    ck_assert_msg(!event(st, events[i].name, events[i].data, chunks, &done, &err), "%s: accepted",
                  events[i].data);
    ck_assert_int_eq(err.status, HVB_PARSE);
    ck_assert_msg(strcmp(err.message, events[i].message) == 0, "%s: %s", events[i].data,
                  err.message);
    ck_assert_int_eq((int)json_object_array_length(chunks), 0);
    json_object_put(chunks);
    anthropic_stream_free(st);
  }
}
END_TEST

START_TEST(stream_error_event_fails_after_the_text_before_it) {
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  json_object *chunks = decode_fixture("stream-error.sse", &done, &err);
  ck_assert(!done);
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "overloaded_error");
  ck_assert_ptr_nonnull(strstr(err.message, "Overloaded"));
  hvb_result *r = gather(chunks);
  ck_assert_str_eq(hvb_result_text(r), "Part");
  hvb_result_free(r);
  json_object_put(chunks);
}
END_TEST

START_TEST(usage_without_message_delta_comes_at_message_stop) {
  anthropic_stream *st = anthropic_stream_new();
  json_object *chunks = json_object_new_array();
  bool done = false;
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(event(st, "message_start",
                  "{\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"c\","
                  "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}",
                  chunks, &done, &err));
  ck_assert(event(st, "message_stop", "{\"type\":\"message_stop\"}", chunks, &done, &err));
  hvb_result *r = gather(chunks);
  ck_assert_str_eq(json_object_to_json_string_ext(hvb_result_usage(r), JSON_C_TO_STRING_PLAIN),
                   "{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}");
  hvb_result_free(r);
  json_object_put(chunks);
  anthropic_stream_free(st);
}
END_TEST


/* ============================================================================================
 * The built plugin, and the library end to end against the fake upstream
 * ========================================================================================== */

START_TEST(plugin_descriptor_offers_chat_and_refuses_embeddings_and_images) {
  char *path = g_build_filename(plugin_dir, "hb-gateway-anthropic.so", NULL);
  /* Through the registry, which hands the plugin its host table (ABI 1.1): the plugin needs
   * no symbol from this program, which exports none. */
  const hvb_gateway_record *gw = hvb_gateway_lookup("anthropic");
  ck_assert_ptr_nonnull(gw);
  ck_assert_str_eq(hvb_gateway_record_path(gw), path);
  ck_assert_uint_eq(hvb_gateway_record_abi_minor(gw), HVB_GATEWAY_ABI_MINOR);
  const hvb_gateway_descriptor *d = &gw->ops;
  ck_assert_uint_eq(d->magic, HVB_GATEWAY_MAGIC);
  ck_assert_str_eq(d->name, "anthropic");
  ck_assert_uint_eq(d->caps,
                    HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EXPORT_NATIVE);
  ck_assert(d->supports(NULL, HVB_GATEWAY_OP_CHAT, NULL));
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!d->supports(NULL, HVB_GATEWAY_OP_EMBED, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_str_eq(err.message, "gateway 'anthropic' does not support embeddings (use an "
                                "embedding provider such as openai or voyage)");
  hvb_error err2 = HVB_ERROR_INIT;
  ck_assert(!d->supports(NULL, HVB_GATEWAY_OP_IMAGE, &err2));
  ck_assert_int_eq(err2.status, HVB_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(err2.message, "does not support image generation"));
  json_object *body = parse("{\"data\":[]}");
  hvb_error err3 = HVB_ERROR_INIT;
  ck_assert_ptr_null(d->parse(NULL, HVB_GATEWAY_OP_EMBED, body, &err3));
  ck_assert_int_eq(err3.status, HVB_UNSUPPORTED);
  json_object_put(body);
  ck_assert(d->prepare && d->stream_begin && d->stream_end && d->parse_event);

  /* Its own reading of error bodies (ABI 1.1 parse_error); other shapes are left alone. */
  body = parse("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
               "\"message\":\"Number of request tokens has exceeded your rate limit\"}}");
  hvb_error err4 = HVB_ERROR_INIT;
  ck_assert(d->parse_error(NULL, 429, body, &err4));
  ck_assert_int_eq(err4.http_status, 429);
  ck_assert_str_eq(err4.type, "rate_limit_error");
  ck_assert_str_eq(err4.message, "Number of request tokens has exceeded your rate limit");
  json_object_put(body);
  body = parse("{\"error\":\"plain text\"}");
  hvb_error err5 = HVB_ERROR_INIT;
  ck_assert(!d->parse_error(NULL, 500, body, &err5));
  ck_assert_int_eq(err5.status, HVB_OK);
  json_object_put(body);
  g_free(path);
}
END_TEST

/* An LLM on the anthropic gateway for the fake server; `extra` (JSON text or NULL) is merged
 * into the options. The gateway must really be anthropic, not the openai fallback. */
static hvb_llm *anthropic_llm(const char *extra) {
  char *base = g_strconcat(up_base_url(tu_srv), "/v1", NULL);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("anthropic"));
  json_object_object_add(o, "gateway", json_object_new_string("anthropic"));
  json_object_object_add(o, "base_url", json_object_new_string(base));
  json_object_object_add(o, "api_key", json_object_new_string(KEY));
  json_object_object_add(o, "model", json_object_new_string("claude-sonnet-4-5"));
  json_object_object_add(o, "max_retries", json_object_new_int(0));
  if (extra) {
    json_object *e = parse(extra);
    json_object_object_foreach(e, k, v) json_object_object_add(o, k, json_object_get(v));
    json_object_put(e);
  }
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_spec_gateway(hvb_llm_spec(llm)), "anthropic");
  json_object_put(o);
  g_free(base);
  return llm;
}

static void push_reply(const char *name) {
  json_object *g = fixture_json(name);
  up_push_body(tu_srv, MESSAGES_PATH, 200, NULL,
               json_object_to_json_string_ext(json_object_object_get(g, "anthropic"),
                                              JSON_C_TO_STRING_PLAIN));
  json_object_put(g);
}

static void push_sse(const char *name, int pieces) {
  char *text = fixture(name);
  up_push_sse(tu_srv, MESSAGES_PATH, text, pieces);
  free(text);
}

static json_object *sent_body(int i) {
  up_request *r = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(r);
  ck_assert_str_eq(r->method, "POST");
  ck_assert_str_eq(r->path, MESSAGES_PATH);
  json_object *b = parse(r->body);
  up_request_free(r);
  return b;
}

static char *sent_header(int i, const char *name) {
  up_request *r = up_request_get(tu_srv, i);
  ck_assert_ptr_nonnull(r);
  char *v = up_request_header(r, name);
  up_request_free(r);
  return v;
}

static void assert_header(int i, const char *name, const char *want) {
  char *v = sent_header(i, name);
  if (want)
    ck_assert_msg(v && strcmp(v, want) == 0, "header %s: got %s, want %s", name, v ? v : "(none)",
                  want);
  else
    ck_assert_msg(v == NULL, "header %s should be absent, got %s", name, v);
  free(v);
}

START_TEST(chat_sends_a_messages_request_and_reads_the_reply) {
  push_reply("replies/text.json");
  hvb_llm *llm = anthropic_llm("{\"temperature\":0.3,\"max_tokens\":100}");
  json_object *msgs = parse("[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
                            "\"content\":\"Hello?\"}]");
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, NULL, msgs, NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "Hello!");
  ck_assert_str_eq(hvb_result_finish_reason(r), "stop");
  ck_assert_str_eq(json_object_to_json_string_ext(hvb_result_usage(r), JSON_C_TO_STRING_PLAIN),
                   "{\"prompt_tokens\":25,\"completion_tokens\":15,\"total_tokens\":40}");

  assert_header(0, "x-api-key", KEY);
  assert_header(0, "anthropic-version", ANTHROPIC_API_VERSION);
  assert_header(0, "accept", "application/json");
  assert_header(0, "content-type", "application/json");
  assert_header(0, "authorization", NULL);
  json_object *body = sent_body(0);
  assert_valid_request(body, "the request sent");
  ck_assert_str_eq(str_at(body, "model"), "claude-sonnet-4-5");
  ck_assert_str_eq(str_at(body, "system"), "Be brief.");
  ck_assert_int_eq(body_int(body, "max_tokens"), 100);
  ck_assert_str_eq(json_object_to_json_string_ext(json_object_object_get(body, "messages"),
                                                  JSON_C_TO_STRING_PLAIN),
                   "[{\"role\":\"user\",\"content\":\"Hello?\"}]");
  json_object_put(body);
  json_object_put(msgs);
  hvb_result_free(r);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(a_stream_through_the_library_equals_the_chat_of_the_same_reply) {
  push_sse("stream-tools.sse", 9);
  push_reply("replies/tools.json");
  hvb_llm *llm = anthropic_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *st = hvb_llm_stream(llm, "Weather?", NULL, NULL, &err);
  ck_assert_msg(st != NULL, "%s", err.message);
  GString *text = g_string_new(NULL);
  int usage_deltas = 0;
  json_object *d = NULL;
  for (;;) {
    ck_assert_msg(hvb_stream_next(st, &d, &err), "%s", err.message);
    if (!d) break;
    const char *t = hvb__json_str(d, "text");
    if (t) g_string_append(text, t);
    if (json_object_object_get(d, "usage")) usage_deltas++;
  }
  hvb_result *streamed = hvb_stream_result(st, &err);
  ck_assert_msg(streamed != NULL, "%s", err.message);
  ck_assert_str_eq(text->str, "I'll check both cities.");
  ck_assert_int_eq(usage_deltas, 1);

  hvb_result *chatted = hvb_llm_chat(llm, "Weather?", NULL, NULL, &err);
  ck_assert_msg(chatted != NULL, "%s", err.message);
  char *x = project(streamed), *y = project(chatted);
  ck_assert_str_eq(x, y);
  ck_assert_str_eq(hvb_result_finish_reason(streamed), "tool_calls");
  ck_assert_str_eq(hvb_result_finish_reason(chatted), "tool_calls");
  ck_assert_int_eq((int)json_object_array_length(hvb_result_tool_calls(streamed)), 2);

  assert_header(0, "accept", "text/event-stream");
  json_object *body = sent_body(0);
  ck_assert(json_object_get_boolean(json_object_object_get(body, "stream")));
  ck_assert_ptr_null(json_object_object_get(body, "stream_options"));
  assert_valid_request(body, "the stream request sent");
  json_object_put(body);
  g_free(x);
  g_free(y);
  g_string_free(text, TRUE);
  hvb_result_free(streamed);
  hvb_result_free(chatted);
  hvb_stream_free(st);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(provider_errors_keep_type_and_message_and_never_the_key) {
  /* an error body with status 200 */
  up_push_body(tu_srv, MESSAGES_PATH, 200, NULL,
               "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
               "\"Overloaded\"}}");
  /* an HTTP 400 (the transport hands the body to the anthropic plugin's parse_error) */
  up_push_body(tu_srv, MESSAGES_PATH, 400, NULL,
               "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":"
               "\"max_tokens: Field required\"}}");
  /* an error event inside a stream */
  push_sse("stream-error.sse", 3);
  hvb_llm *llm = anthropic_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err));
  ck_assert_int_eq(err.status, HVB_PROVIDER);
  ck_assert_str_eq(err.type, "overloaded_error");
  ck_assert_ptr_nonnull(strstr(err.message, "Overloaded"));

  hvb_error err2 = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, NULL, &err2));
  ck_assert_int_eq(err2.status, HVB_HTTP);
  ck_assert_int_eq(err2.http_status, 400);
  ck_assert_str_eq(err2.type, "invalid_request_error");
  ck_assert_ptr_nonnull(strstr(err2.message, "max_tokens: Field required"));

  json_object *opts = parse("{\"stream\":true}");
  hvb_error err3 = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, "hi", NULL, opts, &err3));
  ck_assert_int_eq(err3.status, HVB_PROVIDER);
  ck_assert_str_eq(err3.type, "overloaded_error");
  json_object_put(opts);
  const hvb_error *all[] = {&err, &err2, &err3};
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
    ck_assert_ptr_null(strstr(all[i]->message, KEY));
  hvb_llm_free(llm);
}
END_TEST

START_TEST(embeddings_and_images_are_refused_before_any_request) {
  hvb_llm *llm = anthropic_llm(NULL);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(hvb_llm_supports(llm, HVB_GATEWAY_OP_CHAT, &err));
  ck_assert(!hvb_llm_supports(llm, HVB_GATEWAY_OP_EMBED, &err));
  ck_assert_int_eq(err.status, HVB_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(err.message, "gateway 'anthropic' does not support embeddings"));
  hvb_error err2 = HVB_ERROR_INIT;
  ck_assert(!hvb_llm_supports(llm, HVB_GATEWAY_OP_IMAGE, &err2));
  ck_assert_int_eq(err2.status, HVB_UNSUPPORTED);
  ck_assert_int_eq(up_request_count(tu_srv), 0);
  hvb_llm_free(llm);
}
END_TEST

START_TEST(untranslatable_requests_fail_before_sending) {
  hvb_llm *llm = anthropic_llm(NULL);
  json_object *msgs = parse("[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
                            "\"input_audio\":{\"data\":\"AAAA\",\"format\":\"wav\"}}]}]");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_llm_chat(llm, NULL, msgs, NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "input_audio"));
  ck_assert_int_eq(up_request_count(tu_srv), 0);
  json_object_put(msgs);
  hvb_llm_free(llm);
}
END_TEST

/* ============================================================================================ */


/* The plugin in the build tree: $HB_TEST_BUILDDIR when make check runs us, else found from
 * the program's own place (tests/unit/). The library finds it through HB_GATEWAY_PATH, which
 * make check sets; by hand, we set it. */
/* ---- thinking blocks across a tool loop and a session's turns ---- */

#define THINK_TOOL_REPLY                                                                       \
  "{\"id\":\"msg_t1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\"," \
  "\"content\":[{\"type\":\"thinking\",\"thinking\":\"I need the weather.\",\"signature\":"       \
  "\"SIG_one_abc\"},{\"type\":\"redacted_thinking\",\"data\":\"REDACTED_xyz\"},{\"type\":"        \
  "\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}],"  \
  "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,"           \
  "\"output_tokens\":5}}"
#define TEXT_REPLY(text)                                                                       \
  "{\"id\":\"msg_t2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\"," \
  "\"content\":[{\"type\":\"text\",\"text\":\"" text "\"}],\"stop_reason\":\"end_turn\","         \
  "\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":4}}"

#define SSE(ev, data) "event: " ev "\ndata: " data "\n\n"
#define THINK_TOOL_SSE                                                                          \
  SSE("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_t1\",\"type\":"     \
      "\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"         \
      "\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}")                \
  SSE("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"   \
      "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}")                             \
  SSE("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":" \
      "\"thinking_delta\",\"thinking\":\"I need \"}}")                                             \
  SSE("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":" \
      "\"thinking_delta\",\"thinking\":\"the weather.\"}}")                                        \
  SSE("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":" \
      "\"signature_delta\",\"signature\":\"SIG_one_abc\"}}")                                       \
  SSE("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")                      \
  SSE("content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"   \
      "{\"type\":\"redacted_thinking\",\"data\":\"REDACTED_xyz\"}}")                               \
  SSE("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}")                      \
  SSE("content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":"   \
      "{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}")        \
  SSE("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":" \
      "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}")                 \
  SSE("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}")                      \
  SSE("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","     \
      "\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}")                                  \
  SSE("message_stop", "{\"type\":\"message_stop\"}")
#define TEXT_SSE(text)                                                                          \
  SSE("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_t2\",\"type\":"     \
      "\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"         \
      "\"stop_reason\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}")                \
  SSE("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"   \
      "{\"type\":\"text\",\"text\":\"" text "\"}}")                                                \
  SSE("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")                      \
  SSE("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","     \
      "\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}")                                  \
  SSE("message_stop", "{\"type\":\"message_stop\"}")

static json_object *weather_tool(json_object *args, void *ud, hvb_error *err) {
  (void)args, (void)ud, (void)err;
  return parse("{\"temp_c\":14}");
}

/* Request i's assistant turn holds the thinking blocks, signature and redacted data as
 * Anthropic issued them, first, then the tool call; and the body is valid. */
static void assert_thinking_sent_back(int i) {
  json_object *body = sent_body(i);
  assert_valid_request(body, "a request after a thinking tool step");
  json_object *turn = json_object_array_get_idx(json_object_object_get(body, "messages"), 1);
  ck_assert_str_eq(str_at(turn, "role"), "assistant");
  json_object *content = json_object_object_get(turn, "content");
  ck_assert_str_eq(json_object_to_json_string_ext(content, JSON_C_TO_STRING_PLAIN),
                   "[{\"type\":\"thinking\",\"thinking\":\"I need the weather.\",\"signature\":"
                   "\"SIG_one_abc\"},{\"type\":\"redacted_thinking\",\"data\":\"REDACTED_xyz\"},"
                   "{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\","
                   "\"input\":{\"city\":\"Paris\"}}]");
  ck_assert_str_eq(str_at(body, "thinking.type"), "enabled");
  json_object_put(body);
}

/* A two-step tool loop with thinking on, then a second turn of the same session: both later
 * requests carry the signed thinking blocks. Plain replies, or streams when `stream`. */
static void thinking_loop_and_next_turn(bool stream) {
  if (stream) {
    up_push_sse(tu_srv, MESSAGES_PATH, THINK_TOOL_SSE, 7);
    up_push_sse(tu_srv, MESSAGES_PATH, TEXT_SSE("14 C in Paris."), 1);
    up_push_sse(tu_srv, MESSAGES_PATH, TEXT_SSE("You are welcome."), 1);
  } else {
    up_push_body(tu_srv, MESSAGES_PATH, 200, NULL, THINK_TOOL_REPLY);
    up_push_body(tu_srv, MESSAGES_PATH, 200, NULL, TEXT_REPLY("14 C in Paris."));
    up_push_body(tu_srv, MESSAGES_PATH, 200, NULL, TEXT_REPLY("You are welcome."));
  }
  hvb_llm *llm = anthropic_llm(
      "{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},\"max_tokens\":2048}");
  hvb_tools *tools = hvb_tools_new();
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(hvb_tools_add(tools, "get_weather", "Weather of a city", NULL, weather_tool, NULL,
                          &err));
  json_object *opts = parse(stream ? "{\"call_options\":{\"stream\":true}}" : "{}");
  hvb_session *s = hvb_session_new(llm, opts, &err);
  ck_assert_msg(s != NULL, "%s", err.message);
  hvb_session_set_tools(s, tools);
  hvb_result *r = hvb_session_send(s, "Weather in Paris?", NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  ck_assert_str_eq(hvb_result_text(r), "14 C in Paris.");
  ck_assert_int_eq(hvb_result_steps(r), 2);
  hvb_result_free(r);
  assert_thinking_sent_back(1);
  /* Saved and loaded: the blocks are data of the history, and survive the round trip. */
  char *saved = hvb_session_save(s, &err);
  hvb_session_free(s);
  s = hvb_session_load(llm, saved, &err);
  free(saved);
  ck_assert_msg(s != NULL, "%s", err.message);
  hvb_session_set_tools(s, tools);
  r = hvb_session_send(s, "Thanks!", NULL, &err);
  ck_assert_msg(r != NULL, "%s", err.message);
  hvb_result_free(r);
  assert_thinking_sent_back(2);
  ck_assert_int_eq(up_request_count(tu_srv), 3);
  hvb_session_free(s);
  json_object_put(opts);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
}

START_TEST(a_thinking_tool_loop_sends_the_signed_blocks_back) { thinking_loop_and_next_turn(false); }
END_TEST

START_TEST(a_streamed_thinking_tool_loop_sends_the_signed_blocks_back) {
  thinking_loop_and_next_turn(true);
}
END_TEST

static void find_plugin_dir(const char *argv0) {
  const char *env = getenv("HB_TEST_BUILDDIR");
  char *root = env && *env ? g_strdup(env) : NULL;
  if (!root) {
    char *dir = g_path_get_dirname(argv0);
    char *cand = g_build_filename(dir, "..", "..", NULL);
    root = g_canonicalize_filename(cand, NULL);
    g_free(cand);
    g_free(dir);
  }
  char *p = g_build_filename(root, "plugins", "anthropic", ".libs", NULL);
  snprintf(plugin_dir, sizeof plugin_dir, "%s", p);
  if (!getenv("HB_GATEWAY_PATH")) setenv("HB_GATEWAY_PATH", p, 1);
  g_free(p);
  g_free(root);
}

int main(int argc, char **argv) {
  (void)argc;
  snprintf(data_dir, sizeof data_dir, "%s", tu_data_dir(argv[0]));
  find_plugin_dir(argv[0]);
  Suite *s = suite_create("anthropic");

  TCase *req = tcase_create("request");
  tcase_add_test(req, golden_requests_translate_exactly);
  tcase_add_test(req, golden_requests_satisfy_the_official_schema);
  tcase_add_test(req, schema_validator_rejects_what_the_api_rejects);
  tcase_add_test(req, max_tokens_defaults_and_comes_from_either_name);
  tcase_add_test(req, tool_choice_variants);
  tcase_add_test(req, anthropic_shaped_tools_pass_through);
  tcase_add_test(req, thinking_from_effort_flag_budget_or_object);
  tcase_add_test(req, sampling_arguments_are_fitted_to_anthropic_ranges);
  tcase_add_test(req, unparsable_tool_arguments_name_the_call);
  tcase_add_test(req, content_that_anthropic_cannot_take_is_named);
  tcase_add_test(req, tool_call_ids_are_fitted_to_anthropic_pattern_consistently);
  tcase_add_test(req, anthropic_only_keys_pass_and_user_becomes_metadata);
  suite_add_tcase(s, req);

  TCase *resp = tcase_create("reply");
  tcase_add_test(resp, golden_replies_translate_exactly);
  tcase_add_test(resp, stop_reasons_map_to_finish_reasons);
  tcase_add_test(resp, error_bodies_are_provider_errors_with_type_and_message);
  suite_add_tcase(s, resp);

  TCase *str = tcase_create("stream");
  tcase_set_timeout(str, 120);
  tcase_add_test(str, every_split_of_the_sse_gives_the_same_chunks);
  tcase_add_test(str, a_gathered_stream_equals_the_reply_it_streams);
  tcase_add_test(str, stream_tool_calls_are_indexed_by_ordinal_and_usage_comes_once);
  tcase_add_test(str, stream_errors_and_odd_events);
  tcase_add_test(str, wrongly_typed_replies_are_parse_errors_naming_the_member);
  tcase_add_test(str, stream_error_event_fails_after_the_text_before_it);
  tcase_add_test(str, usage_without_message_delta_comes_at_message_stop);
  suite_add_tcase(s, str);

  TCase *plug = tcase_create("plugin");
  tcase_add_test(plug, plugin_descriptor_offers_chat_and_refuses_embeddings_and_images);
  suite_add_tcase(s, plug);

  TCase *up = tcase_create("upstream");
  tcase_set_timeout(up, 60);
  tcase_add_checked_fixture(up, tu_up_setup, tu_up_teardown);
  tcase_add_test(up, chat_sends_a_messages_request_and_reads_the_reply);
  tcase_add_test(up, a_stream_through_the_library_equals_the_chat_of_the_same_reply);
  tcase_add_test(up, a_thinking_tool_loop_sends_the_signed_blocks_back);
  tcase_add_test(up, a_streamed_thinking_tool_loop_sends_the_signed_blocks_back);
  tcase_add_test(up, provider_errors_keep_type_and_message_and_never_the_key);
  tcase_add_test(up, embeddings_and_images_are_refused_before_any_request);
  tcase_add_test(up, untranslatable_requests_fail_before_sending);
  suite_add_tcase(s, up);
  return tu_run(s);
}
