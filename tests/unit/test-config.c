/* tests/unit/test-config.c: config layers, file edits, value parsing and the catalog
 * (core/config/config.c). Every test runs in tu_isolate(): nothing reads the real home. */
#include "testutil.h"
#include "text/json.h"
#include "config/config.h"
#include "config/keys.h"

#include <heavenbase/heavenbase.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $HB_CONFIG_DIR/<rel> etc.; new strings (g_free). */
static char *user_file(const char *rel) { return g_build_filename(getenv("HB_CONFIG_DIR"), rel, NULL); }
static char *system_file(const char *rel) {
  return g_build_filename(getenv("HB_SYSTEM_CONFIG_DIR"), rel, NULL);
}
static char *data_file(const char *rel) { return g_build_filename(getenv("HB_DATA_DIR"), rel, NULL); }
static char *cwd_file(const char *rel) {
  char *cwd = g_get_current_dir();
  char *path = g_build_filename(cwd, rel, NULL);
  g_free(cwd);
  return path;
}

static void write_at(char *path, const char *content) { /* takes path */
  tu_write_file(path, content);
  g_free(path);
}

static hvb_config *load_ok(const char *start_dir) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load_from(start_dir, &err);
  ck_assert_msg(cfg != NULL, "load failed: %s", err.message);
  return cfg;
}

/* The file parsed back (new reference). */
static json_object *read_json(const char *path) {
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(text != NULL, "cannot read %s", path);
  json_object *obj = hvb__json_parse(text, -1, path, NULL);
  free(text);
  ck_assert_msg(obj != NULL, "%s is not JSON", path);
  return obj;
}

static char *canon_file(const char *path) {
  json_object *obj = read_json(path);
  char *text = hvb__json_canonical(obj);
  json_object_put(obj);
  return text;
}

static void set_ok(const char *path, const char *key, const char *value_text) {
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_config_file_set(path, key, hvb_config_parse_value(value_text, false), &err),
                "set %s: %s", key, err.message);
}

/* ---- log capture ---- */

static GString *log_text;
static void capture_log(hvb_log_level level, const char *msg, void *ud) {
  (void)ud;
  g_string_append_printf(log_text, "%s: %s\n", hvb_log_level_name(level), msg);
}
static void capture_start(void) {
  log_text = g_string_new(NULL);
  hvb_log_set_handler(capture_log, HVB_LOG_WARN, NULL);
}
static char *capture_stop(void) {
  hvb_log_set_handler(NULL, HVB_LOG_WARN, NULL);
  return g_string_free(log_text, FALSE);
}

/* ---- layers ---- */

START_TEST(layers_apply_defaults_then_system_then_user_then_project) {
  tu_isolate();
  write_at(system_file("config.json"),
           "{\"heavenbase\": {\"llm\": {\"a\": \"system\", \"b\": \"system\", \"c\": \"system\","
           " \"d\": \"system\"}}}");
  write_at(user_file("config.json"),
           "{\"heavenbase\": {\"llm\": {\"b\": \"user\", \"c\": \"user\", \"d\": \"user\"}}}");
  write_at(cwd_file(".heavenbase/config.json"),
           "{\"heavenbase\": {\"llm\": {\"c\": \"project\"}}}");
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "chat");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.a", "?"), "system");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.b", "?"), "user");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.c", "?"), "project");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.d", "?"), "user");
  ck_assert_ptr_null(hvb_config_layer_path(cfg, HVB_CONFIG_DEFAULTS));
  char *expected = user_file("config.json");
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_USER), expected);
  g_free(expected);
  expected = system_file("config.json");
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_SYSTEM), expected);
  g_free(expected);
  hvb_config_free(cfg);
}
END_TEST

START_TEST(bundled_defaults_are_there_with_no_files_at_all) {
  tu_isolate();
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "chat");
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.timeout", 0) == 600);
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.connect_timeout", 0) == 10);
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.idle_timeout", 0) == 120);
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.max_retries", 0) == 2);
  ck_assert(!hvb_config_get_bool(cfg, "heavenbase.llm.stream", true));
  ck_assert(hvb_config_get_bool(cfg, "heavenbase.llm.gateway_fallback", false));
  ck_assert(json_object_is_type(hvb_config_get(cfg, "heavenbase.llm.default_args"),
                                json_type_object));
  ck_assert_ptr_null(hvb_config_layer_path(cfg, HVB_CONFIG_PROJECT));
  hvb_config_free(cfg);
}
END_TEST

START_TEST(project_layer_is_found_walking_up_from_a_nested_directory) {
  tu_isolate();
  write_at(cwd_file(".heavenbase/config.json"), "{\"heavenbase\": {\"llm\": {\"p\": \"top\"}}}");
  char *nested = cwd_file("src/lib/deep");
  ck_assert_int_eq(g_mkdir_with_parents(nested, 0700), 0);
  hvb_config *cfg = load_ok(nested);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.p", "?"), "top");
  char *expected = cwd_file(".heavenbase/config.json");
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_PROJECT), expected);
  hvb_config_free(cfg);

  /* A nearer project wins, and the one above it is not read at all. */
  char *nearer = cwd_file("src/.heavenbase/config.json");
  tu_write_file(nearer, "{\"heavenbase\": {\"llm\": {\"q\": \"near\"}}}");
  cfg = load_ok(nested);
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_PROJECT), nearer);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.q", "?"), "near");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.p", "absent"), "absent");
  hvb_config_free(cfg);

  /* From a relative start directory too. */
  cfg = load_ok("src/lib");
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_PROJECT), nearer);
  hvb_config_free(cfg);
  g_free(nearer);
  g_free(expected);
  g_free(nested);
}
END_TEST

