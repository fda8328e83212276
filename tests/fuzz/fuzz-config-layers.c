/* tests/fuzz/fuzz-config-layers.c: libFuzzer target for the layered configuration.
 *
 * The input is cut at each line "--" into up to five files: the system config, the user
 * config, the project config (.heavenbase/config.json two directories above the working
 * directory of the load), a user catalog drop-in and a system catalog drop-in. They are
 * written to a scratch tree and loaded the way every program loads them
 * (hvb_config_load_from with HB_SYSTEM_CONFIG_DIR and HB_CONFIG_DIR pointing there), then the
 * merged tree is read through the public getters and a spec is resolved from it, as `hb chat`
 * would. Beyond "no crash, no leak, no hang": a failure has a status and a message, and
 * loading the same files twice gives the same merged tree.
 *
 *   ./configure --enable-fuzzing CC=clang && make fuzz FUZZ_SECONDS=60
 */
#include "text/json.h"

#include <heavenbase/heavenbase.h>
#include <heavenbase/log.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { SYSTEM, USER, PROJECT, USER_DROPIN, SYSTEM_DROPIN, NPARTS };

static char *root, *paths[NPARTS], *start_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hvb_log_set_handler(NULL, HVB_LOG_ERROR, NULL);
  root = g_dir_make_tmp("hb-fuzz-config-XXXXXX", NULL);
  if (!root) abort();
  char *sys = g_build_filename(root, "system", NULL), *user = g_build_filename(root, "user", NULL);
  paths[SYSTEM] = g_build_filename(sys, "config.json", NULL);
  paths[USER] = g_build_filename(user, "config.json", NULL);
  paths[PROJECT] = g_build_filename(root, "proj", ".heavenbase", "config.json", NULL);
  paths[USER_DROPIN] = g_build_filename(user, "catalog.d", "fuzz.json", NULL);
  paths[SYSTEM_DROPIN] = g_build_filename(sys, "catalog.d", "fuzz.json", NULL);
  start_dir = g_build_filename(root, "proj", "a", "b", NULL);
  for (int i = 0; i < NPARTS; i++) {
    char *dir = g_path_get_dirname(paths[i]);
    g_mkdir_with_parents(dir, 0700);
    g_free(dir);
  }
  g_mkdir_with_parents(start_dir, 0700);
  char *data = g_build_filename(root, "no-data", NULL);
  g_setenv("HB_SYSTEM_CONFIG_DIR", sys, TRUE);
  g_setenv("HB_CONFIG_DIR", user, TRUE);
  g_setenv("HB_DATA_DIR", data, TRUE);
  g_setenv("HB_GATEWAY_PATH", data, TRUE);
  g_setenv("HB_GATEWAY_SYSTEM_DIR", data, TRUE);
  g_free(data);
  g_free(sys);
  g_free(user);
  return 0;
}

/* Write the parts of the input (cut at "\n--\n") to their files; absent parts, no file. */
static void write_parts(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  for (int i = 0; i < NPARTS; i++) {
    if (p > end) {
      g_unlink(paths[i]);
      continue;
    }
    const char *cut = g_strstr_len(p, end - p, "\n--\n");
    size_t len = cut ? (size_t)(cut - p) : (size_t)(end - p);
    if (!g_file_set_contents(paths[i], p, (gssize)len, NULL)) abort();
    g_chmod(paths[i], 0600);
    p = cut ? cut + 4 : end + 1;
  }
}

static char *merged_text(const hvb_config *cfg) {
  json_object *all = hvb_config_get(cfg, NULL);
  return all ? hvb__json_canonical(all) : g_strdup("");
}

static void read_back(hvb_config *cfg) {
  (void)hvb_config_get_string(cfg, "heavenbase.llm.default_preset", "chat");
  (void)hvb_config_get_double(cfg, "heavenbase.llm.timeout", 600);
  (void)hvb_config_get_bool(cfg, "heavenbase.llm.cache.enabled", true);
  (void)hvb_config_get(cfg, "heavenbase.llm.presets.chat.model");
  for (int l = 0; l < HVB_CONFIG_N_LAYERS; l++) (void)hvb_config_layer_path(cfg, l);
  static const char *const presets[] = {NULL, "mock"}; /* each builds the catalog anew */
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    json_object *opts = json_object_new_object();
    if (presets[i]) json_object_object_add(opts, "preset", json_object_new_string(presets[i]));
    hvb_error err = HVB_ERROR_INIT;
    hvb_spec *spec = hvb_spec_resolve(cfg, opts, &err);
    if (spec) {
      json_object *j = hvb_spec_to_json(spec, false);
      json_object_put(j);
      hvb_spec_unref(spec);
    } else if (err.status == HVB_OK || !err.message[0]) {
      abort(); /* a failure says what failed */
    }
    json_object_put(opts);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  write_parts(data, size);
  hvb_error err = HVB_ERROR_INIT, err2 = HVB_ERROR_INIT;
  hvb_config *cfg = hvb_config_load_from(start_dir, &err);
  hvb_config *again = hvb_config_load_from(start_dir, &err2);
  if (!cfg != !again) abort(); /* the same files, the same outcome */
  if (!cfg) {
    if (err.status == HVB_OK || !err.message[0] || err.status != err2.status) abort();
    return 0;
  }
  char *a = merged_text(cfg), *b = merged_text(again);
  if (strcmp(a, b) != 0) abort();
  g_free(a);
  g_free(b);
  read_back(cfg);
  hvb_config_free(again);
  hvb_config_free(cfg);
  return 0;
}
