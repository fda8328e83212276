/* core/base/env.c: the environment as the library reads it. */
#include "base/env.h"

#include <glib.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

const char *hvb__getenv(const char *name) {
  if (getuid() != geteuid() || getgid() != getegid()) return NULL;
  /* secure_getenv also covers file capabilities and other AT_SECURE executions. */
  const char *v = secure_getenv(name);
  return v && *v ? v : NULL;
}

char *hvb__home_dir(void) {
  const char *home = hvb__getenv("HOME");
  if (home) return g_strdup(home);
  struct passwd pw, *found = NULL;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &found) == 0 && found && pw.pw_dir &&
      *pw.pw_dir)
    return g_strdup(pw.pw_dir);
  return NULL;
}