START_TEST(user_layer_follows_xdg_then_home_when_hb_config_dir_is_unset) {
  tu_isolate();
  unsetenv("HB_CONFIG_DIR");
  const char *xdg = getenv("XDG_CONFIG_HOME");
  char *path = g_build_filename(xdg, "heavenbase", "config.json", NULL);
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"from\": \"xdg\"}}}");
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_USER), path);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.from", "?"), "xdg");
  hvb_config_free(cfg);
  g_free(path);

  /* A relative XDG_CONFIG_HOME is invalid by the XDG spec: ~/.config is used. */
  setenv("XDG_CONFIG_HOME", "relative/dir", 1);
  char *home = g_strdup(getenv("HOME"));
  setenv("HOME", tu_tmpdir(), 1);
  cfg = load_ok(NULL);
  path = g_build_filename(getenv("HOME"), ".config", "heavenbase", "config.json", NULL);
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_USER), path);
  hvb_config_free(cfg);
  g_free(path);

  unsetenv("HB_SYSTEM_CONFIG_DIR");
  cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_layer_path(cfg, HVB_CONFIG_SYSTEM),
                   HVB_SYSCONFDIR "/heavenbase/config.json");
  hvb_config_free(cfg);
  if (home) setenv("HOME", home, 1);
  g_free(home);
}
END_TEST

START_TEST(objects_merge_across_layers_and_other_values_replace) {
  tu_isolate();
  write_at(system_file("config.json"),
           "{\"heavenbase\": {\"llm\": {\"default_args\": {\"temperature\": 0.1, \"top_p\": 0.9},"
           " \"stop\": [\"a\", \"b\"], \"timeout\": {\"weird\": 1}}}}");
  write_at(user_file("config.json"),
           "{\"heavenbase\": {\"llm\": {\"default_args\": {\"temperature\": 0.5},"
           " \"stop\": [\"c\"], \"timeout\": 30}}}");
  hvb_config *cfg = load_ok(NULL);
  char *args = hvb__json_canonical(hvb_config_get(cfg, "heavenbase.llm.default_args"));
  ck_assert_str_eq(args, "{\"temperature\":0.5,\"top_p\":0.9}");
  char *stop = hvb__json_canonical(hvb_config_get(cfg, "heavenbase.llm.stop"));
  ck_assert_str_eq(stop, "[\"c\"]");
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.timeout", -1) == 30);
  g_free(args);
  g_free(stop);
  hvb_config_free(cfg);
}
END_TEST

START_TEST(typed_getters_fall_back_on_absent_or_mistyped_values) {
  tu_isolate();
  write_at(user_file("config.json"),
           "{\"heavenbase\": {\"x\": {\"s\": \"text\", \"b\": true, \"n\": 2.5, \"i\": 7}}}");
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.x.s", "fb"), "text");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.x.b", "fb"), "fb");
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.x.missing", "fb"), "fb");
  ck_assert(hvb_config_get_bool(cfg, "heavenbase.x.b", false));
  ck_assert(hvb_config_get_bool(cfg, "heavenbase.x.s", true)); /* a string is not a bool */
  ck_assert(hvb_config_get_double(cfg, "heavenbase.x.n", 0) == 2.5);
  ck_assert(hvb_config_get_double(cfg, "heavenbase.x.i", 0) == 7);
  ck_assert(hvb_config_get_double(cfg, "heavenbase.x.s", -1) == -1);
  ck_assert_ptr_eq(hvb_config_get(cfg, NULL), hvb_config_get(cfg, ""));
  ck_assert(json_object_is_type(hvb_config_get(cfg, NULL), json_type_object));
  hvb_config_free(cfg);
}
END_TEST

/* ---- broken files ---- */

