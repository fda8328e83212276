/* tests/unit/test-jsonschema.c: the JSON Schema validator (core/text/jsonschema*.c): each
 * keyword of the subset accepting and refusing, the error messages with their pointers,
 * malformed and hostile schemas, and sharing a compiled schema between threads. Agreement
 * with ajv over a generated corpus is tests/schema/test-schema-ajv.sh. */
#include "testutil.h"
#include "text/jsonschema.h"

#include <glib.h>
#include <string.h>

/* JSON text to a value; "null" gives NULL, json-c's null. */
static json_object *js(const char *text) {
  enum json_tokener_error jerr = json_tokener_success;
  json_object *v = json_tokener_parse_verbose(text, &jerr);
  ck_assert_msg(jerr == json_tokener_success, "bad test JSON: %s", text);
  return v;
}

static hvb_schema *compile_ok(const char *schema) {
  json_object *doc = js(schema);
  hvb_error err = HVB_ERROR_INIT;
  hvb_schema *s = hvb__schema_compile(doc, &err);
  json_object_put(doc); /* the compiled schema keeps its own reference */
  ck_assert_msg(s != NULL, "%s: %s", schema, err.message);
  return s;
}

/* `instance` against `schema`: valid when want is NULL, else invalid with exactly that
 * message and HVB_SCHEMA. */
static void check(const char *schema, const char *instance, const char *want) {
  hvb_schema *s = compile_ok(schema);
  json_object *x = js(instance);
  hvb_error err = HVB_ERROR_INIT;
  bool ok = hvb__schema_validate(s, x, &err);
  if (!want) {
    ck_assert_msg(ok, "%s against %s: %s", instance, schema, err.message);
  } else {
    ck_assert_msg(!ok, "%s against %s: valid, want \"%s\"", instance, schema, want);
    ck_assert_int_eq(err.status, HVB_SCHEMA);
    ck_assert_str_eq(err.message, want);
  }
  json_object_put(x);
  hvb__schema_free(s);
}
#define valid(schema, instance) check(schema, instance, NULL)

/* The schema must be refused with HVB_EINVAL and exactly this message. */
static void refused(const char *schema, const char *want) {
  json_object *doc = js(schema);
  hvb_error err = HVB_ERROR_INIT;
  hvb_schema *s = hvb__schema_compile(doc, &err);
  json_object_put(doc);
  ck_assert_msg(s == NULL, "%s was compiled, want \"%s\"", schema, want);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, want);
}

/* ---- types ---- */

START_TEST(type_accepts_its_type_and_names_expected_and_got) {
  valid("{\"type\":\"string\"}", "\"x\"");
  check("{\"type\":\"string\"}", "5", "/: expected string, got number");
  valid("{\"type\":\"object\"}", "{}");
  check("{\"type\":\"object\"}", "[]", "/: expected object, got array");
  valid("{\"type\":\"array\"}", "[]");
  valid("{\"type\":\"boolean\"}", "false");
  check("{\"type\":\"boolean\"}", "0", "/: expected boolean, got number");
  valid("{\"type\":\"null\"}", "null");
  check("{\"type\":\"null\"}", "\"\"", "/: expected null, got string");
  check("{\"type\":\"number\"}", "null", "/: expected number, got null");
}
END_TEST

START_TEST(integer_is_a_number_without_fraction_whatever_its_spelling) {
  valid("{\"type\":\"integer\"}", "3");
  valid("{\"type\":\"integer\"}", "3.0"); /* as JavaScript, so ajv, reads it */
  valid("{\"type\":\"integer\"}", "-9223372036854775808");
  check("{\"type\":\"integer\"}", "3.5", "/: expected integer, got number");
  valid("{\"type\":\"number\"}", "3");
  valid("{\"type\":\"number\"}", "3.5");
}
END_TEST

