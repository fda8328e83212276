/* core/api/embed.h: what the rest of the core needs of the embeddings pipeline
 * (core/api/embed.c). */
#ifndef HVB_API_EMBED_H
#define HVB_API_EMBED_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>
#include <heavenbase/usage.h> /* hvb_cost */
#include "base/fork.h"

/* Batching limits resolved when the LLM is made; 0 means "not set". */
typedef struct hvb_embed_limits {
  int batch_size;   /* option embedding_batch_size, else heavenbase.llm.embedding_batch_size */
  int max_workers;  /* option embedding_max_workers, else heavenbase.llm.embedding_max_workers */
  int provider_cap; /* the provider's catalog "embedding_batch_size" */
  const char *shape; /* the provider's catalog "embedding" object as JSON text, interned (it
                      * lives as long as the process); NULL: none */
} hvb_embed_limits;

/* Fill *out from the configuration (HVB_CONFIG naming a bad key), the options (checked by
 * the spec already) and the catalog entry of the spec's provider. */
bool hvb__embed_limits_init(const hvb_config *cfg, const hvb_spec *spec, json_object *options,
                            hvb_embed_limits *out, hvb_error *err);

/* The request of a one-JSON operation (embeddings, images; core/api/embed.c): {"model": id,
 * <spec args except `drop_args`>, <call options except `skip_options` and the library options
 * (core/config/options.c), "args" merged first, other keys over it>}, arguments set to null and those of the model's catalog
 * "rejects_args" removed. NULL-terminated lists. New reference, or NULL with HVB_EINVAL for options that are not an object, a bad "args" or a library option of the wrong type or scope. */
json_object *hvb__request_template(const hvb_spec *spec, json_object *opts,
                                   const char *const *drop_args, const char *const *skip_options,
                                   hvb_error *err);


/* The embeddings result, made by embed.c, read by embed-result.c's accessors. */
struct hvb_embeddings {
  size_t count, dim, cached, requests;
  float *data; /* count * dim */
  json_object *usage, *raw;
  double elapsed;
  hvb_cost cost;
};

/* fork() handler (core/api/atfork.c): the dimension table's lock. */
void hvb__embed_atfork(hvb_fork_phase phase);

#endif