START_TEST(invalid_json_is_a_parse_error_naming_the_file_and_line) {
  tu_isolate();
  char *path = user_file("config.json");
  tu_write_file(path, "{\n  \"heavenbase\": {\n    \"llm\": oops\n  }\n}\n");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_config_load(&err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_msg(g_str_has_prefix(err.message, path), "%s", err.message);
  ck_assert_msg(strstr(err.message, "not valid JSON") && strstr(err.message, "line 3"), "%s",
                err.message);

  tu_write_file(path, "[1, 2]");
  ck_assert_ptr_null(hvb_config_load(&err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  char *expected = g_strdup_printf("%s: the top level must be a JSON object, not an array", path);
  ck_assert_str_eq(err.message, expected);
  g_free(expected);
  g_free(path);
}
END_TEST

START_TEST(empty_file_is_an_empty_layer) {
  tu_isolate();
  write_at(user_file("config.json"), " \n");
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "chat");
  hvb_config_free(cfg);
  /* Masked the usual way: a link to /dev/null. */
  char *path = user_file("config.json");
  ck_assert_int_eq(unlink(path), 0);
  ck_assert_int_eq(symlink("/dev/null", path), 0);
  cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "chat");
  hvb_config_free(cfg);
  g_free(path);
}
END_TEST

START_TEST(unreadable_layer_is_an_io_error_naming_the_file) {
  tu_isolate();
  char *path = user_file("config.json");
  ck_assert_int_eq(g_mkdir_with_parents(path, 0700), 0); /* a directory where the file goes */
  hvb_error err = HVB_ERROR_INIT;
  ck_assert_ptr_null(hvb_config_load(&err));
  ck_assert_int_eq(err.status, HVB_IO);
  ck_assert_msg(g_str_has_prefix(err.message, path), "%s", err.message);
  g_free(path);
}
END_TEST

/* ---- editing files ---- */

START_TEST(set_then_unset_round_trips) {
  tu_isolate();
  char *path = user_file("config.json");
  set_ok(path, "heavenbase.llm.default_preset", "coder");
  set_ok(path, "heavenbase.llm.default_args.temperature", "0.7");
  hvb_config *cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "coder");
  ck_assert(hvb_config_get_double(cfg, "heavenbase.llm.default_args.temperature", 0) == 0.7);
  hvb_config_free(cfg);
  /* People read this file: pretty, and a double stays as typed. */
  char *text = tu_read_file(path, NULL);
  ck_assert_msg(strstr(text, "\"temperature\": 0.7\n") != NULL, "%s", text);
  ck_assert_msg(strstr(text, "\n  \"heavenbase\": {\n") != NULL, "%s", text);
  free(text);

  hvb_error err = HVB_ERROR_INIT;
  ck_assert_msg(hvb_config_file_unset(path, "heavenbase.llm.default_preset", &err), "%s",
                err.message);
  ck_assert(hvb_config_file_unset(path, "heavenbase.llm.default_args.temperature", &err));
  cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "?"), "chat");
  hvb_config_free(cfg);
  char *left = canon_file(path);
  ck_assert_str_eq(left, "{}"); /* no skeleton of emptied objects */
  g_free(left);
  g_free(path);
}
END_TEST

START_TEST(unset_keeps_siblings_and_unrelated_keys) {
  tu_isolate();
  char *path = user_file("config.json");
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"a\": 1, \"b\": 2}}, \"other\": true}");
  ck_assert(hvb_config_file_unset(path, "heavenbase.llm.a", NULL));
  char *left = canon_file(path);
  ck_assert_str_eq(left, "{\"heavenbase\":{\"llm\":{\"b\":2}},\"other\":true}");
  g_free(left);
  g_free(path);
}
END_TEST

START_TEST(set_creates_private_directories_and_a_0600_file) {
  tu_isolate();
  char *dir = g_build_filename(tu_tmpdir(), "new", "nested", NULL);
  char *path = g_build_filename(dir, "config.json", NULL);
  set_ok(path, "heavenbase.llm.timeout", "30");
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0700);
  char *text = canon_file(path);
  ck_assert_str_eq(text, "{\"heavenbase\":{\"llm\":{\"timeout\":30}}}");
  g_free(text);

  /* An existing world-readable file becomes private on the next write. */
  ck_assert_int_eq(chmod(path, 0644), 0);
  set_ok(path, "heavenbase.llm.timeout", "31");
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0600);
  g_free(path);
  g_free(dir);
}
END_TEST

START_TEST(writes_leave_no_temporary_files_behind) {
  tu_isolate();
  char *path = user_file("config.json");
  for (int i = 0; i < 5; i++) {
    char value[16];
    snprintf(value, sizeof value, "%d", i);
    set_ok(path, "heavenbase.llm.n", value);
  }
  ck_assert(hvb_config_file_unset(path, "heavenbase.llm.n", NULL));
  GDir *d = g_dir_open(getenv("HB_CONFIG_DIR"), 0, NULL);
  ck_assert_ptr_nonnull(d);
  const char *name;
  int count = 0;
  while ((name = g_dir_read_name(d)) != NULL) {
    ck_assert_msg(!strcmp(name, "config.json"), "stray file %s", name);
    count++;
  }
  g_dir_close(d);
  ck_assert_int_eq(count, 1);
  g_free(path);
}
END_TEST

