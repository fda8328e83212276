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
 * Keys are dotted paths that include the root object: "heavenbase.llm.default_preset", at most
 * 16 parts and 256 bytes. Every key the library reads has a type and a range (hvb_config_check);
 * a file value that breaks them is ignored with a warning naming the file and the key, and the
 * value of the layers below (in the end the bundled default) stays in force.
 *
 * The project layer is read only when its file is owned by the invoking user (or root) and is
 * not writable by group or others; otherwise it is ignored with a warning naming it. A project
 * file that changes where an API key is sent (a provider's "base_url", "api_key_env" or
 * "headers", a preset's "base_url", a gateway server's entry) is ignored, with a warning, unless
 * its directory is listed in the user layer's "heavenbase.trusted_projects" (hvb_config_trust).
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

/* The user layer's file for the current environment, whether or not it exists, found without
 * reading any config file; NULL when there is no home directory. New string: free with free(). */
char *hvb_config_user_path(void);

/* Check that dotted `key` is within the limits (1 to 16 non-empty parts, at most 256 bytes)
 * and that `value` (borrowed; NULL for JSON null) has the type and range the library reads
 * there, when the key is one it reads (or holds keys it reads). HVB_EINVAL with a message
 * naming the key and what it must be. Thread-safe. */
bool hvb_config_check(const char *key, json_object *value, hvb_error *err);

/* Trust the project directory `dir` (NULL: the one holding the nearest .heavenbase/ from the
 * working directory, else the working directory) to change where API keys are sent: its
 * canonical path (realpath) is added to "heavenbase.trusted_projects" in the user layer's file
 * (with hvb_config_file_set's rules; nothing is written when it is already there). `recorded`
 * (may be NULL) gets the path recorded, free with free(). HVB_NOT_FOUND when the directory
 * does not exist or there is no user config file; HVB_EINVAL when it is not a directory;
 * the errors of hvb_config_file_set. */
bool hvb_config_trust(const char *dir, char **recorded, hvb_error *err);

/* Set dotted `key` to `value` in the JSON file at `path`, creating the file and its parent
 * directories (mode 0700) when missing, and intermediate objects along the key. `value` is
 * taken (its reference passes to the file's tree; also on failure). The write is atomic (temp
 * file in the same directory + fsync + rename) and the file's mode is 0600; the file is
 * rewritten indented by two spaces, keeping the order of its keys. HVB_EINVAL for a key or
 * value that hvb_config_check refuses, or when a key segment crosses a non-object value (named); HVB_PARSE when
 * the existing file is not a JSON object; HVB_IO on a write failure. */
bool hvb_config_file_set(const char *path, const char *key, json_object *value, hvb_error *err);

/* Remove dotted `key` from the file at `path`, and the objects above it that the removal
 * leaves empty (so that set then unset restores the file). HVB_NOT_FOUND (naming the key and
 * file) when it is not set there. Same write rules as hvb_config_file_set. */
bool hvb_config_file_unset(const char *path, const char *key, hvb_error *err);

/* The merged catalog that spec resolution uses: {"presets", "models", "providers",
 * "gateways"}, from the bundled catalog, the catalog.d drop-ins (a broken one is skipped with
 * a warning to the log) and the config's heavenbase.llm sections. A new deep copy (caller
 * owns the reference); NULL when `cfg` is NULL. For listings and completions. Thread-safe. */
json_object *hvb_config_catalog(const hvb_config *cfg);

/* Every dotted key the library reads (the table hvb_config_check uses), as a new JSON array
 * of strings (caller owns the reference), parents before their members. Keys below the
 * catalog sections (presets, models, providers, gateways) are not listed: their entries are
 * free names. For tools that point out unknown keys ("did you mean"). Thread-safe. */
json_object *hvb_config_known_keys(void);

/* Parse a command-line value: JSON when the whole `text` is strict JSON (RFC 8259: so
 * True, 'x', NaN and [1,] stay strings), else the string itself. `force_string` always gives
 * a string. Returns a new reference; NULL only for the JSON literal `null` (json-c's
 * representation of null), never on failure. */
json_object *hvb_config_parse_value(const char *text, bool force_string);

#ifdef __cplusplus
}
#endif

#endif
