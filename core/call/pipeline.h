/* core/call/pipeline.h: the call pipeline as an ordered list of stages (core/call/pipeline.c).
 *
 * Every call (chat, stream, async, embeddings, images) is an hvb_exchange that passes through
 * the stages on the way in (`request`, in list order) and, on the way out, through `delta`
 * (each public delta), `reply` (the reply is complete), `result` (a chat result is built),
 * `error` (the call failed) and `release` (the exchange is freed), in reverse order. A stage
 * may answer a call on the way in (HVB_STAGE_ANSWERED: the stages after it do not run and
 * the exchange takes `answers`), refuse it (HVB_STAGE_FAILED), or pass it on.
 *
 * The way in runs to completion without waiting: the transfer is the last stage's product,
 * and the exchange that owns it (core/api/chat.c, core/api/json-call.c) runs it, caller-driven
 * or on the async engine; the way out is called by that exchange when the transfer ends. So
 * a chain never suspends inside a stage, and sync and async calls share every stage.
 *
 * A stage is a struct of function pointers in its own file (call/stage-*.c); any hook may be
 * NULL. A stage keeps per-call state in its slot, x->state[its index]. Adding one is a new
 * file, a line in the list of pipeline.c and in HVB_STAGE_COUNT: no other stage changes.
 *
 * Not thread-safe: an exchange belongs to one thread at a time.
 */
#ifndef HVB_CALL_PIPELINE_H
#define HVB_CALL_PIPELINE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/llm.h>
#include <heavenbase/repair.h>
#include "cache/store.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "call/accum.h"
#include "call/times.h"

struct hvb_telemetry;

#define HVB_STAGE_COUNT 13

/* An offline gateway answers through execute, without HTTP. */
static inline bool hvb__gateway_offline(const hvb_gateway_record *gw) {
  return (gw->ops.caps & HVB_GATEWAY_CAP_OFFLINE) && gw->ops.execute;
}

/* What a call cost, as the account stage recorded it (shared budgets add it up). */
typedef struct hvb_exchange_bill {
  bool answered; /* answered, not from the cache */
  bool priced;
  double usd;
  long long tokens; /* input + output */
} hvb_exchange_bill;

/* One call as the stages see it. The exchange that owns it fills the first block. */
typedef struct hvb_exchange {
  /* ---- the call (set by its owner before the way in) ---- */
  hvb_gateway_op op;
  hvb_spec *spec;               /* reference */
  const hvb_gateway_record *gw; /* the registry's (lives as long as the process) */
  hvb_client *client;           /* borrowed (the LLM's); NULL for an offline gateway */
  hvb_cache *llm_cache;         /* borrowed: the LLM's cache settings */
  hvb_repair_config llm_repair; /* the LLM's repair settings */
  const char *prompt;           /* chat: borrowed for the way in */
  json_object *messages;        /* chat: borrowed for the way in */
  json_object *options;         /* call options, borrowed for the way in; may be NULL */
  bool force_stream;            /* chat: ask for an event stream whatever the options say */
  bool runs_tools;              /* chat: the caller executes tools (no text cache) */
  struct hvb_telemetry *telemetry; /* the LLM's (a reference; core/call/telemetry.h) */
  bool async;                   /* driven by the engine: never block; transfer detached */
  hvb_body_fn sink;             /* the transfer's body sink, reset and their data */
  hvb_reset_fn reset;
  void *sink_data;
  hvb_accum *acc;               /* chat: the exchange's accumulator (stages read it) */
  struct hvb_route_call *route; /* a routed call's walk (call/route.h), owned by the owner;
                                   x->spec/gw/client are then the current target's */
  bool route_no_retries;        /* the route says: every target is tried once */
  /* ---- made on the way in ---- */
  json_object *request;         /* the canonical request (owned); JSON ops: set by the owner */
  hvb_repair_config repair;     /* chat: this call's repair settings */
  hvb_wire_request *wire;       /* the gateway's HTTP request (owned) */
  const char *url;              /* borrowed from wire, for messages */
  hvb_http_request http;        /* limits (retries, deadlines), then the request itself */
  hvb_transfer *transfer;       /* owned; the owner frees it when it settles */
  json_object *answers;         /* set by a stage that answered (owned array): canonical
                                   chunks for chat, responses for JSON operations */
  bool answer_deltas;           /* chat: `answers` holds public deltas (a cache replay,
                                   hvb__accum_replay), not canonical chunks */
  json_object *answer_raw;      /* the raw payload of a replayed answer (owned), or NULL */
  json_object *response;        /* JSON ops: the canonical response, borrowed for the way out
                                   (set by the owner before reply), or NULL */
  bool cached;                  /* the answer was replayed from the response cache */
  bool no_store;                /* a stage found the reply unfit to keep: the cache stores
                                   nothing (a structured reply that failed its schema) */
  json_object *retry_messages;  /* the conversation to ask again with, when a structured reply
                                   failed its schema (owned), or NULL */
  hvb_call_times times;         /* where the call's time went (call/times.h) */
  struct hvb_usage_cfg *usage;  /* a reference (the LLM's): ledger and budgets; NULL: none */
  hvb_exchange_bill bill;       /* set by the account stage when it records the call */
  char traceparent[56];         /* the W3C trace context for the provider, or "" */
  void *state[HVB_STAGE_COUNT]; /* one slot per stage */
  int waiting;                  /* 1 + the index of the stage that waits (HVB_STAGE_WAIT), or 0 */
} hvb_exchange;