START_TEST(set_through_a_non_object_names_the_segment_and_keeps_the_file) {
  tu_isolate();
  char *path = user_file("config.json");
  const char *before = "{\"heavenbase\": {\"llm\": \"oops\"}}";
  tu_write_file(path, before);
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_config_file_set(path, "heavenbase.llm.extra.x", json_object_new_int(5), &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  char *expected = g_strdup_printf(
      "cannot set 'heavenbase.llm.extra.x' in %s: 'heavenbase.llm' is a string, not an object",
      path);
  ck_assert_str_eq(err.message, expected);
  char *after = tu_read_file(path, NULL);
  ck_assert_str_eq(after, before);
  free(after);
  g_free(expected);
  g_free(path);
}
END_TEST

START_TEST(bad_keys_are_rejected_before_touching_the_file) {
  tu_isolate();
  char *path = user_file("config.json");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_config_file_set(path, "heavenbase..llm", json_object_new_int(1), &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_str_eq(err.message, "invalid config key 'heavenbase..llm': empty segment");
  ck_assert(!hvb_config_file_set(path, "", json_object_new_int(1), &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert(!hvb_config_file_unset(path, "a.", &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert(!g_file_test(path, G_FILE_TEST_EXISTS));
  g_free(path);
}
END_TEST

START_TEST(unset_of_a_missing_key_is_not_found_naming_the_key) {
  tu_isolate();
  char *path = user_file("config.json");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_config_file_unset(path, "heavenbase.llm.nope", &err)); /* no file at all */
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  char *expected = g_strdup_printf("'heavenbase.llm.nope' is not set in %s", path);
  ck_assert_str_eq(err.message, expected);
  tu_write_file(path, "{\"heavenbase\": {\"llm\": 5}}");
  ck_assert(!hvb_config_file_unset(path, "heavenbase.llm.nope", &err)); /* crosses a number */
  ck_assert_int_eq(err.status, HVB_NOT_FOUND);
  ck_assert_str_eq(err.message, expected);
  g_free(expected);
  g_free(path);
}
END_TEST

START_TEST(editing_a_broken_file_is_a_parse_error_and_leaves_it_alone) {
  tu_isolate();
  char *path = user_file("config.json");
  tu_write_file(path, "{broken");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_config_file_set(path, "a.b", json_object_new_int(1), &err));
  ck_assert_int_eq(err.status, HVB_PARSE);
  ck_assert_msg(g_str_has_prefix(err.message, path), "%s", err.message);
  char *after = tu_read_file(path, NULL);
  ck_assert_str_eq(after, "{broken");
  free(after);
  g_free(path);
}
END_TEST

START_TEST(project_write_path_is_the_nearest_project_else_the_working_directory) {
  tu_isolate();
  char *p = hvb_config_project_write_path();
  char *expected = cwd_file(".heavenbase/config.json");
  ck_assert_str_eq(p, expected);
  free(p);
  char *nested = cwd_file("a/b");
  ck_assert_int_eq(g_mkdir_with_parents(nested, 0700), 0);
  tu_write_file(expected, "{}");
  ck_assert_int_eq(chdir(nested), 0);
  p = hvb_config_project_write_path();
  ck_assert_str_eq(p, expected);
  free(p);
  g_free(nested);
  g_free(expected);
}
END_TEST

/* ---- values from the command line ---- */

static void ck_value(const char *text, bool force, const char *canonical) {
  json_object *v = hvb_config_parse_value(text, force);
  char *got = hvb__json_canonical(v);
  ck_assert_msg(!strcmp(got, canonical), "parse_value(%s) = %s, expected %s", text, got, canonical);
  g_free(got);
  json_object_put(v);
}

START_TEST(parse_value_reads_json_else_takes_the_text) {
  ck_value("42", false, "42");
  ck_value("true", false, "true");
  ck_value("\"x\"", false, "\"x\"");
  ck_value("[1]", false, "[1]");
  ck_value("{\"a\": 0.5}", false, "{\"a\":0.5}");
  ck_value("hello", false, "\"hello\"");
  ck_value("hello world", false, "\"hello world\"");
  ck_value("", false, "\"\"");
  ck_value("42", true, "\"42\""); /* --string */
  ck_value("true", true, "\"true\"");
  ck_value("null", true, "\"null\"");
  /* Not JSON, although json-c alone would accept them. */
  ck_value("True", false, "\"True\"");
  ck_value("'x'", false, "\"'x'\"");
  ck_value("NaN", false, "\"NaN\"");
  ck_value("[1,]", false, "\"[1,]\"");
  ck_value("1 2", false, "\"1 2\"");
  ck_assert_ptr_null(hvb_config_parse_value("null", false));
  ck_assert_ptr_null(hvb_config_parse_value(" null ", false));
  json_object *v = hvb_config_parse_value("42", false);
  ck_assert(json_object_is_type(v, json_type_int));
  json_object_put(v);
}
END_TEST

/* ---- the catalog ---- */

START_TEST(catalog_has_the_bundled_entries) {
  tu_isolate();
  hvb_config *cfg = load_ok(NULL);
  json_object *cat = hvb__config_catalog(cfg);
  ck_assert_ptr_eq(cat, hvb__config_catalog(cfg)); /* built once */
  static const char *const presets[] = {"chat", "embed", "embed-local", "imagen", "custom",
                                        "mock", "system", "reason", "coder", NULL};
  for (int i = 0; presets[i]; i++)
    ck_assert_msg(hvb__json_path(json_object_object_get(cat, "presets"), presets[i]) != NULL,
                  "no preset %s", presets[i]);
  static const char *const providers[] = {"openrouter", "openai", "deepseek", "anthropic",
                                          "cohere", "voyage", "ollama", "lmstudio", "vllm",
                                          "mock", "custom", NULL};
  for (int i = 0; providers[i]; i++)
    ck_assert_msg(hvb__json_path(json_object_object_get(cat, "providers"), providers[i]) != NULL,
                  "no provider %s", providers[i]);
  ck_assert(hvb__catalog_check(cat, "merged", NULL));
  hvb_config_free(cfg);
}
END_TEST

START_TEST(a_dropin_file_adds_a_provider_and_a_preset) {
  tu_isolate();
  write_at(data_file("catalog.d/acme.json"),
           "{\"providers\": {\"acme\": {\"base_url\": \"https://acme.test/v1\","
           " \"api_key_env\": \"ACME_KEY\", \"description\": \"Acme\"}},"
           " \"presets\": {\"acme-chat\": {\"model\": \"acme-1\", \"provider\": \"acme\"}}}");
  hvb_config *cfg = load_ok(NULL);
  json_object *cat = hvb__config_catalog(cfg);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "providers.acme.base_url")),
                   "https://acme.test/v1");
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "presets.acme-chat.provider")),
                   "acme");
  ck_assert_ptr_nonnull(hvb__json_path(cat, "providers.openai")); /* bundled still there */
  hvb_config_free(cfg);
}
END_TEST