START_TEST(type_arrays_and_nullable_fields) {
  const char *schema = "{\"type\":[\"string\",\"null\"]}";
  valid(schema, "\"a\"");
  valid(schema, "null");
  check(schema, "1.5", "/: expected string or null, got number");
  check("{\"type\":[\"null\",\"integer\",\"array\"]}", "{}", "/: expected array, integer or null, got object");
  const char *any = "{\"anyOf\":[{\"type\":\"string\",\"maxLength\":2},{\"type\":\"null\"}]}";
  valid(any, "null");
  valid(any, "\"ab\"");
  check(any, "\"abc\"", "/: must be at most 2 characters long, is 3");
  check(any, "7", "/: matches no anyOf alternative (expected string, got number)");
}
END_TEST

/* ---- objects ---- */

START_TEST(properties_required_and_additional_properties) {
  const char *schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                       "\"age\":{\"type\":\"integer\"}},\"required\":[\"name\"],"
                       "\"additionalProperties\":false}";
  valid(schema, "{\"name\":\"Ada\",\"age\":36}");
  valid(schema, "{\"name\":\"Ada\"}");
  check(schema, "{\"age\":36}", "/: missing required property \"name\"");
  check(schema, "{\"name\":\"Ada\",\"age\":\"36\"}", "/age: expected integer, got string");
  check(schema, "{\"name\":\"Ada\",\"email\":\"a@b.c\"}", "/: property \"email\" is not allowed");
  const char *typed = "{\"properties\":{\"a\":true},\"additionalProperties\":{\"type\":\"number\"}}";
  valid(typed, "{\"a\":\"x\",\"b\":1,\"c\":2.5}");
  check(typed, "{\"a\":\"x\",\"b\":\"1\"}", "/b: expected number, got string");
  valid("{\"additionalProperties\":true}", "{\"x\":1}");
}
END_TEST

START_TEST(pointers_escape_slash_and_tilde_and_index_arrays) {
  const char *schema = "{\"properties\":{\"a/b\":{\"properties\":{\"t~x\":{\"items\":{\"type\":\"number\"}}}}}}";
  check(schema, "{\"a/b\":{\"t~x\":[1,2,\"3\"]}}", "/a~1b/t~0x/2: expected number, got string");
  const char *items = "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
                      "{\"type\":\"object\",\"properties\":{\"price\":{\"type\":\"number\"}}}}}}";
  check(items, "{\"items\":[{\"price\":1},{\"price\":2.5},{\"price\":\"9.99\"}]}",
        "/items/2/price: expected number, got string");
}
END_TEST

