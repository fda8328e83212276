/* tests/unit/tsan-glib.h: GMutex and GCond on pthreads, for ThreadSanitizer builds only.
 *
 * GLib's GMutex and GCond are raw futexes that ThreadSanitizer cannot see, so every hand-over
 * through them (the connection pools, the share locks, the embed plan, the fake upstream) is
 * reported as a race. Included by testutil.c when built with -fsanitize=thread: these
 * definitions in the test program take the place of GLib's for the code linked into it (the
 * core and the fake upstream), so TSan checks the real synchronization. Each GMutex/GCond
 * address maps to a pthread object made on first use (statics are zero-initialized).
 */
#if defined(__SANITIZE_THREAD__)
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct tsan_slot {
  const void *key;
  pthread_mutex_t m;
  pthread_cond_t c;
  struct tsan_slot *next;
} tsan_slot;

#define TSAN_BUCKETS 4096
static tsan_slot *tsan_table[TSAN_BUCKETS];
static pthread_mutex_t tsan_table_lock = PTHREAD_MUTEX_INITIALIZER;

static tsan_slot *tsan_get(const void *key) {
  size_t h = ((size_t)key >> 3) % TSAN_BUCKETS;
  pthread_mutex_lock(&tsan_table_lock);
  tsan_slot *s = tsan_table[h];
  while (s && s->key != key) s = s->next;
  if (!s) {
    s = calloc(1, sizeof *s);
    s->key = key;
    pthread_mutex_init(&s->m, NULL);
    pthread_cond_init(&s->c, NULL);
    s->next = tsan_table[h];
    tsan_table[h] = s;
  }
  pthread_mutex_unlock(&tsan_table_lock);
  return s;
}

static void tsan_drop(const void *key) {
  size_t h = ((size_t)key >> 3) % TSAN_BUCKETS;
  pthread_mutex_lock(&tsan_table_lock);
  for (tsan_slot **p = &tsan_table[h]; *p; p = &(*p)->next) {
    if ((*p)->key != key) continue;
    tsan_slot *s = *p;
    *p = s->next;
    pthread_mutex_destroy(&s->m);
    pthread_cond_destroy(&s->c);
    free(s);
    break;
  }
  pthread_mutex_unlock(&tsan_table_lock);
}

void g_mutex_init(GMutex *m) { tsan_get(m); }
void g_mutex_clear(GMutex *m) { tsan_drop(m); }
void g_mutex_lock(GMutex *m) { pthread_mutex_lock(&tsan_get(m)->m); }
void g_mutex_unlock(GMutex *m) { pthread_mutex_unlock(&tsan_get(m)->m); }
gboolean g_mutex_trylock(GMutex *m) { return pthread_mutex_trylock(&tsan_get(m)->m) == 0; }
void g_cond_init(GCond *c) { tsan_get(c); }
void g_cond_clear(GCond *c) { tsan_drop(c); }
void g_cond_signal(GCond *c) { pthread_cond_signal(&tsan_get(c)->c); }
void g_cond_broadcast(GCond *c) { pthread_cond_broadcast(&tsan_get(c)->c); }
void g_cond_wait(GCond *c, GMutex *m) { pthread_cond_wait(&tsan_get(c)->c, &tsan_get(m)->m); }
gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time) {
  gint64 left = end_time - g_get_monotonic_time();
  if (left <= 0) return FALSE;
  gint64 when = g_get_real_time() + left;
  struct timespec ts = {(time_t)(when / G_USEC_PER_SEC), (long)(when % G_USEC_PER_SEC) * 1000};
  return pthread_cond_timedwait(&tsan_get(c)->c, &tsan_get(m)->m, &ts) == 0;
}
#endif
