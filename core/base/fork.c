/* core/base/fork.c: the fork() primitives every layer may use: the generation and the kept
 * list. The handlers that call each module (core/api/atfork.c) sit at the top, since they
 * name every module; see "fork()" in include/heavenbase/async.h.
 *
 * A child of fork() has one thread, the one that called fork(), and a copy of everything
 * else: locks that other threads held stay locked forever, the engine's state says that a
 * thread runs when none does, and libcurl handles and SQLite connections still refer to the
 * parent's sockets and files. The handlers here make that well defined, the way the C
 * library does it for malloc: prepare takes every global lock in one fixed order so that no
 * other thread holds one while the address space is copied; the parent releases them; the
 * child releases them (it is their owner) and each module drops the state that belonged to
 * threads or resources the child does not own.
 *
 * The handlers are registered once, when the library is loaded (a constructor): registering
 * them lazily would leave a window in which a fork copies a lock some thread holds. glibc
 * unregisters them if the library is unloaded.
 *
 * What the child inherits but must neither use nor release (libcurl handles whose cleanup
 * could write to the parent's connections, the parent's SQLite connection) is kept in one
 * list for the life of the process, so that leak checkers count it as reachable, not lost.
 */
#include "base/fork.h"

#include <glib.h>
#include <pthread.h>
#include <stdlib.h>

static unsigned generation; /* written in the child handler only (one thread then) */

static GMutex keep_lock;
/* void*, never freed: see hvb__fork_keep. A plain realloc'd array, not a GPtrArray: the child
 * handlers add to it, and GLib's slice allocator (which g_ptr_array_new uses on GLib < 2.76)
 * has a lock that another thread may have held at fork(), so the child would wait forever.
 * glibc's malloc is made safe across fork() by glibc itself. */
static void **kept;
static size_t kept_len, kept_cap;

unsigned hvb__fork_generation(void) {
  return g_atomic_int_get((const gint *)&generation);
}

void hvb__fork_keep(void *p) {
  if (!p) return;
  g_mutex_lock(&keep_lock);
  if (kept_len == kept_cap) {
    size_t cap = kept_cap ? kept_cap * 2 : 16;
    void **grown = realloc(kept, cap * sizeof *kept);
    if (grown) {
      kept = grown;
      kept_cap = cap;
    }
  }
  /* Out of memory: p is left unreferenced (a leak checker calls it lost), never used. */
  if (kept_len < kept_cap) kept[kept_len++] = p;
  g_mutex_unlock(&keep_lock);
}

void hvb__fork_prepare_self(void) {
  g_mutex_lock(&keep_lock);
}

void hvb__fork_parent_self(void) {
  g_mutex_unlock(&keep_lock);
}

void hvb__fork_child_self(void) {
  g_atomic_int_inc((gint *)&generation);
  g_mutex_unlock(&keep_lock);
}