START_TEST(object_counts_patterns_names_and_dependencies) {
  check("{\"minProperties\":2}", "{\"a\":1}", "/: must have at least 2 properties, has 1");
  check("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "/: must have at most 1 properties, has 2");
  valid("{\"minProperties\":1}", "[]"); /* applies to objects only */
  const char *pat = "{\"patternProperties\":{\"^n_\":{\"type\":\"number\"}},\"additionalProperties\":false}";
  valid(pat, "{\"n_a\":1}");
  check(pat, "{\"n_a\":\"1\"}", "/n_a: expected number, got string");
  check(pat, "{\"x\":1}", "/: property \"x\" is not allowed");
  check("{\"propertyNames\":{\"maxLength\":3}}", "{\"abcd\":1}",
        "/abcd: property name does not match propertyNames: must be at most 3 characters long, is 4");
  check("{\"dependentRequired\":{\"card\":[\"cvv\"]}}", "{\"card\":\"4111\"}",
        "/: missing property \"cvv\", required when \"card\" is present");
}
END_TEST

/* ---- values ---- */

START_TEST(enum_and_const_compare_as_json_values) {
  const char *e = "{\"enum\":[\"red\",\"green\",{\"a\":[1,2]},1]}";
  valid(e, "\"green\"");
  valid(e, "{\"a\":[1,2.0]}");
  valid(e, "1.0");
  check(e, "\"blue\"", "/: must be one of [\"red\",\"green\",{\"a\":[1,2]},1]");
  check(e, "{\"a\":[2,1]}", "/: must be one of [\"red\",\"green\",{\"a\":[1,2]},1]");
  valid("{\"const\":{\"x\":1,\"y\":null}}", "{\"y\":null,\"x\":1}");
  check("{\"const\":{\"x\":1,\"y\":null}}", "{\"x\":1}", "/: must be equal to the constant {\"x\":1,\"y\":null}");
  valid("{\"const\":null}", "null");
  check("{\"const\":null}", "false", "/: must be equal to the constant null");
}
END_TEST

START_TEST(numeric_bounds_and_multiple_of) {
  check("{\"minimum\":1}", "0", "/: must be >= 1");
  valid("{\"minimum\":1}", "1");
  check("{\"maximum\":2.5}", "2.6", "/: must be <= 2.5");
  check("{\"exclusiveMinimum\":0}", "0", "/: must be > 0");
  valid("{\"exclusiveMinimum\":0}", "0.001");
  check("{\"exclusiveMaximum\":10}", "10.0", "/: must be < 10");
  valid("{\"maximum\":9223372036854775807}", "9223372036854775807"); /* exact beyond 2^53 */
  check("{\"maximum\":9223372036854775806}", "9223372036854775807", "/: must be <= 9223372036854775806");
  valid("{\"multipleOf\":0.5}", "2.5");
  check("{\"multipleOf\":3}", "10", "/: must be a multiple of 3");
  valid("{\"multipleOf\":0.1}", "0.2");
  /* 0.3 / 0.1 is 2.9999999999999996 in binary floating point: ajv says no, and so do we. */
  check("{\"multipleOf\":0.1}", "0.3", "/: must be a multiple of 0.1");
  valid("{\"minimum\":5}", "\"3\""); /* applies to numbers only */
}
END_TEST

START_TEST(string_lengths_count_code_points) {
  valid("{\"maxLength\":1}", "\"\\ud83d\\ude00\""); /* one emoji: 4 bytes, 2 UTF-16 units, 1 code point */
  valid("{\"minLength\":3,\"maxLength\":3}", "\"日本語\"");
  check("{\"minLength\":2}", "\"é\"", "/: must be at least 2 characters long, is 1");
  check("{\"maxLength\":0}", "\"a\"", "/: must be at most 0 characters long, is 1");
}
END_TEST

START_TEST(pattern_searches_with_ecma_anchors) {
  valid("{\"pattern\":\"b+\"}", "\"abbc\""); /* not anchored */
  check("{\"pattern\":\"^[a-z]+$\"}", "\"abC\"", "/: must match the pattern \"^[a-z]+$\"");
  /* $ is the end of the string, not before a final newline as in PCRE by default */
  check("{\"pattern\":\"^a$\"}", "\"a\\n\"", "/: must match the pattern \"^a$\"");
  check("{\"pattern\":\"^.$\"}", "\"\\r\"", "/: must match the pattern \"^.$\"");
  valid("{\"pattern\":\"^.$\"}", "\"é\""); /* . is a code point */
  /* \d and \w are ASCII, as in JavaScript (GLib's PCRE would take any Unicode digit) */
  valid("{\"pattern\":\"^\\\\d{3}$\"}", "\"123\"");
  check("{\"pattern\":\"^\\\\d$\"}", "\"\u0663\"", "/: must match the pattern \"^\\d$\"");
  check("{\"pattern\":\"^[\\\\w.]+$\"}", "\"a.é\"", "/: must match the pattern \"^[\\w.]+$\"");
  valid("{\"pattern\":\"^[\\\\w.]+$\"}", "\"a_1.B\"");
  valid("{\"pattern\":\"^\\\\D\\\\W$\"}", "\"a-\"");
  /* \uXXXX and \u{...} escapes, which PCRE lacks */
  valid("{\"pattern\":\"^caf\\\\u00e9$\"}", "\"café\"");
  valid("{\"pattern\":\"^\\\\u{1F600}$\"}", "\"\\ud83d\\ude00\"");
  valid("{\"pattern\":\"^a\\\\\\\\d$\"}", "\"a\\\\d\""); /* an escaped backslash, then d */
}
END_TEST

START_TEST(formats_as_ajv_formats_checks_them) {
  static const struct { const char *format, *value; bool ok; } cases[] = {
    {"date-time", "2024-02-29T12:30:00Z", true}, {"date-time", "2024-02-29t12:30:00.5+05:30", true},
    {"date-time", "2024-02-29 12:30:00Z", true}, {"date-time", "2023-02-29T12:30:00Z", false},
    {"date-time", "2024-01-01T10:00:00", false}, {"date-time", "2016-12-31T23:59:60Z", true},
    {"date-time", "2016-12-31T22:59:60Z", false}, {"date", "2000-02-29", true},
    {"date", "1900-02-29", false}, {"date", "2024-4-01", false}, {"time", "23:59:59.999-01:00", true},
    {"time", "10:00:00", false}, {"time", "10:00:00+0100", true}, {"time", "24:00:00Z", false},
    {"time", "10:00:00+24:00", false}, {"email", "first.last+tag@example.co", true},
    {"email", "a..b@example.com", false}, {"email", "a@b", false},
    {"uuid", "123e4567-e89b-12d3-a456-426614174000", true},
    {"uuid", "urn:uuid:123E4567-E89B-12D3-A456-426614174000", true},
    {"uuid", "123e4567e89b12d3a456426614174000", false}, {"uri", "https://example.com/a?b#c", true},
    {"uri", "urn:isbn:0451450523", true}, {"uri", "/relative", false}, {"uri", "http://a b/", false},
    {"uri-reference", "../x#y", true}, {"ipv4", "192.168.0.1", true}, {"ipv4", "256.1.1.1", false},
    {"ipv4", "1.2.3", false}, {"ipv6", "2001:db8::1", true}, {"ipv6", "::ffff:192.0.2.1", true},
    {"ipv6", "2001:db8:::1", false}, {"hostname", "api.example.com", true},
    {"hostname", "-x.com", false}, {"duration", "P1Y2M3DT4H5M6S", true}, {"duration", "PT", false},
    {"date", "２０２４-01-01", false}, /* digits are ASCII digits */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *schema = g_strdup_printf("{\"format\":\"%s\"}", cases[i].format);
    char *value = g_strdup_printf("\"%s\"", cases[i].value);
    char *msg = g_strdup_printf("/: must be a valid %s", cases[i].format);
    check(schema, value, cases[i].ok ? NULL : msg);
    g_free(schema), g_free(value), g_free(msg);
  }
  valid("{\"format\":\"email\"}", "42"); /* formats apply to strings only */
}
END_TEST

/* ---- arrays ---- */

START_TEST(items_prefix_items_and_array_bounds) {
  const char *tuple = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}";
  valid(tuple, "[\"a\",1]");
  valid(tuple, "[\"a\"]");
  check(tuple, "[\"a\",\"b\"]", "/1: expected integer, got string");
  check(tuple, "[\"a\",1,true]", "/2: no value is allowed here (false schema)");
  valid("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"type\":\"number\"}}", "[\"a\",1,2]");
  check("{\"minItems\":2}", "[1]", "/: must have at least 2 items, has 1");
  check("{\"maxItems\":1}", "[1,2]", "/: must have at most 1 items, has 2");
  check("{\"uniqueItems\":true}", "[1,{\"a\":2},{\"a\":2.0}]", "/: items 1 and 2 are equal (uniqueItems)");
  valid("{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1}]");
  check("{\"contains\":{\"type\":\"integer\"}}", "[\"a\"]", "/: must contain at least 1 matching item, has 0");
  check("{\"contains\":{\"type\":\"integer\"},\"maxContains\":1}", "[1,2]",
        "/: must contain at most 1 matching items, has 2");
  valid("{\"contains\":{\"type\":\"integer\"},\"minContains\":0}", "[]");
}
END_TEST

