/* core/config/keys.h: the config keys the library knows, with their types and ranges
 * (core/config/keys.c). */
#ifndef HVB_CONFIG_KEYS_H
#define HVB_CONFIG_KEYS_H

#include <json-c/json.h>
#include "base/common.h"

/* Limits on a dotted key: deeper or longer keys are mistakes (or attacks) and would write a
 * file the reader cannot read back. */
#define HVB_CONFIG_KEY_MAX_PARTS 16
#define HVB_CONFIG_KEY_MAX_BYTES 256

/* Check one layer's tree (`file` names it in messages) against the table of known keys: a
 * value of the wrong type or out of range, at any known key, is removed from `tree` with a
 * warning naming the file and the key (shown once per process), so the value of the layers
 * below, ultimately the bundled default, stays in force. Returns how many were removed. */
int hvb__config_keys_sanitize(json_object *tree, const char *file);

/* The first problem of `tree` (a whole layer) as an HVB_EINVAL error naming the key and what
 * it must be, or true when every known key in it is well typed. */
bool hvb__config_keys_check_tree(json_object *tree, hvb_error *err);

#endif