START_TEST(dropins_apply_by_directory_then_name_and_config_sits_on_top) {
  tu_isolate();
#define X_PROVIDER(url) "{\"providers\": {\"x\": {\"base_url\": \"" url "\"}}}"
  write_at(data_file("catalog.d/20-b.json"), X_PROVIDER("data-20"));
  write_at(data_file("catalog.d/10-a.json"), X_PROVIDER("data-10"));
  write_at(system_file("catalog.d/50-sys.json"),
           "{\"providers\": {\"x\": {\"gateway\": \"sys\"}}}");
  write_at(user_file("catalog.d/00-user.json"), X_PROVIDER("user"));
#undef X_PROVIDER
  write_at(data_file("catalog.d/README"), "not json, not read");
  hvb_config *cfg = load_ok(NULL);
  json_object *cat = hvb__config_catalog(cfg);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "providers.x.base_url")), "user");
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "providers.x.gateway")), "sys");
  hvb_config_free(cfg);

  char *user_dropin = user_file("catalog.d/00-user.json");
  unlink(user_dropin);
  g_free(user_dropin);
  write_at(user_file("config.json"),
           "{\"heavenbase\": {\"llm\": {\"providers\": {\"x\": {\"description\": \"config\"}}}}}");
  cfg = load_ok(NULL);
  cat = hvb__config_catalog(cfg);
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "providers.x.base_url")),
                   "data-20");
  ck_assert_str_eq(json_object_get_string(hvb__json_path(cat, "providers.x.description")),
                   "config");
  hvb_config_free(cfg);
}
END_TEST

START_TEST(a_bad_dropin_is_skipped_with_a_warning_naming_it) {
  tu_isolate();
  char *broken = data_file("catalog.d/10-broken.json");
  char *mistyped = data_file("catalog.d/20-mistyped.json");
  tu_write_file(broken, "{\"providers\": {\"bad\": ");
  tu_write_file(mistyped, "{\"providers\": {\"half\": {\"base_url\": \"https://h\"},"
                          " \"bad2\": {\"base_url\": 5}}}");
  write_at(data_file("catalog.d/30-good.json"),
           "{\"providers\": {\"good\": {\"base_url\": \"https://good\"}}}");
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  json_object *cat = hvb__config_catalog(cfg);
  char *log = capture_stop();
  ck_assert_ptr_nonnull(hvb__json_path(cat, "providers.good"));
  ck_assert_ptr_null(hvb__json_path(cat, "providers.half")); /* the whole file is skipped */
  ck_assert_ptr_null(hvb__json_path(cat, "providers.bad2"));
  ck_assert_ptr_nonnull(hvb__json_path(cat, "presets.chat"));
  ck_assert_msg(strstr(log, broken) && strstr(log, "not valid JSON"), "log: %s", log);
  char *expected = g_strdup_printf("warn: catalog drop-in skipped: %s: catalog provider 'bad2': "
                                   "'base_url' must be a string, not 5\n", mistyped);
  ck_assert_msg(strstr(log, expected), "log: %s", log);
  g_free(expected);
  g_free(log);
  g_free(broken);
  g_free(mistyped);
  hvb_config_free(cfg);
}
END_TEST

START_TEST(config_catalog_sections_of_the_wrong_type_are_ignored_with_a_warning) {
  tu_isolate();
  write_at(user_file("config.json"), "{\"heavenbase\": {\"llm\": {\"presets\": [1]}}}");
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  ck_assert_ptr_nonnull(hvb__json_path(hvb__config_catalog(cfg), "presets.chat"));
  char *log = capture_stop();
  ck_assert_msg(strstr(log, "key 'heavenbase.llm.presets' must be an object of objects, not an "
                            "array; ignored"),
                "log: %s", log);
  g_free(log);
  hvb_config_free(cfg);
}
END_TEST

/* ---- known keys: types and ranges (core/config/keys.c) ---- */

static double get_num(const hvb_config *cfg, const char *key) {
  return hvb_config_get_double(cfg, key, -1);
}

