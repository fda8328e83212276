/* core/base/trust.c: whether a file may be trusted as code.
 *
 * The rule is OpenSSH's StrictModes and git's safe.directory applied to plugins: a file that
 * another user can write, or that sits in a directory another user can write (and so can
 * replace it), is someone else's code. Root's files are trusted (packages install there). */
#include "base/trust.h"
#include "base/common.h"

#include <glib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Who else may write a file of mode `mode`: "group", "others", "group and others", or NULL. */
static const char *other_writers(mode_t mode) {
  bool group = (mode & S_IWGRP) != 0, others = (mode & S_IWOTH) != 0;
  return group && others ? "group and others" : group ? "group" : others ? "others" : NULL;
}

/* Check one path (the file or a directory of it); `what` says which, for the reason. */
static bool check_one(const char *path, const char *what, const char *file, char **why) {
  struct stat st;
  if (stat(path, &st) != 0) return true;
  uid_t me = geteuid();
  const char *writers = other_writers(st.st_mode);
  if (st.st_uid != me && st.st_uid != 0) {
    *why = g_strdup_printf("%s %s is owned by uid %lu, not by this user (uid %lu) or root; "
                           "not loading %s",
                           what, path, (unsigned long)st.st_uid, (unsigned long)me, file);
    return false;
  }
  if (writers) {
    *why = g_strdup_printf("%s %s is writable by %s (mode %04o); not loading %s: a plugin and "
                           "its directory must be writable by their owner only",
                           what, path, writers, (unsigned)(st.st_mode & 07777), file);
    return false;
  }
  return true;
}

bool hvb__trusted_code_file(const char *path, char **why) {
  *why = NULL;
  if (!path || !check_one(path, "the file", path, why)) return false;
  char *dir = g_path_get_dirname(path);
  bool ok = check_one(dir, "the directory", path, why);
  g_free(dir);
  /* A link: the file it leads to lives in a directory that must be safe as well. */
  char *real = ok ? realpath(path, NULL) : NULL;
  if (real) {
    char *real_dir = g_path_get_dirname(real);
    ok = check_one(real_dir, "the directory", path, why);
    g_free(real_dir);
    free(real);
  }
  return ok;
}
