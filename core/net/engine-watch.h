/* core/net/engine-watch.h: the engine's side of its fd watches and timers (engine-watch.c);
 * the owners' side is in core/net/engine.h. Engine thread only. */
#ifndef HVB_NET_ENGINE_WATCH_H
#define HVB_NET_ENGINE_WATCH_H

#include <stdbool.h>
#include <curl/curl.h>
#include <glib.h>

/* Run the callbacks of watches that were ready at the last poll and of timers that are due;
 * returns `wake` lowered to the earliest timer left. */
gint64 hvb__engine_watch_dispatch(gint64 wake);
/* The watches as curl_multi_poll's extra_fds (a buffer of the module's, valid until the next
 * call), and their number. */
unsigned hvb__engine_watch_fds(struct curl_waitfd **fds);
/* After the poll: remember which were ready (dispatched at the next turn). */
void hvb__engine_watch_polled(const struct curl_waitfd *fds, unsigned n);
/* fork() child: drop the lists without touching them. */
void hvb__engine_watch_forget(void);

#endif
