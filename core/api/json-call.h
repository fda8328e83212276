/* core/api/json-call.h: operations whose request and response are single JSON values
 * (embeddings, images), through the LLM's gateway (core/api/json-call.c).
 *
 * A job belongs to one thread at a time (the caller's, or the engine's once submitted).
 */
#ifndef HVB_API_JSON_CALL_H
#define HVB_API_JSON_CALL_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/llm.h>
#include "net/transport.h"

/* One operation whose request and response are single JSON values (embeddings, images), in
 * pieces so that the engine can run it: hvb__json_begin checks the operation and prepares the
 * request (an offline gateway answers at once: the job is then over), with its transfer
 * detached when `detached` (see hvb__transfer_attach), else started; hvb__json_settle takes
 * the transfer's end (hvb_step and its error) and parses the body through the gateway;
 * hvb__json_outcome gives the canonical response (new reference) or NULL with the errors of
 * hvb__llm_call_json. NULL from hvb__json_begin: err set, nothing to free. */
typedef struct hvb_json_job hvb_json_job;
hvb_json_job *hvb__json_begin(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                              bool detached, hvb_error *err);
hvb_transfer *hvb__json_transfer(hvb_json_job *j); /* NULL once over */
bool hvb__json_over(const hvb_json_job *j);
void hvb__json_settle(hvb_json_job *j, int st, const hvb_error *failure);
json_object *hvb__json_outcome(hvb_json_job *j, hvb_error *err);
void hvb__json_free(hvb_json_job *j); /* NULL is a no-op */

/* One operation whose request and response are single JSON values (embeddings, images):
 * checks the operation (hvb_llm_supports), then asks an offline gateway's execute, or
 * prepares the HTTP request, runs it with the spec's timeouts and retries, and parses the
 * body through the gateway. `canonical` is borrowed. Returns the canonical response (new
 * reference), or NULL with err set: the check's HVB_UNSUPPORTED, the transport's errors,
 * HVB_PARSE for a body that is not JSON or lacks a field (named, with the URL),
 * HVB_PROVIDER for an error payload. */
json_object *hvb__llm_call_json(hvb_llm *llm, hvb_gateway_op op, json_object *canonical,
                                hvb_error *err);

#endif