/* ---- combinators ---- */

START_TEST(any_of_reports_the_branch_that_got_furthest) {
  const char *s = "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"price\":{\"type\":\"number\"}}},"
                  "{\"type\":\"null\"}]}";
  valid(s, "null");
  valid(s, "{\"price\":1}");
  check(s, "{\"price\":\"1\"}", "/price: expected number, got string");
  check(s, "7", "/: matches no anyOf alternative (expected object, got number)");
}
END_TEST

START_TEST(one_of_all_of_not_and_if_then_else) {
  const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}";
  valid(one, "1");
  valid(one, "2.5");
  check(one, "3", "/: matches more than one oneOf alternative (0 and 1)");
  /* the branch that got past its type check is the one reported */
  check(one, "1.5", "/: must be >= 2");
  check("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}", "true",
        "/: matches no oneOf alternative (expected integer, got boolean)");
  const char *all = "{\"allOf\":[{\"type\":\"string\"},{\"minLength\":2}]}";
  valid(all, "\"ab\"");
  check(all, "\"a\"", "/: must be at least 2 characters long, is 1");
  check("{\"properties\":{\"x\":{\"not\":{\"type\":\"string\"}}}}", "{\"x\":\"s\"}",
        "/x: must not match the schema at /properties/x/not");
  const char *cond = "{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":2},\"else\":{\"type\":\"string\"}}";
  valid(cond, "2");
  valid(cond, "\"a\"");
  check(cond, "1", "/: must be >= 2");
  check(cond, "1.5", "/: expected string, got number");
  check("false", "1", "/: no value is allowed here (false schema)");
  valid("true", "{\"anything\":[1]}");
}
END_TEST

