/* core/base/common.h: what every file of the core shares. Not installed.
 *
 * Conventions inside core/: GLib allocators (g_malloc never returns NULL; an allocation
 * failure aborts in GLib, which is the one abort we accept), json-c for every JSON value,
 * `hvb__` for library-internal symbols (hidden by -fvisibility=hidden and the version script).
 * The folders of core/ are layers (docs/architecture.md): a file includes only from its own
 * folder or a lower one, as "layer/module.h". */
#ifndef HVB_BASE_COMMON_H
#define HVB_BASE_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <heavenbase/error.h>
#include <heavenbase/log.h>
#include <heavenbase/macros.h>

/* The library itself needs a GCC-compatible compiler: it runs code when it is loaded and
 * unloaded (fork() handlers, the engine's exit) and hides its internal symbols. The public
 * headers need none (<heavenbase/macros.h>). */
#if !defined(__GNUC__) && !defined(__clang__)
#error "libheavenbase is built with GCC or clang (constructor, destructor, visibility)"
#endif
#define HVB_CONSTRUCTOR __attribute__((constructor))
#define HVB_DESTRUCTOR __attribute__((destructor))
#define HVB_PUBLIC HVB_ATTR_VISIBLE
#define HVB_PRINTF(a, b) HVB_ATTR_PRINTF(a, b)

#endif
