/* core/base/fork.h: fork() primitives (core/base/fork.c). */
#ifndef HVB_BASE_FORK_H
#define HVB_BASE_FORK_H

#include "base/common.h"

/* ---- fork() (core/fork.c) ----
 *
 * One set of pthread_atfork handlers (core/api/atfork.c), registered once when the library
 * is loaded, calls the modules' hvb__<module>_atfork hooks in a fixed order, so that the locks are always taken in the same order
 * (prepare: registry, engine, transport table and pools, cache, embed, log; parent and
 * child: the reverse). Each hook runs inside fork(): prepare takes the module's global locks so that no
 * other thread holds them while the address space is copied; parent releases them; child
 * releases them too (the forking thread is their owner in the child) and resets the state
 * that belonged to threads the child does not have. */
typedef enum hvb_fork_phase { HVB_FORK_PREPARE, HVB_FORK_PARENT, HVB_FORK_CHILD } hvb_fork_phase;


/* How many fork()s separate this process from the one that loaded the library: 0 in it, +1
 * in each child. Objects that hold resources shared with the parent (sockets, libcurl
 * handles) remember the generation they were made in and are not used in another. */
unsigned hvb__fork_generation(void);

/* Keep `p` reachable for the life of the process without ever using or freeing it: for
 * objects a child inherited that it must neither use nor release (releasing a libcurl
 * handle could close a connection the parent still uses). Only in a child's fork handler or
 * under a lock the handlers take. */
void hvb__fork_keep(void *p);

/* The leaf's own part of the handlers (core/api/atfork.c calls them): prepare takes the lock
 * of the kept list last; parent releases it; child counts one more generation and releases
 * it first, so that the modules' child hooks may keep what they inherited. */
void hvb__fork_prepare_self(void);
void hvb__fork_parent_self(void);
void hvb__fork_child_self(void);

#endif