/* ---- references ---- */

START_TEST(refs_resolve_json_pointers_and_recurse) {
  const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"value\":{\"type\":\"integer\"},"
                     "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},"
                     "\"required\":[\"value\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}";
  valid(tree, "{\"value\":1,\"children\":[{\"value\":2},{\"value\":3,\"children\":[]}]}");
  check(tree, "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":\"3\"}]}]}",
        "/children/0/children/0/value: expected integer, got string");
  const char *list = "{\"type\":\"object\",\"properties\":{\"next\":{\"anyOf\":[{\"$ref\":\"#\"},{\"type\":\"null\"}]}},"
                     "\"required\":[\"next\"]}";
  valid(list, "{\"next\":{\"next\":{\"next\":null}}}");
  check(list, "{\"next\":{\"next\":{}}}", "/next/next: missing required property \"next\"");
  check(list, "{\"next\":{\"next\":7}}", "/next/next: matches no anyOf alternative (expected object, got number)");
  /* escaped and percent-encoded pointers, definitions, and $ref beside other keywords */
  valid("{\"definitions\":{\"a/b\":{\"type\":\"string\"}},\"$ref\":\"#/definitions/a~1b\"}", "\"x\"");
  valid("{\"$defs\":{\"a b\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a%20b\"}", "\"x\"");
  check("{\"$defs\":{\"s\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/s\",\"maxLength\":1}", "\"xy\"",
        "/: must be at most 1 characters long, is 2");
  valid("{\"prefixItems\":[{\"type\":\"string\"}],\"items\":{\"$ref\":\"#/prefixItems/0\"}}", "[\"a\",\"b\"]");
}
END_TEST

