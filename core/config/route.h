/* core/config/route.h: routes of the catalog (core/config/route.c), heavenbase.llm.routes.NAME.
 *
 * A route is data: a strategy, a list of targets (each a preset name, or an object of LLM
 * options: model/provider/gateway/base_url/args/headers...), which failures fall through to
 * the next target, how many targets to try and a deadline for the whole routed call. The
 * schema is documented at the top of route.c. A preset names a route by its own name (a
 * route "r" is `hb chat -p r`) or by naming the route in place of a model.
 *
 * A hvb_route_def is immutable once loaded: thread-safe to read.
 */
#ifndef HVB_CONFIG_ROUTE_H
#define HVB_CONFIG_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/error.h>

typedef enum hvb_route_strategy {
  HVB_ROUTE_FALLBACK,      /* in order */
  HVB_ROUTE_WEIGHTED,      /* by weight */
  HVB_ROUTE_LEAST_LATENCY, /* smallest EWMA of time to first byte */
  HVB_ROUTE_LEAST_BUSY,    /* fewest calls in flight */
  HVB_ROUTE_HASH,          /* by the caller's "route_key", sticky */
} hvb_route_strategy;

/* Classes of failure a route may let fall through (besides HTTP status codes). */
enum {
  HVB_ROUTE_FT_5XX = 1u << 0,         /* any HTTP 5xx */
  HVB_ROUTE_FT_CONNECT = 1u << 1,     /* connection or transfer failure (HVB_TRANSPORT) */
  HVB_ROUTE_FT_TIMEOUT = 1u << 2,     /* HVB_TIMEOUT */
  HVB_ROUTE_FT_UNSUPPORTED = 1u << 3, /* HVB_UNSUPPORTED */
};

#define HVB_ROUTE_MAX_CODES 16

/* A route's circuit breaker settings (its "breaker" entry; core/call/breaker.c uses them). */
typedef struct hvb_breaker_config {
  bool enabled;         /* default true; "breaker": false turns it off */
  int64_t failures;     /* consecutive failures that open it (default 5) */
  double failure_rate;  /* 0 (default): off; else the failure rate in the window that opens it */
  int64_t min_calls;    /* calls in the window before the rate counts (default 10) */
  int64_t window_us;    /* default 60 s */
  int64_t cooldown_us;  /* open this long before a trial call (default 30 s) */
} hvb_breaker_config;

/* A target's client-side rate limits (its "rpm", "tpm", "burst"; core/call/ratelimit.c). */
typedef struct hvb_rate_limits {
  double rpm, tpm; /* 0: no limit */
  double burst;    /* requests the bucket holds (0: rpm, a minute's worth) */
} hvb_rate_limits;

typedef struct hvb_route_def {
  char *name;
  hvb_route_strategy strategy;
  json_object *targets;  /* array of option objects, one per target (owned) */
  char **labels;         /* per target: "preset chat", "openai/gpt-4o-mini"... */
  double *weights;       /* per target, >= 0 (1 when not given) */
  hvb_rate_limits *limits; /* per target */
  bool wait_on_limit;    /* "on_limit": "wait" (else "next": move on) */
  size_t ntargets;
  unsigned ft_flags;     /* HVB_ROUTE_FT_* */
  int ft_codes[HVB_ROUTE_MAX_CODES]; /* HTTP statuses that fall through (429...) */
  size_t ft_ncodes;
  size_t max_targets;    /* at most this many targets per call (<= ntargets) */
  long deadline_ms;      /* the whole routed call; 0: none */
  bool no_retries;       /* "retries": false: every target is tried once */
  hvb_breaker_config breaker;
  bool hedge;            /* hedged requests ("hedge", or "hedge_after_ms" alone) */
  bool hedge_p95;        /* the delay is the first target's p95 time to first byte */
  long hedge_after_ms;   /* the delay (fixed, or until the p95 is known) */
} hvb_route_def;

/* Check one catalog entry of "routes" (HVB_CONFIG naming the route and field). */
bool hvb__route_entry_check(const char *name, json_object *entry, hvb_error *err);

/* The route that `options` (may be NULL) name through their preset (options.preset, else
 * config default_preset): the preset's own name when no preset has it and a route does, or
 * the preset's "model" when that names a route. Borrowed from the catalog; NULL: none. */
const char *hvb__route_named(const hvb_config *cfg, json_object *options);

/* Load the route `name` from the catalog (new), or NULL with HVB_CONFIG / HVB_NOT_FOUND. */
hvb_route_def *hvb__route_def_load(const hvb_config *cfg, const char *name, hvb_error *err);
/* A def is reference-counted (a result's route record may outlive its LLM): _ref adds one,
 * _free drops one and frees the def with the last (NULL is a no-op). Thread-safe. */
hvb_route_def *hvb__route_def_ref(hvb_route_def *def);
void hvb__route_def_free(hvb_route_def *def);

/* The LLM options of target `i`: the caller's options (may be NULL; "preset" and the
 * target-defining keys dropped) with the target's on top. New object. */
json_object *hvb__route_target_options(const hvb_route_def *def, size_t i,
                                       json_object *caller_options);

/* The route as `hb spec` shows it (new object; no secrets: headers are not shown). */
json_object *hvb__route_def_view(const hvb_route_def *def);

/* For spec resolution: when `options` name a route, *target_options (new) are the first
 * target's options and *view (new) the route's view; else both NULL. False with err when the
 * route cannot be loaded. */
bool hvb__route_for_spec(const hvb_config *cfg, json_object *options,
                         json_object **target_options, json_object **view, hvb_error *err);

/* Does failure `e` fall through to the next target under this route? Never for HTTP 400 and
 * 401, nor for errors of the call itself (bad arguments, parse errors). */
bool hvb__route_falls_through(const hvb_route_def *def, const hvb_error *e);

/* The strategy's name ("fallback"...). */
const char *hvb__route_strategy_name(hvb_route_strategy s);

#endif
