/* core/api/atfork.c: the library's fork() handlers (see "fork()" in
 * include/heavenbase/async.h and core/base/fork.c for what they make well defined).
 *
 * They sit in the top layer because they name every module that holds a global lock. They
 * are registered once, when the library is loaded (a constructor): registering them lazily
 * would leave a window in which a fork copies a lock some thread holds. glibc unregisters
 * them if the library is unloaded.
 */
#include "base/fork.h"
#include "base/log.h"
#include "cache/store.h"
#include "cache/ledger.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "net/engine.h"
#include "net/otlp.h"
#include "api/embed.h"
#include "api/handle.h"

#include <pthread.h>

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
  hvb__ledger_atfork(HVB_FORK_PREPARE);
  hvb__embed_atfork(HVB_FORK_PREPARE);
  hvb__otlp_atfork(HVB_FORK_PREPARE);
  hvb__log_atfork(HVB_FORK_PREPARE);
  hvb__fork_prepare_self();
}

static void parent(void) {
  hvb__fork_parent_self();
  hvb__log_atfork(HVB_FORK_PARENT);
  hvb__otlp_atfork(HVB_FORK_PARENT);
  hvb__embed_atfork(HVB_FORK_PARENT);
  hvb__ledger_atfork(HVB_FORK_PARENT);
  hvb__cache_atfork(HVB_FORK_PARENT);
  hvb__transport_atfork(HVB_FORK_PARENT);
  hvb__engine_atfork(HVB_FORK_PARENT);
  hvb__registry_atfork(HVB_FORK_PARENT);
}

static void child(void) {
  hvb__fork_child_self(); /* first: the modules' child hooks keep what they inherited */
  hvb__log_atfork(HVB_FORK_CHILD);
  hvb__otlp_atfork(HVB_FORK_CHILD);
  hvb__embed_atfork(HVB_FORK_CHILD);
  hvb__ledger_atfork(HVB_FORK_CHILD);
  hvb__cache_atfork(HVB_FORK_CHILD);
  hvb__transport_atfork(HVB_FORK_CHILD);
  hvb__engine_atfork(HVB_FORK_CHILD);
  hvb__registry_atfork(HVB_FORK_CHILD);
}

static void install(void) {
  /* Fails only with ENOMEM; the library then works as before, without fork safety. */
  (void)pthread_atfork(prepare, parent, child);
}

static pthread_once_t installed = PTHREAD_ONCE_INIT;

void hvb__atfork_install(void) {
  (void)pthread_once(&installed, install);
}

HVB_CONSTRUCTOR static void atfork_init(void) {
  hvb__atfork_install();
}
