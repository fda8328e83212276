/* tests/fuzz/fuzz-config.c: libFuzzer target for config and catalog files.
 *
 * The input is the content of one config layer (or catalog drop-in) file. It goes through
 * what the loader does with such a file: parse it, merge it over the bundled defaults, check
 * it as a catalog fragment, walk dotted keys; and, as command-line text, through
 * hvb_config_parse_value. Beyond "no crash, no leak", it checks that the canonical form is a
 * fixed point: canonical(parse(canonical(x))) == canonical(x), which the hashes rely on.
 *
 *   ./configure --enable-fuzzing CC=clang \
 *       CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined"
 *   make tests/fuzz/fuzz-config
 *   mkdir -p corpus && cp data/*.json corpus/
 *   ./tests/fuzz/fuzz-config -max_total_time=60 corpus/
 * The CFLAGS instrument the library too: without them only this file gets coverage feedback
 * and the fuzzer is nearly blind.
 */
#include "text/json.h"
#include "config/config.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static json_object *defaults;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  defaults = hvb__resource_json("config.json", NULL);
  if (!defaults) abort(); /* the bundled file itself is broken */
  return 0;
}

static void check_canonical_fixed_point(json_object *obj) {
  char *once = hvb__json_canonical(obj);
  json_object *again = hvb__json_parse(once, -1, "canonical", NULL);
  char *twice = again ? hvb__json_canonical(again) : NULL;
  /* A JSON null at the top is the one canonical text hvb__json_parse refuses. */
  if (strcmp(once, "null") != 0 && (!twice || strcmp(once, twice) != 0)) {
    fprintf(stderr, "canonical form is not stable:\n  %s\n  %s\n", once, twice ? twice : "(error)");
    abort();
  }
  g_free(twice);
  json_object_put(again);
  g_free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  hvb_error err = HVB_ERROR_INIT;
  json_object *layer = hvb__config_parse_layer(text, size, "fuzz.json", &err);
  if (layer) {
    json_object *merged = hvb__json_copy(defaults);
    hvb__json_merge(merged, layer);
    check_canonical_fixed_point(merged);
    /* Merging the same layer again changes nothing. */
    char *before = hvb__json_canonical(merged);
    hvb__json_merge(merged, layer);
    char *after = hvb__json_canonical(merged);
    if (strcmp(before, after) != 0) abort();
    g_free(before);
    g_free(after);

    (void)hvb__json_path(merged, "heavenbase.llm.default_preset");
    (void)hvb__json_path(merged, "heavenbase.llm.presets.chat.model");
    hvb_error cat_err = HVB_ERROR_INIT;
    if (!hvb__catalog_check(layer, "fuzz.json", &cat_err) && cat_err.status == HVB_OK) abort();
    char *keys = hvb__json_keys_list(layer);
    g_free(keys);
    json_object_put(merged);
    json_object_put(layer);
  } else if (err.status == HVB_OK || !strstr(err.message, "fuzz.json")) {
    abort(); /* a failure must be reported, naming the file */
  }

  char *line = g_strndup(text, size);
  json_object *value = hvb_config_parse_value(line, false);
  if (value) check_canonical_fixed_point(value);
  json_object_put(value);
  g_free(line);
  return 0;
}
