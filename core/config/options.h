/* core/config/options.h: the one table of library options (core/config/options.c).
 *
 * A key of the options given to hvb_llm_new (scope LLM) or to a call (scope CALL) is either a
 * library option, named in this table, or a request argument that goes into the request body.
 * The spec's arguments (core/config/spec.c), the chat request (core/call/request.c), the
 * embeddings and image requests (core/api/embed.c, core/api/imagen.c) and the CLI's -o (through
 * hvb_option_scope) all ask this table, so a library option never reaches a provider.
 * The table is constant: every function is thread-safe. */
#ifndef HVB_CONFIG_OPTIONS_H
#define HVB_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

enum { HVB__SCOPE_LLM = 1, HVB__SCOPE_CALL = 2 };

typedef enum hvb__opt_kind {
  HVB__OPT_NAME,       /* non-empty string */
  HVB__OPT_STRING,
  HVB__OPT_OBJECT,
  HVB__OPT_STRING_MAP, /* object of strings */
  HVB__OPT_COUNT,      /* integer >= 1 */
  HVB__OPT_SECONDS,    /* number of seconds, 0 .. 1e7 */
  HVB__OPT_RETRIES,    /* integer 0 .. 100 */
  HVB__OPT_BOOL,
  HVB__OPT_SWITCH,     /* true, false or an object of settings */
  HVB__OPT_ARRAY,
  HVB__OPT_UTF8_MODE,  /* "error" or "replace" */
  HVB__OPT_RESPONSE_FORMAT /* {"type": "text" | "json_object" | "json_schema", ...} */
} hvb__opt_kind;

typedef struct hvb__option {
  const char *name;
  unsigned scope; /* HVB__SCOPE_* bits */
  hvb__opt_kind kind;
  const char *meaning;
} hvb__option;

/* Is `name` a library option that stays out of the request? false for request arguments,
 * including the few the table checks but that still go to the provider (response_format: the
 * pipeline reads it from the request, the gateway translates it). */
bool hvb__option_is_library(const char *name);

/* The row of `name`, NULL when `name` is a request argument. */
const hvb__option *hvb__option_find(const char *name);

/* Check every library option in `options` (borrowed; NULL and JSON null values pass) given in
 * `scope`: a value of the wrong kind, or an option of calls only given to the LLM, is
 * HVB_EINVAL naming the option ("call option 'cache' must be true, false or an object, not
 * 3"). An option of the LLM only given to a call is ignored by the call (never a request
 * argument). */
bool hvb__options_check(json_object *options, unsigned scope, hvb_error *err);

#endif
