/* core/fork.c: what the library does at fork() (see "fork()" in include/heavenbase/async.h).
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
#include "internal.h"

#include <glib.h>
#include <pthread.h>

static unsigned generation; /* written in the child handler only (one thread then) */

static GMutex keep_lock;
static GPtrArray *kept; /* void*, never freed: see hvb__fork_keep */

unsigned hvb__fork_generation(void) {
  return g_atomic_int_get((const gint *)&generation);
}

void hvb__fork_keep(void *p) {
  if (!p) return;
  g_mutex_lock(&keep_lock);
  if (!kept) kept = g_ptr_array_new();
  g_ptr_array_add(kept, p);
  g_mutex_unlock(&keep_lock);
}

/* The order is the lock order: a module's locks are never taken while holding the locks of
 * a module that comes later (registry loads plugins, which may log; the engine's lock is
 * never held while calling into the transport's pools; the cache logs under its locks).
 * Locks of other libraries are not ours to order: libcurl's share locks are left alone and
 * made new in the child (see transport.c), and JSON is parsed without glibc's locale lock
 * (hvb__c_locale_enter). */
static void prepare(void) {
  hvb__registry_atfork(HVB_FORK_PREPARE);
  hvb__engine_atfork(HVB_FORK_PREPARE);
  hvb__transport_atfork(HVB_FORK_PREPARE);
  hvb__cache_atfork(HVB_FORK_PREPARE);
  hvb__embed_atfork(HVB_FORK_PREPARE);
  hvb__log_atfork(HVB_FORK_PREPARE);
  g_mutex_lock(&keep_lock);
}

static void parent(void) {
  g_mutex_unlock(&keep_lock);
  hvb__log_atfork(HVB_FORK_PARENT);
  hvb__embed_atfork(HVB_FORK_PARENT);
  hvb__cache_atfork(HVB_FORK_PARENT);
  hvb__transport_atfork(HVB_FORK_PARENT);
  hvb__engine_atfork(HVB_FORK_PARENT);
  hvb__registry_atfork(HVB_FORK_PARENT);
}

static void child(void) {
  g_atomic_int_inc((gint *)&generation);
  g_mutex_unlock(&keep_lock); /* first: the modules' child hooks keep what they inherited */
  hvb__log_atfork(HVB_FORK_CHILD);
  hvb__embed_atfork(HVB_FORK_CHILD);
  hvb__cache_atfork(HVB_FORK_CHILD);
  hvb__transport_atfork(HVB_FORK_CHILD);
  hvb__engine_atfork(HVB_FORK_CHILD);
  hvb__registry_atfork(HVB_FORK_CHILD);
}

__attribute__((constructor)) static void fork_init(void) {
  /* Fails only with ENOMEM; the library then works as before, without fork safety. */
  (void)pthread_atfork(prepare, parent, child);
}