START_TEST(mistyped_values_in_a_file_are_ignored_with_a_warning_and_the_defaults_stay) {
  tu_isolate();
  write_at(system_file("config.json"), "{\"heavenbase\": {\"llm\": {\"idle_timeout\": 7}}}");
  char *path = user_file("config.json");
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"timeout\": null, \"max_retries\": \"x\","
                      " \"connect_timeout\": -1, \"idle_timeout\": \"abc\","
                      " \"gateway_fallback\": \"no\", \"max_steps\": 0,"
                      " \"cache\": {\"policy\": \"weird\", \"enabled\": \"no\","
                      " \"namespaces\": {\"txt\": {}}}, \"default_preset\": \"mock\"}}}");
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  char *log = capture_stop();
  /* Before: a null timeout read as "no limit", a string retry count as 0 retries. */
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.timeout"), 600);
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.max_retries"), 2);
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.connect_timeout"), 10);
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.idle_timeout"), 7); /* the layer below */
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.max_steps"), 20);
  ck_assert(hvb_config_get_bool(cfg, "heavenbase.llm.gateway_fallback", false));
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.cache.policy", ""), "deterministic");
  ck_assert(hvb_config_get_bool(cfg, "heavenbase.llm.cache.enabled", false));
  ck_assert_ptr_null(hvb_config_get(cfg, "heavenbase.llm.cache.namespaces.txt"));
  /* The good values of the same file apply. */
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", ""), "mock");
  const char *keys[] = {"timeout' must be a number of seconds from 0 to 10000000, not null",
                        "max_retries' must be an integer from 0 to 100, not a string",
                        "connect_timeout' must be", "idle_timeout' must be",
                        "gateway_fallback' must be true or false", "max_steps' must be",
                        "cache.policy' must be \"deterministic\", not 'weird'",
                        "cache.enabled' must be", "cache.namespaces.txt' is not a known key"};
  for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
    char *want = g_strdup_printf("warn: config %s: key 'heavenbase.llm.%s", path, keys[i]);
    ck_assert_msg(strstr(log, want), "want %s in log: %s", want, log);
    g_free(want);
  }
  ck_assert_msg(strstr(log, "ignored, the default stays in force"), "log: %s", log);
  g_free(log);
  hvb_config_free(cfg);
  g_free(path);
}
END_TEST

START_TEST(a_file_whose_llm_section_is_not_an_object_keeps_every_default) {
  tu_isolate();
  write_at(user_file("config.json"), "{\"heavenbase\": {\"llm\": \"x\"}}");
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  char *log = capture_stop();
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.timeout"), 600);
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.max_retries"), 2);
  ck_assert_msg(strstr(log, "key 'heavenbase.llm' must be an object, not a string"), "log: %s",
                log);
  g_free(log);
  hvb_config_free(cfg);
}
END_TEST

START_TEST(the_bundled_defaults_pass_the_table_of_keys) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *defaults = hvb__resource_json("config.json", &err);
  ck_assert_msg(defaults != NULL, "%s", err.message);
  ck_assert_msg(hvb__config_keys_check_tree(defaults, &err), "%s", err.message);
  json_object_put(defaults);
}
END_TEST

static void check_refused(const char *key, const char *value, const char *message) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *v = value ? hvb_config_parse_value(value, false) : NULL;
  ck_assert_msg(!hvb_config_check(key, v, &err), "%s = %s accepted", key, value);
  ck_assert_int_eq(err.status, HVB_EINVAL);
  ck_assert_msg(strstr(err.message, message), "%s = %s: %s", key, value, err.message);
  json_object_put(v);
}

static void check_accepted(const char *key, const char *value) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *v = hvb_config_parse_value(value, false);
  ck_assert_msg(hvb_config_check(key, v, &err), "%s = %s: %s", key, value, err.message);
  json_object_put(v);
}

START_TEST(check_refuses_wrong_types_and_ranges_and_keys_past_the_limits) {
  tu_isolate();
  check_refused("heavenbase.llm.timeout", "abc",
                "config key 'heavenbase.llm.timeout' must be a number of seconds from 0 to "
                "10000000, not a string");
  check_refused("heavenbase.llm.timeout", "null", "not null");
  check_refused("heavenbase.llm.timeout", "1e8", "not 100000000");
  check_refused("heavenbase.llm.max_retries", "101", "must be an integer from 0 to 100, not 101");
  check_refused("heavenbase.llm", "\"x\"", "'heavenbase.llm' must be an object");
  check_refused("heavenbase.llm.timeout.x", "5", "'heavenbase.llm.timeout' must be a number");
  check_refused("heavenbase.llm.cache", "{\"max_bytes\": -1}", "'heavenbase.llm.cache.max_bytes'");
  check_refused("heavenbase.llm.tool_call_repair.strcit", "true", "is not a known key");
  check_refused("heavenbase.llm.providers.x", "\"str\"",
                "'heavenbase.llm.providers.x' must be an object (a catalog entry), not a string");
  check_refused("heavenbase.llm.cache", "false",
                "to turn the cache off, set heavenbase.llm.cache.enabled to false");
  check_refused("heavenbase.trusted_projects", "[\"relative/dir\"]", "absolute directory paths");
  check_accepted("heavenbase.llm.timeout", "30");
  check_accepted("heavenbase.llm.default_preset", "null"); /* clears: the built-in default */
  check_accepted("heavenbase.llm.cache", "{\"enabled\": false, \"namespaces\": {\"text\": {}}}");
  check_accepted("heavenbase.mine.anything", "\"x\""); /* keys the library does not read */
  /* Depth and length: 16 parts and 256 bytes pass, one more does not. */
  GString *key = g_string_new("k");
  for (int i = 1; i < 16; i++) g_string_append(key, ".k");
  check_accepted(key->str, "1");
  g_string_append(key, ".k");
  check_refused(key->str, "1", "17 dotted parts, at most 16 allowed");
  g_string_assign(key, "heavenbase.");
  while (key->len < 256) g_string_append_c(key, 'x');
  check_accepted(key->str, "1");
  g_string_append_c(key, 'x');
  check_refused(key->str, "1", "config key of 257 bytes is longer than the 256 allowed");
  g_string_free(key, TRUE);
}
END_TEST

