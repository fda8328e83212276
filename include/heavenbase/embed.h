/* heavenbase/embed.h: text embeddings.
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     hvb_llm *llm = hvb_llm_new_preset("embed", &err);
 *     const char *texts[] = {"first text", "second text"};
 *     hvb_embeddings *e = hvb_llm_embed(llm, texts, 2, NULL, &err);
 *     if (e) printf("%zu vectors of %zu floats\n", hvb_embeddings_count(e), hvb_embeddings_dim(e));
 *     hvb_embeddings_free(e);
 *
 * The pipeline, for the n texts of one call:
 *   1. repeated texts are sent once (their vectors are shared);
 *   2. each distinct text is looked up in the response cache (namespace "embedding";
 *      embeddings are always deterministic, see cache.h); a text another call of this process
 *      is already embedding is waited for rather than sent twice;
 *   3. the misses are split into batches of at most embedding_batch_size texts, and at most
 *      embedding_max_workers batches run at once (one transfer each);
 *   4. the vectors come back in input order; each new one is stored in the cache.
 * A call fails as a whole (the first failing batch's error); batches that succeeded before
 * are in the cache, so a retry sends only what is missing.
 *
 * Settings (call option > constructor option > configuration heavenbase.llm.<name>):
 *   embedding_batch_size   texts per request (default 128). The provider's catalog entry
 *                          "embedding_batch_size" is its API's limit (OpenAI 2048, Cohere 96,
 *                          Voyage 128): a larger setting is lowered to it.
 *   embedding_max_workers  batches in flight at once (default 4).
 *
 * Call options (a JSON object, may be NULL): "cache" (as for chat), the two settings above,
 * "args" (object) and any other key as a request argument ("dimensions": 256,
 * "input_type": "query", "encoding_format"...). The LLM's resolved arguments apply too, except
 * the chat-only ones (temperature, top_p, top_k, seed, max_tokens, max_completion_tokens, n,
 * stop, penalties, tools, tool_choice, response_format, logprobs, reasoning_effort, stream,
 * stream_options), which an embeddings endpoint rejects.
 *
 * Provider differences (all through OpenAI-compatible /embeddings routes) are catalog data,
 * the provider entry's "embedding" object (its schema is at the top of core/config/spec.c),
 * so a drop-in file can describe a new provider without code:
 *   "fields"   request field -> the provider's name for it. "input_type", which OpenAI's API
 *              lacks, is sent only to a provider that names it here.
 *   "rejects"  fields never sent.
 *   "set"      fields sent with every request, replacing the caller's.
 * A provider without one gets {"model", "input": [...], "dimensions"?, "encoding_format"?} as
 * is, and no "input_type". The bundled catalog says, for example:
 *   voyage   "dimensions" is sent as "output_dimension"; "input_type" ("query" or
 *            "document") is sent; "encoding_format" is not sent (Voyage knows only base64,
 *            and the library reads float arrays).
 *   cohere   "input_type" ("search_document", "search_query", "classification",
 *            "clustering") is sent; "encoding_format" is "float".
 * A malformed "embedding" object makes hvb_llm_new fail with HVB_CONFIG naming the provider
 * and the field.
 * Each batch is the gateway's EMBED operation (<heavenbase/gateway.h>): gateways that cannot
 * embed are refused up front (hvb_llm_supports). The offline `mock` gateway answers with
 * deterministic unit vectors sized by the "embed_dim" argument (see its plugin).
 *
 * Errors: HVB_EINVAL (no texts, a NULL text, bad options, named); HVB_UNSUPPORTED when the
 * gateway cannot embed (named); the HTTP, transport and parse errors of llm.h; HVB_PARSE when
 * a response lacks a vector for an input or vectors differ in size (named).
 *
 * Thread safety: as for chat, an hvb_llm may embed from several threads at once; a result
 * belongs to one thread at a time. The batches run as concurrent transfers on the library's
 * async engine thread (async.h) while the calling thread waits; called from an async callback
 * (on the engine thread, which must not wait for itself) they run one after another instead.
 * hvb_llm_embed_async (async.h) is the non-blocking form.
 */
#ifndef HEAVENBASE_EMBED_H
#define HEAVENBASE_EMBED_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvb_embeddings hvb_embeddings;

/* Embed `n` texts (borrowed UTF-8 strings; n >= 1). Returns a new result (free with
 * hvb_embeddings_free) or NULL with err set. */
hvb_embeddings *hvb_llm_embed(hvb_llm *llm, const char *const *texts, size_t n,
                              json_object *call_options, hvb_error *err);

/* Progress of a long call: `done` of `total` distinct texts have a vector (from the cache or
 * a finished batch). Called on the thread that called hvb_llm_embed_progress, between
 * batches; it must not call back into the same LLM's embed. */
typedef void (*hvb_embed_progress_fn)(size_t done, size_t total, void *user_data);

/* hvb_llm_embed with a progress callback (may be NULL). */
hvb_embeddings *hvb_llm_embed_progress(hvb_llm *llm, const char *const *texts, size_t n,
                                       json_object *call_options,
                                       hvb_embed_progress_fn progress, void *user_data,
                                       hvb_error *err);

/* The vector size of this LLM's embeddings: the "dimensions" argument when set, else the
 * model's catalog "dimension", else the size seen by one probe call (embedding the text
 * "dimension probe"), remembered for the process and the spec. 0 with err set on failure. */
size_t hvb_llm_embedding_dim(hvb_llm *llm, hvb_error *err);

/* ---- results: getters borrow from the result, valid until hvb_embeddings_free ---- */

size_t hvb_embeddings_count(const hvb_embeddings *e); /* = n of the call */
size_t hvb_embeddings_dim(const hvb_embeddings *e);
/* Vector i (dim floats), NULL when i >= count. */
const float *hvb_embeddings_at(const hvb_embeddings *e, size_t i);
/* Token usage summed over the requests made (object), NULL when none was made or reported. */
json_object *hvb_embeddings_usage(const hvb_embeddings *e);
/* The response bodies of the requests made (array, in batch order), NULL when none. */
json_object *hvb_embeddings_raw(const hvb_embeddings *e);
/* How many of the count inputs were answered by the cache (count: no request at all). */
size_t hvb_embeddings_cached(const hvb_embeddings *e);
/* HTTP requests (or offline batches) made. */
size_t hvb_embeddings_requests(const hvb_embeddings *e);
/* Seconds the call took. */
double hvb_embeddings_elapsed(const hvb_embeddings *e);

/* Project by a comma-separated `include` list of: embeddings (array of arrays of numbers,
 * in input order), usage, raw, elapsed, dim, cached, requests, cost (as hvb_embeddings_cost,
 * in the form of hvb_result_project's "cost"); NULL or "" means
 * "embeddings". One field gives its value, several an object keyed by field. New reference
 * (NULL for a JSON null) with *ok true, or NULL with *ok false and HVB_EINVAL naming an
 * unknown field. */
json_object *hvb_embeddings_project(const hvb_embeddings *e, const char *include, bool *ok,
                                    hvb_error *err);

void hvb_embeddings_free(hvb_embeddings *e); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif
