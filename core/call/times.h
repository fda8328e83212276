/* core/call/times.h: the clock of one call, kept in its exchange (core/call/pipeline.h).
 *
 * The stages and the exchange add the time of their parts (microseconds); the accounting
 * stage (core/call/stage-account.c) adds the transfer's parts (net/transport.h:
 * hvb__transfer_times) and builds the breakdown a result shows (hvb_result_timing). Parts
 * never overlap, so they add up to the call's wall time: what is not listed is "other".
 * An exchange belongs to one thread at a time, and so does its clock.
 */
#ifndef HVB_CALL_TIMES_H
#define HVB_CALL_TIMES_H

#include <glib.h>
#include <json-c/json.h>
#include <stdbool.h>

typedef struct hvb_call_times {
  gint64 start_us;        /* monotonic: the call entered the pipeline */
  gint64 prepare_us;      /* options, the request, the gateway's translation */
  gint64 cache_lookup_us; /* the response cache's lookup (and a single-flight wait) */
  gint64 cache_store_us;
  gint64 parse_us;        /* the reply's body parsed and translated (a stream parses as it
                             arrives: its parsing is in the transfer's receive part) */
  gint64 repair_us;       /* tool-call repair of the result */
  gint64 ledger_us;       /* the usage ledger's row and the budgets' reads */
} hvb_call_times;

/* What a result keeps of its call's clock; the JSON of hvb_result_timing is made from it
 * when asked for (making it inside the call would be time the parts do not cover). */
typedef struct hvb_call_timing {
  bool set;
  hvb_call_times call;
  long long net[11]; /* hvb_net_times, in its order (call/times.h may not include net/) */
  gint64 total_us;   /* start to the result, plus release_us */
  gint64 release_us; /* the exchange's release, after the result was made */
  gint64 tools_us;   /* a tool loop: time in the tools, every step */
  json_object *steps; /* a tool loop: [{"model_ms", "tools_ms"}] per step (owned), or NULL */
} hvb_call_timing;

static inline gint64 hvb__clock_us(void) {
  return g_get_monotonic_time();
}

#endif
