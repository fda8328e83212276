/* core/base/env.h: the environment as the library reads it (core/base/env.c). */
#ifndef HVB_BASE_ENV_H
#define HVB_BASE_ENV_H

#include "base/common.h"

/* getenv() for the library: NULL when the variable is unset or empty, and always NULL in a
 * setuid/setgid (or otherwise secure-execution) process, where the environment belongs to
 * another user. */
const char *hvb__getenv(const char *name);

/* The home directory: $HOME, else the password database's; NULL when there is none. New
 * string (g_free). */
char *hvb__home_dir(void);

#endif