START_TEST(remote_anchor_and_unresolved_refs_are_refused) {
  refused("{\"$ref\":\"https://example.com/s.json\"}",
          "schema /$ref: \"https://example.com/s.json\": only references within the schema (\"#/...\") "
          "are supported, not remote ones");
  refused("{\"properties\":{\"a\":{\"$ref\":\"other.json#/x\"}}}",
          "schema /properties/a/$ref: \"other.json#/x\": only references within the schema (\"#/...\") "
          "are supported, not remote ones");
  refused("{\"$ref\":\"#node\"}",
          "schema /$ref: \"#node\": anchors are not supported, only JSON pointers (\"#/...\")");
  refused("{\"$ref\":\"#/$defs/missing\"}", "schema /$ref: \"#/$defs/missing\" does not resolve to a value in the schema");
  refused("{\"$ref\":\"#/$defs/n\",\"$defs\":{\"n\":5}}", "schema /$defs/n: a schema must be an object or a boolean, not number");
}
END_TEST

/* ---- malformed and hostile schemas ---- */

START_TEST(malformed_schemas_name_the_pointer_and_keyword) {
  refused("{\"type\":\"strin\"}", "schema /type: unknown type \"strin\"");
  refused("{\"properties\":{\"a\":{\"minLength\":-1}}}", "schema /properties/a/minLength: must be a non-negative integer");
  refused("{\"items\":{\"maxItems\":1.5}}", "schema /items/maxItems: must be a non-negative integer");
  refused("{\"multipleOf\":0}", "schema /multipleOf: must be greater than 0");
  refused("{\"minimum\":\"1\"}", "schema /minimum: must be a number");
  refused("{\"required\":[\"a\",1]}", "schema /required: must be an array of strings");
  refused("{\"anyOf\":[]}", "schema /anyOf: must be a non-empty array of schemas");
  refused("{\"enum\":\"a\"}", "schema /enum: must be an array");
  refused("{\"properties\":{\"a\":3}}", "schema /properties/a: a schema must be an object or a boolean, not number");
  refused("{\"format\":\"color\"}", "schema /format: unknown format \"color\"");
  refused("[1]", "schema /: a schema must be an object or a boolean, not array");
  json_object *doc = js("{\"pattern\":\"(\"}");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb__schema_compile(doc, &err));
  json_object_put(doc);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(g_str_has_prefix(err.message, "schema /pattern: invalid regular expression \"(\": "), "%s", err.message);
}
END_TEST

START_TEST(keywords_that_would_accept_wrong_values_are_refused_annotations_ignored) {
  refused("{\"unevaluatedProperties\":false}",
          "schema /unevaluatedProperties: keyword not supported (docs/jsonschema.md lists the subset)");
  refused("{\"properties\":{\"a\":{\"$dynamicRef\":\"#x\"}}}",
          "schema /properties/a/$dynamicRef: keyword not supported (docs/jsonschema.md lists the subset)");
  refused("{\"properties\":{\"a\":{\"$id\":\"https://x/y\"}}}", "schema /properties/a/$id: $id is supported on the root schema only");
  valid("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"https://x/root\","
        "\"title\":\"T\",\"description\":\"d\",\"default\":1,\"examples\":[1],\"x-vendor\":{\"type\":5},"
        "\"type\":\"integer\"}", "1");
}
END_TEST

START_TEST(ref_loops_that_never_descend_are_refused) {
  const char *msg = "schema /: $ref loop: the schema refers back to itself without descending into the "
                    "instance, so no value could be validated";
  refused("{\"$ref\":\"#\"}", msg);
  refused("{\"anyOf\":[{\"type\":\"null\"},{\"$ref\":\"#\"}]}", msg);
  refused("{\"$defs\":{\"a\":{\"allOf\":[{\"$ref\":\"#/$defs/b\"}]},\"b\":{\"not\":{\"$ref\":\"#/$defs/a\"}}},"
          "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a\"}}}",
          "schema /$defs/a: $ref loop: the schema refers back to itself without descending into the "
          "instance, so no value could be validated");
  /* through items or properties the recursion descends, and ends with the instance */
  valid("{\"items\":{\"$ref\":\"#\"}}", "[[[]],[]]");
}
END_TEST

