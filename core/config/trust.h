/* core/config/trust.h: whether a project config file may be used (core/config/trust.c). */
#ifndef HVB_CONFIG_TRUST_H
#define HVB_CONFIG_TRUST_H

#include <sys/stat.h>
#include <json-c/json.h>
#include "base/common.h"

/* Whether the project file at `path`, whose status (of the file actually read) is `st`, may be
 * read: owned by the invoking user or root, not writable by group or others, and in a
 * directory owned by the user or root, without a symbolic link of another user's on the way.
 * When not, a warning naming the file and the reason is given (once per process). */
bool hvb__trust_owner_ok(const char *path, const struct stat *st);

/* Whether the project file at `path` with content `tree` may be merged: true when it sets
 * nothing that changes where an API key is sent (a provider's base_url, api_key_env or
 * headers, a preset's base_url, a gateway server's entry), or when its project directory is
 * one of `trusted` (the user layer's heavenbase.trusted_projects, borrowed, may be NULL).
 * When not, a warning names the file, the setting and the way to trust it. */
bool hvb__trust_project_ok(const char *path, json_object *tree, json_object *trusted);

#endif