START_TEST(set_refuses_what_check_refuses_and_writes_nothing) {
  tu_isolate();
  char *path = user_file("config.json");
  hvb_error err = HVB_ERROR_INIT;
  ck_assert(!hvb_config_file_set(path, "heavenbase.llm.timeout", json_object_new_string("abc"),
                                 &err));
  ck_assert_int_eq(err.status, HVB_EINVAL);
  GString *deep = g_string_new("a");
  for (int i = 0; i < 39; i++) g_string_append(deep, ".b");
  ck_assert(!hvb_config_file_set(path, deep->str, json_object_new_int(1), &err));
  ck_assert_msg(strstr(err.message, "40 dotted parts"), "%s", err.message);
  g_string_free(deep, TRUE);
  ck_assert(access(path, F_OK) != 0);
  g_free(path);
}
END_TEST

/* ---- which project files are read (core/config/trust.c) ---- */

START_TEST(a_project_file_writable_by_others_is_ignored_with_a_warning_naming_it) {
  tu_isolate();
  char *path = cwd_file(".heavenbase/config.json");
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"default_preset\": \"mock\"}}}");
  ck_assert_int_eq(chmod(path, 0666), 0);
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  char *log = capture_stop();
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", ""), "chat");
  char *want = g_strdup_printf("warn: config %s ignored: it is writable by group or others", path);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  g_free(want);
  g_free(log);
  hvb_config_free(cfg);
  ck_assert_int_eq(chmod(path, 0600), 0);
  cfg = load_ok(NULL);
  ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", ""), "mock");
  hvb_config_free(cfg);
  if (geteuid() == 0) { /* only root can give a file away */
    ck_assert_int_eq(chown(path, 65534, 65534), 0);
    capture_start();
    cfg = load_ok(NULL);
    log = capture_stop();
    ck_assert_str_eq(hvb_config_get_string(cfg, "heavenbase.llm.default_preset", ""), "chat");
    ck_assert_msg(strstr(log, "ignored: it is owned by uid 65534, not by you"), "log: %s", log);
    g_free(log);
    hvb_config_free(cfg);
  }
  g_free(path);
}
END_TEST

START_TEST(a_project_file_that_redirects_a_key_needs_the_directory_trusted) {
  tu_isolate();
  char *path = cwd_file(".heavenbase/config.json");
  tu_write_file(path, "{\"heavenbase\": {\"llm\": {\"providers\": {\"openai\": "
                      "{\"base_url\": \"http://evil.test/v1\"}}}}}");
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  char *log = capture_stop();
  ck_assert_str_eq(hvb__json_str(hvb__json_path(hvb__config_catalog(cfg), "providers.openai"),
                                 "base_url"),
                   "https://api.openai.com/v1");
  char *cwd = g_get_current_dir();
  char *real = realpath(cwd, NULL);
  char *want = g_strdup_printf("warn: config %s ignored: it sets "
                               "'heavenbase.llm.providers.openai.base_url', which changes where "
                               "an API key is sent, and %s is not a trusted project directory "
                               "(to trust it: hb cfg trust %s)",
                               path, real, real);
  ck_assert_msg(strstr(log, want), "log: %s", log);
  hvb_config_free(cfg);
  /* Trusted from a subdirectory: the project directory is recorded, canonical. */
  char *sub = cwd_file("sub");
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  ck_assert_int_eq(chdir(sub), 0);
  hvb_error err = HVB_ERROR_INIT;
  char *recorded = NULL;
  ck_assert_msg(hvb_config_trust(NULL, &recorded, &err), "%s", err.message);
  ck_assert_str_eq(recorded, real);
  free(recorded);
  ck_assert(hvb_config_trust(NULL, NULL, &err)); /* again: recorded once */
  char *user = user_file("config.json");
  json_object *file = read_json(user);
  ck_assert_int_eq(json_object_array_length(hvb__json_path(file, "heavenbase.trusted_projects")), 1);
  json_object_put(file);
  cfg = load_ok(NULL);
  ck_assert_str_eq(hvb__json_str(hvb__json_path(hvb__config_catalog(cfg), "providers.openai"),
                                 "base_url"),
                   "http://evil.test/v1");
  hvb_config_free(cfg);
  /* A project file cannot trust itself. */
  ck_assert_int_eq(chdir(cwd), 0);
  g_free(want);
  g_free(log);
  free(real);
  g_free(cwd);
  g_free(sub);
  g_free(user);
  g_free(path);
}
END_TEST

