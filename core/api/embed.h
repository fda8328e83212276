/* core/api/embed.h: what the rest of the core needs of the embeddings pipeline
 * (core/api/embed.c). */
#ifndef HVB_API_EMBED_H
#define HVB_API_EMBED_H

#include "base/fork.h"

/* fork() handler (core/api/atfork.c): the dimension table's lock. */
void hvb__embed_atfork(hvb_fork_phase phase);

#endif
