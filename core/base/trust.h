/* core/base/trust.h: whether a file may be trusted as code (core/base/trust.c). */
#ifndef HVB_BASE_TRUST_H
#define HVB_BASE_TRUST_H

#include "base/common.h"

/* May `path` be loaded as code? It must be owned by the effective user or root and writable by
 * its owner only, and so must the directory holding it (and, for a symbolic link, the
 * directory of the file it leads to): anyone else who could write either could put their code
 * in our process. True when it may, or when `path` cannot be examined at all (then opening it
 * fails and says why). False with *why (g_free) set to a one-line reason naming the file. */
bool hvb__trusted_code_file(const char *path, char **why);

#endif
