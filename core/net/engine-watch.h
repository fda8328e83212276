/* core/net/engine-watch.h: the engine's side of its fd watches and timers (engine-watch.c);
 * the owners' side is in core/net/engine.h. Engine thread only. */
#ifndef HVB_NET_ENGINE_WATCH_H
#define HVB_NET_ENGINE_WATCH_H

#include <stdint.h>

/* The epoll set reported `epoll_events` for a watch's fd: run its fn (if it still exists). */
void hvb__engine_watch_ready(int fd, uint32_t epoll_events);
/* fork() child: drop the table without touching it. */
void hvb__engine_watch_forget(void);
/* The loop closes: free the (empty) table. */
void hvb__engine_watch_close(void);

#endif