START_TEST(deep_schemas_long_ref_chains_and_deep_instances_fail_cleanly) {
  /* 100000 nested "items": refused, not a stack overflow */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 100000; i++) g_string_append(deep, "{\"items\":");
  g_string_append(deep, "true");
  for (int i = 0; i < 100000; i++) g_string_append_c(deep, '}');
  json_tokener *tok = json_tokener_new_ex(200000);
  json_object *doc = json_tokener_parse_ex(tok, deep->str, (int)deep->len);
  json_tokener_free(tok);
  g_string_free(deep, TRUE);
  ck_assert_ptr_nonnull(doc);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb__schema_compile(doc, &err));
  json_object_put(doc);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, ": schema nested too deeply"), "%s", err.message);

  /* chains of $refs: 200 links compile and validate; 20000 are refused, as nesting */
  for (int links = 200; links <= 20000; links *= 100) {
    json_object *defs = json_object_new_object();
    for (int i = 0; i < links; i++) {
      json_object *d = json_object_new_object();
      char ref[32];
      g_snprintf(ref, sizeof ref, "#/$defs/d%d", i + 1);
      if (i + 1 < links) json_object_object_add(d, "$ref", json_object_new_string(ref));
      else json_object_object_add(d, "type", json_object_new_string("integer"));
      g_snprintf(ref, sizeof ref, "d%d", i);
      json_object_object_add(defs, ref, d);
    }
    doc = json_object_new_object();
    json_object_object_add(doc, "$defs", defs);
    json_object_object_add(doc, "$ref", json_object_new_string("#/$defs/d0"));
    hvb_error cerr = HVB_ERROR_INIT;
    hvb_schema *s = hvb__schema_compile(doc, &cerr);
    json_object_put(doc);
    if (links == 200) {
      ck_assert_msg(s != NULL, "%s", cerr.message);
      json_object *half = json_object_new_double(0.5);
      ck_assert(!hvb__schema_validate(s, half, &err));
      ck_assert_str_eq(err.message, "/: expected integer, got number");
      json_object_put(half);
      hvb__schema_free(s);
    } else {
      ck_assert_ptr_null(s);
      ck_assert_int_eq(cerr.status, HVB_EINVAL);
      ck_assert_msg(strstr(cerr.message, ": schema nested too deeply"), "%s", cerr.message);
    }
  }

  /* an instance 5000 arrays deep against a recursive schema */
  hvb_schema *s = compile_ok("{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}");
  json_object *inst = json_object_new_array();
  for (int i = 0; i < 5000; i++) {
    json_object *outer = json_object_new_array();
    json_object_array_add(outer, inst);
    inst = outer;
  }
  ck_assert(!hvb__schema_validate(s, inst, &err));
  ck_assert_int_eq(err.status, HVB_SCHEMA);
  ck_assert_msg(strstr(err.message, ": schema and value nested deeper than 512 levels"), "%s", err.message);
  json_object_put(inst);
  hvb__schema_free(s);
}
END_TEST

/* ---- sharing ---- */

typedef struct {
  const hvb_schema *s;
  json_object *good, *bad;
  int failures;
} share_arg;

static gpointer validate_many(gpointer p) {
  share_arg *a = p;
  for (int i = 0; i < 300; i++) {
    hvb_error err = HVB_ERROR_INIT;
    if (!hvb__schema_validate(a->s, a->good, NULL)) a->failures++;
    if (hvb__schema_validate(a->s, a->bad, &err) ||
        strcmp(err.message, "/items/1/when: must be a valid date-time") != 0)
      a->failures++;
  }
  return NULL;
}

