/* core/call/ratelimit-headers.h: rate limits a provider states in its reply headers
 * (core/call/ratelimit-headers.c). Which headers mean what is catalog data: a provider's (or
 * gateway's) "rate_limit_headers" object names them; this file gives the four meanings, reads
 * the values (a count; a reset as a duration, "1s", "6m0s", "20ms", or an RFC 3339 time) and
 * tells the key's buckets (core/call/ratelimit.h) "N remaining until T". It knows no provider.
 */
#ifndef HVB_CALL_RATELIMIT_HEADERS_H
#define HVB_CALL_RATELIMIT_HEADERS_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

/* The meanings, in the order the names are kept (and captured by the transport). */
enum {
  HVB_RLH_REQUESTS_REMAINING,
  HVB_RLH_REQUESTS_RESET,
  HVB_RLH_TOKENS_REMAINING,
  HVB_RLH_TOKENS_RESET,
  HVB_RLH_COUNT
};

/* Read a "rate_limit_headers" object (borrowed; NULL: none) of the catalog entry `owner`
 * ("provider 'openai'") into names[HVB_RLH_COUNT] (new strings, NULL for a meaning it does
 * not name; g_free each). Keys: "requests_remaining", "requests_reset", "tokens_remaining",
 * "tokens_reset"; an unknown key or a value that is not a header name is HVB_CONFIG naming
 * the owner and key (names are then all NULL). */
bool hvb__ratelimit_headers_read(json_object *decl, const char *owner,
                                 char *names[HVB_RLH_COUNT], hvb_error *err);

/* A reset value: a duration ("1s", "6m0s", "20ms", "1h2m3.5s"; a bare number is seconds) or
 * an RFC 3339 time ("2026-12-07T18:00:30Z"): *in_us gets how far from now it is (0 when
 * past). False when it is neither. */
bool hvb__ratelimit_reset_in(const char *value, int64_t *in_us);

/* A reply on `key` carried these values (values[i] for names[i]; NULL: absent): each kind
 * with both a remaining count and a reset is learned (hvb__ratelimit_learn). Values that
 * cannot be read are ignored (logged at debug). */
void hvb__ratelimit_heard(const char *key, const char *const values[HVB_RLH_COUNT]);

#endif
