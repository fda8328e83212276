/* heavenbase/export.h: client exports, for callers that run their own libcurl loop.
 *
 * An export is a libcurl easy handle configured for one operation of an LLM (URL,
 * authentication and gateway headers, timeouts, and the LLM's connection pool: handles of
 * the same client_key share connections, DNS and TLS sessions through the client's CURLSH),
 * plus the request arguments (model id and request defaults) as a JSON object to merge into
 * the body the caller builds. The caller adds the handle to its own curl multi handle,
 * sets CURLOPT_POSTFIELDS (or CURLOPT_COPYPOSTFIELDS) to its JSON body and a
 * CURLOPT_WRITEFUNCTION, and reads the reply itself: no retries, no cache, no parsing.
 * examples/export-multi.c is a complete program.
 *
 *     hvb_export *x = hvb_llm_export(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI, &err);
 *     json_object *body = json_object_new_object();
 *     // copy hvb_export_args(x) into body, add "messages"...
 *     curl_easy_setopt(hvb_export_easy(x), CURLOPT_COPYPOSTFIELDS, json_text);
 *     curl_multi_add_handle(multi, hvb_export_easy(x));
 *     ... curl_multi_perform / curl_multi_poll ...
 *     curl_multi_remove_handle(multi, hvb_export_easy(x));
 *     hvb_export_free(x);
 *
 * Kinds: HVB_EXPORT_OPENAI (OpenAI's wire form: /chat/completions, /embeddings,
 * /images/generations) and HVB_EXPORT_NATIVE (the gateway's own wire form, for a gateway
 * that speaks another protocol). A gateway declares the kinds its requests may be exported
 * in, as capabilities (HVB_GATEWAY_CAP_EXPORT_OPENAI, HVB_GATEWAY_CAP_EXPORT_NATIVE in
 * <heavenbase/gateway.h>); the library keeps no list of gateways. Of the shipped ones, openai,
 * portkey and bifrost declare the OpenAI kind and anthropic the native kind (its Messages
 * API, /messages, chat only); litellm declares none (its proxy rewrites requests per
 * deployment, which a raw export would bypass). Everything else is refused with HVB_EINVAL
 * and a message naming the gateway and the kinds it declares: a kind the gateway does not
 * declare, and an offline gateway (HVB_GATEWAY_CAP_OFFLINE, such as mock: it has no HTTP
 * request to export).
 *
 * This is the only public header that includes <curl/curl.h>: programs that use it compile
 * and link against libcurl themselves (`pkg-config --cflags --libs heavenbase libcurl`);
 * <heavenbase/heavenbase.h> does not include it.
 *
 * Thread safety: creating exports is thread-safe; one export (and its easy handle) belongs to
 * one thread at a time; exports of one client may run in parallel threads (the CURLSH is
 * locked by the library).
 */
#ifndef HEAVENBASE_EXPORT_H
#define HEAVENBASE_EXPORT_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/llm.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hvb_export_kind {
  HVB_EXPORT_OPENAI = 1, /* OpenAI-compatible wire requests */
  HVB_EXPORT_NATIVE = 2  /* the gateway's own wire requests, when it speaks another protocol */
} hvb_export_kind;

typedef struct hvb_export hvb_export;

/* An export of `op` ("chat", "embeddings", "images") in wire form `kind`. Checks the
 * operation (hvb_llm_supports) and the kinds the gateway declares (see above). New export
 * (hvb_export_free), or NULL with err: HVB_EINVAL for a refused gateway or kind,
 * HVB_UNSUPPORTED for the operation, the gateway's own errors (HVB_CONFIG for a missing base
 * URL...). The LLM may be freed before the export: the export keeps what it needs. */
hvb_export *hvb_llm_export(hvb_llm *llm, hvb_gateway_op op, hvb_export_kind kind,
                           hvb_error *err);

/* The configured easy handle, owned by the export (never curl_easy_cleanup it). It is a POST
 * with an empty body until the caller sets CURLOPT_POSTFIELDS or CURLOPT_COPYPOSTFIELDS; its
 * header list belongs to the export, so replace CURLOPT_HTTPHEADER only with a list that
 * repeats hvb_export_headers. */
CURL *hvb_export_easy(hvb_export *x);

/* The request arguments to merge into the body: {"model": the model id as the gateway sends
 * it, the request defaults...}; borrowed, valid until hvb_export_free. */
json_object *hvb_export_args(const hvb_export *x);

/* The URL and the header list the handle uses (borrowed; the list holds secrets, and so may
 * the URL: it is the real one, with any user info or "?key=" the base URL has, because the
 * caller's own HTTP loop needs it; the library's messages and logs show it redacted). */
const char *hvb_export_url(const hvb_export *x);
const struct curl_slist *hvb_export_headers(const hvb_export *x);

/* Free the export and its easy handle; remove the handle from any multi handle first. NULL
 * is a no-op. */
void hvb_export_free(hvb_export *x);

#ifdef __cplusplus
}
#endif

#endif