typedef enum hvb_stage_rc {
  HVB_STAGE_FAILED = -1,  /* err set: the call fails */
  HVB_STAGE_NEXT = 0,     /* on to the next stage */
  HVB_STAGE_ANSWERED = 1, /* x->answers holds the answer: no later stage runs */
  HVB_STAGE_WAIT = 2,     /* async calls only: the stage waits for something outside the call
                             (another host's cache entry); its owner calls hvb__pipeline_poll
                             every HVB_STAGE_POLL_MS until another answer comes */
} hvb_stage_rc;

#define HVB_STAGE_POLL_MS 50

typedef struct hvb_stage {
  const char *name;
  hvb_stage_rc (*request)(hvb_exchange *x, void **state, hvb_error *err);
  void (*delta)(hvb_exchange *x, void **state, json_object *delta);
  /* The reply is complete and folded in (chat: x->acc). */
  void (*reply)(hvb_exchange *x, void **state);
  /* A chat result was built: amend it; false with err fails the call. */
  bool (*result)(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err);
  void (*error)(hvb_exchange *x, void **state, const hvb_error *e);
  /* The exchange goes (after reply or error, or aborted): free the slot. */
  void (*release)(hvb_exchange *x, void **state);
  /* A stage that returned HVB_STAGE_WAIT: look again (never block); returns as request. */
  hvb_stage_rc (*poll)(hvb_exchange *x, void **state, hvb_error *err);
} hvb_stage;

/* Today's stages, in pipeline order (each in core/call/stage-<name>.c). */
extern const hvb_stage hvb__stage_account;   /* cost, timing, the usage ledger */
extern const hvb_stage hvb__stage_telemetry; /* observer records and OTLP spans */
extern const hvb_stage hvb__stage_options;   /* options, defaults, the canonical request */
extern const hvb_stage hvb__stage_cache;     /* response cache lookup and store, single flight */
extern const hvb_stage hvb__stage_structured; /* structured output: validate, repair, partials */
extern const hvb_stage hvb__stage_budget;    /* budgets: refuse a call over one */
extern const hvb_stage hvb__stage_repair;    /* tool-call repair of the result */
extern const hvb_stage hvb__stage_credentials; /* no request without a needed key */
extern const hvb_stage hvb__stage_limits;    /* retries and deadlines */
extern const hvb_stage hvb__stage_route;     /* a routed call's deadline and retries */
extern const hvb_stage hvb__stage_gateway;   /* the gateway's translation (or offline answer) */
extern const hvb_stage hvb__stage_traceparent; /* the trace context as an HTTP header */
extern const hvb_stage hvb__stage_transport; /* the transfer */

/* The way in. HVB_STAGE_NEXT: the transfer is made (x->transfer); ANSWERED: x->answers. */
hvb_stage_rc hvb__pipeline_request(hvb_exchange *x, hvb_error *err);
/* The way in stopped at a stage that waits (HVB_STAGE_WAIT): look again, and on from there
 * when it moved on. Returns as hvb__pipeline_request (HVB_STAGE_WAIT: still waiting). */
hvb_stage_rc hvb__pipeline_poll(hvb_exchange *x, hvb_error *err);
/* The way out; every stage is told, in reverse order. */
void hvb__pipeline_delta(hvb_exchange *x, json_object *delta);
void hvb__pipeline_reply(hvb_exchange *x);
bool hvb__pipeline_result(hvb_exchange *x, hvb_result *r, hvb_error *err);
void hvb__pipeline_error(hvb_exchange *x, const hvb_error *e);
/* Release every stage's state and what the exchange's way in made (request, wire, answers,
 * the telemetry reference; not the transfer, which its owner frees). Idempotent. */
void hvb__pipeline_release(hvb_exchange *x);

#endif