START_TEST(a_project_file_cannot_trust_itself) {
  tu_isolate();
  char *cwd = g_get_current_dir();
  char *real = realpath(cwd, NULL);
  char *text = g_strdup_printf("{\"heavenbase\": {\"trusted_projects\": [\"%s\"], \"llm\": "
                               "{\"presets\": {\"chat\": {\"base_url\": \"http://evil.test\"}}}}}",
                               real);
  write_at(cwd_file(".heavenbase/config.json"), text);
  capture_start();
  hvb_config *cfg = load_ok(NULL);
  char *log = capture_stop();
  ck_assert_ptr_null(hvb__json_path(hvb__config_catalog(cfg), "presets.chat.base_url"));
  ck_assert_msg(strstr(log, "'heavenbase.llm.presets.chat.base_url'"), "log: %s", log);
  hvb_config_free(cfg);
  /* Without the redirect the file is read, but its list is not: trust is the user's. */
  write_at(cwd_file(".heavenbase/config.json"),
           "{\"heavenbase\": {\"trusted_projects\": [\"/\"], \"llm\": {\"max_steps\": 3}}}");
  cfg = load_ok(NULL);
  ck_assert_double_eq(get_num(cfg, "heavenbase.llm.max_steps"), 3);
  ck_assert_ptr_null(hvb_config_get(cfg, "heavenbase.trusted_projects"));
  hvb_config_free(cfg);
  write_at(cwd_file(".heavenbase/config.json"), "{\"other\": 1}"); /* no heavenbase at all */
  cfg = load_ok(NULL);
  ck_assert_double_eq(get_num(cfg, "other"), 1);
  hvb_config_free(cfg);
  g_free(log);
  g_free(text);
  free(real);
  g_free(cwd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("layers");
  tcase_add_test(tc, layers_apply_defaults_then_system_then_user_then_project);
  tcase_add_test(tc, bundled_defaults_are_there_with_no_files_at_all);
  tcase_add_test(tc, project_layer_is_found_walking_up_from_a_nested_directory);
  tcase_add_test(tc, user_layer_follows_xdg_then_home_when_hb_config_dir_is_unset);
  tcase_add_test(tc, objects_merge_across_layers_and_other_values_replace);
  tcase_add_test(tc, typed_getters_fall_back_on_absent_or_mistyped_values);
  tcase_add_test(tc, invalid_json_is_a_parse_error_naming_the_file_and_line);
  tcase_add_test(tc, empty_file_is_an_empty_layer);
  tcase_add_test(tc, unreadable_layer_is_an_io_error_naming_the_file);
  suite_add_tcase(s, tc);

  tc = tcase_create("files");
  tcase_add_test(tc, set_then_unset_round_trips);
  tcase_add_test(tc, unset_keeps_siblings_and_unrelated_keys);
  tcase_add_test(tc, set_creates_private_directories_and_a_0600_file);
  tcase_add_test(tc, writes_leave_no_temporary_files_behind);
  tcase_add_test(tc, set_through_a_non_object_names_the_segment_and_keeps_the_file);
  tcase_add_test(tc, bad_keys_are_rejected_before_touching_the_file);
  tcase_add_test(tc, unset_of_a_missing_key_is_not_found_naming_the_key);
  tcase_add_test(tc, editing_a_broken_file_is_a_parse_error_and_leaves_it_alone);
  tcase_add_test(tc, project_write_path_is_the_nearest_project_else_the_working_directory);
  tcase_add_test(tc, parse_value_reads_json_else_takes_the_text);
  suite_add_tcase(s, tc);

  tc = tcase_create("catalog");
  tcase_add_test(tc, catalog_has_the_bundled_entries);
  tcase_add_test(tc, a_dropin_file_adds_a_provider_and_a_preset);
  tcase_add_test(tc, dropins_apply_by_directory_then_name_and_config_sits_on_top);
  tcase_add_test(tc, a_bad_dropin_is_skipped_with_a_warning_naming_it);
  tcase_add_test(tc, config_catalog_sections_of_the_wrong_type_are_ignored_with_a_warning);
  suite_add_tcase(s, tc);

  tc = tcase_create("keys");
  tcase_add_test(tc, mistyped_values_in_a_file_are_ignored_with_a_warning_and_the_defaults_stay);
  tcase_add_test(tc, a_file_whose_llm_section_is_not_an_object_keeps_every_default);
  tcase_add_test(tc, the_bundled_defaults_pass_the_table_of_keys);
  tcase_add_test(tc, check_refuses_wrong_types_and_ranges_and_keys_past_the_limits);
  tcase_add_test(tc, set_refuses_what_check_refuses_and_writes_nothing);
  suite_add_tcase(s, tc);

  tc = tcase_create("trust");
  tcase_add_test(tc, a_project_file_writable_by_others_is_ignored_with_a_warning_naming_it);
  tcase_add_test(tc, a_project_file_that_redirects_a_key_needs_the_directory_trusted);
  tcase_add_test(tc, a_project_file_cannot_trust_itself);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
