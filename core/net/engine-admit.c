/* core/net/engine-admit.c: per-origin admission of the engine's transfers (see
 * engine-admit.h). */
#include "net/engine-admit.h"
#include "net/engine.h"
#include "base/fork.h"

#include <string.h>

struct hvb_admit_origin {
  int running;      /* counted transfers */
  bool multiplexed; /* HTTP/2 seen: no limit here */
  bool ready;       /* in `ready` */
  GQueue waiting;   /* hvb_admit_slot links, oldest first */
  GList ready_link;
};

static GHashTable *origins; /* "scheme://authority" -> hvb_admit_origin* */
static GQueue ready;        /* origins with room and waiters */

static bool has_room(const hvb_admit_origin *o) {
  return o->multiplexed || o->running < HVB_ENGINE_MAX_HOST_CONNECTIONS;
}

/* The origin of `url`: up to the end of the authority (libcurl's limit is per host and port,
 * so this is never coarser than libcurl's). */
static hvb_admit_origin *origin_of(const char *url) {
  const char *p = strstr(url, "://");
  size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
  char small[256], *key = n < sizeof small ? small : g_malloc(n + 1);
  memcpy(key, url, n);
  key[n] = '\0';
  if (!origins) origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  hvb_admit_origin *o = g_hash_table_lookup(origins, key);
  if (!o) {
    o = g_new0(hvb_admit_origin, 1);
    g_queue_init(&o->waiting);
    o->ready_link.data = o;
    g_hash_table_insert(origins, key == small ? g_strdup(key) : key, o);
  } else if (key != small) {
    g_free(key);
  }
  return o;
}

static void mark_ready(hvb_admit_origin *o) {
  if (o->ready || !o->waiting.length || !has_room(o)) return;
  o->ready = true;
  g_queue_push_tail_link(&ready, &o->ready_link);
}

bool hvb__admit_enter(hvb_admit_slot *s, const char *url, void *owner) {
  hvb_admit_origin *o = origin_of(url);
  s->origin = o;
  /* Behind those that wait already, even with room: first come, first started. */
  if (has_room(o) && !o->waiting.length) {
    o->running++;
    return true;
  }
  s->link.data = owner;
  g_queue_push_tail_link(&o->waiting, &s->link);
  return false;
}

void hvb__admit_leave(hvb_admit_slot *s, bool multiplexed) {
  hvb_admit_origin *o = s->origin;
  if (!o) return;
  s->origin = NULL;
  if (hvb__admit_waiting(s)) {
    g_queue_unlink(&o->waiting, &s->link);
    s->link.data = NULL;
    return;
  }
  o->running--;
  if (multiplexed) o->multiplexed = true;
  mark_ready(o);
}

void *hvb__admit_next(void) {
  GList *l;
  while ((l = ready.head)) {
    hvb_admit_origin *o = l->data;
    if (!o->waiting.length || !has_room(o)) {
      g_queue_unlink(&ready, l);
      o->ready = false;
      continue;
    }
    GList *w = g_queue_pop_head_link(&o->waiting);
    void *owner = w->data;
    w->data = NULL;
    o->running++;
    return owner;
  }
  return NULL;
}

void hvb__admit_close(void) {
  /* No work is left, so no slot points into the table. */
  if (origins) g_hash_table_destroy(origins);
  origins = NULL;
  g_queue_init(&ready);
}

void hvb__admit_forget(void) {
  hvb__fork_keep(origins);
  origins = NULL;
  g_queue_init(&ready);
}