START_TEST(one_compiled_schema_serves_many_threads_at_once) {
  hvb_schema *s = compile_ok("{\"properties\":{\"items\":{\"items\":{\"properties\":{\"when\":"
                             "{\"type\":\"string\",\"format\":\"date-time\"},\"tag\":{\"pattern\":\"^[a-z]+$\"}}}}}}");
  json_object *good = js("{\"items\":[{\"when\":\"2024-01-01T00:00:00Z\",\"tag\":\"ab\"}]}");
  json_object *bad = js("{\"items\":[{\"tag\":\"ab\"},{\"when\":\"yesterday\"}]}");
  share_arg args[4];
  GThread *threads[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (share_arg){.s = s, .good = good, .bad = bad};
    threads[i] = g_thread_new("validate", validate_many, &args[i]);
  }
  for (int i = 0; i < 4; i++) {
    g_thread_join(threads[i]);
    ck_assert_int_eq(args[i].failures, 0);
  }
  json_object_put(good);
  json_object_put(bad);
  hvb__schema_free(s);
}
END_TEST

START_TEST(the_compiled_schema_outlives_the_callers_reference) {
  json_object *doc = js("{\"enum\":[\"a\",\"b\"]}");
  hvb_schema *s = hvb__schema_compile(doc, NULL);
  ck_assert_ptr_nonnull(s);
  json_object_put(doc);
  json_object *x = js("\"c\"");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb__schema_validate(s, x, &err));
  ck_assert_str_eq(err.message, "/: must be one of [\"a\",\"b\"]");
  ck_assert(!hvb__schema_validate(s, x, NULL)); /* err may be NULL */
  json_object_put(x);
  hvb__schema_free(s);
  hvb__schema_free(NULL);
  ck_assert_ptr_null(hvb__schema_compile(NULL, &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("jsonschema");
  TCase *tc = tcase_create("keywords");
  tcase_add_test(tc, type_accepts_its_type_and_names_expected_and_got);
  tcase_add_test(tc, integer_is_a_number_without_fraction_whatever_its_spelling);
  tcase_add_test(tc, type_arrays_and_nullable_fields);
  tcase_add_test(tc, properties_required_and_additional_properties);
  tcase_add_test(tc, pointers_escape_slash_and_tilde_and_index_arrays);
  tcase_add_test(tc, object_counts_patterns_names_and_dependencies);
  tcase_add_test(tc, enum_and_const_compare_as_json_values);
  tcase_add_test(tc, numeric_bounds_and_multiple_of);
  tcase_add_test(tc, string_lengths_count_code_points);
  tcase_add_test(tc, pattern_searches_with_ecma_anchors);
  tcase_add_test(tc, formats_as_ajv_formats_checks_them);
  tcase_add_test(tc, items_prefix_items_and_array_bounds);
  tcase_add_test(tc, any_of_reports_the_branch_that_got_furthest);
  tcase_add_test(tc, one_of_all_of_not_and_if_then_else);
  suite_add_tcase(s, tc);

  tc = tcase_create("refs");
  tcase_add_test(tc, refs_resolve_json_pointers_and_recurse);
  tcase_add_test(tc, remote_anchor_and_unresolved_refs_are_refused);
  suite_add_tcase(s, tc);

  tc = tcase_create("schemas");
  tcase_add_test(tc, malformed_schemas_name_the_pointer_and_keyword);
  tcase_add_test(tc, keywords_that_would_accept_wrong_values_are_refused_annotations_ignored);
  tcase_add_test(tc, ref_loops_that_never_descend_are_refused);
  tcase_add_test(tc, deep_schemas_long_ref_chains_and_deep_instances_fail_cleanly);
  tcase_set_timeout(tc, 60); /* under valgrind */
  suite_add_tcase(s, tc);

  tc = tcase_create("sharing");
  tcase_add_test(tc, one_compiled_schema_serves_many_threads_at_once);
  tcase_add_test(tc, the_compiled_schema_outlives_the_callers_reference);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
