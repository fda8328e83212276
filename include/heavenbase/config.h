/* heavenbase/config.h: the layered JSON configuration.
 *
 * Layers, lowest first (a later layer wins; objects merge key by key, any other value
 * replaces):
 *   1. defaults   bundled with the library (data/config.json, embedded)
 *   2. system     $(sysconfdir)/heavenbase/config.json, or $HB_SYSTEM_CONFIG_DIR/config.json
 *   3. user       $HB_CONFIG_DIR/config.json, else ${XDG_CONFIG_HOME:-~/.config}/heavenbase/config.json
 *   4. project    .heavenbase/config.json in the working directory or the nearest parent
 * Constructor and call options (see llm.h) sit above these four.
 *
 * Keys are dotted paths that include the root object: "heavenbase.llm.default_preset".
 * Environment variables are ignored in setuid/setgid processes.
 *
 * Thread safety: an hvb_config is immutable once loaded and may be read from any number of
 * threads. The file functions (hvb_config_file_*) take no locks: concurrent writers of one file
 * are serialized only by the atomic rename (the last writer wins).
 */
#ifndef HEAVENBASE_CONFIG_H
#define HEAVENBASE_CONFIG_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_config hvb_config;

typedef enum hvb_config_layer {
  HVB_CONFIG_DEFAULTS = 0,
  HVB_CONFIG_SYSTEM = 1,
  HVB_CONFIG_USER = 2,
  HVB_CONFIG_PROJECT = 3
} hvb_config_layer;

#define HVB_CONFIG_N_LAYERS 4

/* Load and merge all layers for the current environment and working directory.
 * Returns a new config (free with hvb_config_free), or NULL with err set: HVB_PARSE when a file
 * is not valid JSON or its root is not an object (the message names the file and the line and
 * column), HVB_IO when a file exists but cannot be read, HVB_TOO_LARGE for a file over 16 MiB.
 * Missing files are simply absent layers; an empty (or all-whitespace) file is an empty one. */
hvb_config *hvb_config_load(hvb_error *err);

/* As hvb_config_load, with `start_dir` (may be NULL: the working directory) as the directory
 * where the search for the project layer begins. */
hvb_config *hvb_config_load_from(const char *start_dir, hvb_error *err);

/* NULL is a no-op. */
void hvb_config_free(hvb_config *cfg);

/* The merged value at dotted `key` ("heavenbase.llm.cache.enabled"), borrowed from `cfg` and
 * valid until hvb_config_free; NULL when the key is absent. A NULL or empty key gives the
 * whole merged tree. */
json_object *hvb_config_get(const hvb_config *cfg, const char *key);

/* Typed getters with a fallback returned when the key is absent or of another type. */
const char *hvb_config_get_string(const hvb_config *cfg, const char *key, const char *fallback);
bool hvb_config_get_bool(const hvb_config *cfg, const char *key, bool fallback);
double hvb_config_get_double(const hvb_config *cfg, const char *key, double fallback);

/* The file behind `layer` (whether or not it exists), borrowed; NULL for the defaults layer,
 * for the project layer when no .heavenbase/config.json was found, and for the user layer
 * when there is no home directory to hold it. */
const char *hvb_config_layer_path(const hvb_config *cfg, hvb_config_layer layer);

/* The path a project-layer write would use: the nearest existing .heavenbase/config.json, else
 * .heavenbase/config.json in the working directory. New string: free with free(). */
char *hvb_config_project_write_path(void);

/* Set dotted `key` to `value` in the JSON file at `path`, creating the file and its parent
 * directories (mode 0700) when missing, and intermediate objects along the key. `value` is
 * taken (its reference passes to the file's tree; also on failure). The write is atomic (temp
 * file in the same directory + fsync + rename) and the file's mode is 0600; the file is
 * rewritten indented by two spaces, keeping the order of its keys. HVB_EINVAL for a bad key
 * (empty segment) or when a key segment crosses a non-object value (named); HVB_PARSE when
 * the existing file is not a JSON object; HVB_IO on a write failure. */
bool hvb_config_file_set(const char *path, const char *key, json_object *value, hvb_error *err);

/* Remove dotted `key` from the file at `path`, and the objects above it that the removal
 * leaves empty (so that set then unset restores the file). HVB_NOT_FOUND (naming the key and
 * file) when it is not set there. Same write rules as hvb_config_file_set. */
bool hvb_config_file_unset(const char *path, const char *key, hvb_error *err);

/* Parse a command-line value: JSON when the whole `text` is strict JSON (RFC 8259: so
 * True, 'x', NaN and [1,] stay strings), else the string itself. `force_string` always gives
 * a string. Returns a new reference; NULL only for the JSON literal `null` (json-c's
 * representation of null), never on failure. */
json_object *hvb_config_parse_value(const char *text, bool force_string);

#ifdef __cplusplus
}
#endif

#endif
