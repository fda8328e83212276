/* fork(): a child must not use the connections it inherited (the parent's commands and its
 * would interleave on one socket), and must not find a lock held by a thread it does not have.
 * pthread_atfork handlers, registered once, cover every live client: prepare takes each
 * client's locks (discovery first, as the code always does), parent releases them, and child
 * drops the inherited pooled connections (closing its copy of a socket leaves the parent's
 * open; no TLS close_notify is sent) and releases the locks, so it connects anew. glibc removes
 * the handlers when the plugin holding this code is unloaded. */
#include "rclient-impl.h"

#include <stdlib.h>

static pthread_mutex_t clients_mu = PTHREAD_MUTEX_INITIALIZER;
static rclient **clients;
static size_t n_clients, cap_clients;

static void prepare(void) {
  pthread_mutex_lock(&clients_mu);
  for (size_t i = 0; i < n_clients; i++) {
    pthread_mutex_lock(&clients[i]->refresh_mu);
    pthread_mutex_lock(&clients[i]->mu);
  }
}

static void parent(void) {
  for (size_t i = n_clients; i-- > 0;) {
    pthread_mutex_unlock(&clients[i]->mu);
    pthread_mutex_unlock(&clients[i]->refresh_mu);
  }
  pthread_mutex_unlock(&clients_mu);
}

static void child(void) {
  for (size_t i = n_clients; i-- > 0;) {
    rclient *c = clients[i];
    for (size_t j = 0; j < c->n_nodes; j++) {
      rnode *n = c->nodes[j];
      while (n->n_idle > 0) rconn_close(n->idle[--n->n_idle]);
    }
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&c->refresh_mu);
  }
  pthread_mutex_unlock(&clients_mu);
}

static void register_handlers(void) { pthread_atfork(prepare, parent, child); }

int rc_fork_track(rclient *c) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_handlers);
  pthread_mutex_lock(&clients_mu);
  int ok = 0;
  if (n_clients == cap_clients) {
    size_t cap = cap_clients ? cap_clients * 2 : 4;
    rclient **v = realloc(clients, cap * sizeof *v);
    if (v) {
      clients = v;
      cap_clients = cap;
    } else {
      ok = -1;
    }
  }
  if (ok == 0) clients[n_clients++] = c;
  pthread_mutex_unlock(&clients_mu);
  return ok;
}

void rc_fork_untrack(rclient *c) {
  pthread_mutex_lock(&clients_mu);
  for (size_t i = 0; i < n_clients; i++)
    if (clients[i] == c) {
      clients[i] = clients[--n_clients];
      break;
    }
  if (n_clients == 0) { /* nothing left: no block for a leak checker to find */
    free(clients);
    clients = NULL;
    cap_clients = 0;
  }
  pthread_mutex_unlock(&clients_mu);
}
