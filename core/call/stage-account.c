/* core/call/stage-account.c: accounting. What each call cost (catalog prices,
 * core/config/prices.c), where its time went (core/call/times.h), and its row in the usage
 * ledger (core/cache/ledger.c).
 *
 * It is the first stage, so that its way in starts the call's clock and its way out runs
 * last: the reply is parsed, the cache has stored it and repair has run when it reads the
 * clock. A call that a stage refused on the way in (bad options, a spent budget) made no
 * request and gets no row.
 */
#include "call/pipeline.h"
#include "call/result.h"
#include "cache/ledger.h"
#include "config/prices.h"
#include "text/json.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

typedef struct account_state {
  char *tag;
  bool recorded;
  gint64 net_us; /* the transfer's wall time (creation to the end of its last attempt) */
  hvb_net_times net;
  hvb_cost cost;
} account_state;

static hvb_stage_rc account_request(hvb_exchange *x, void **state, hvb_error *err) {
  if (!x->times.start_us) x->times.start_us = hvb__clock_us();
  json_object *tag = json_object_object_get(x->options, "tag");
  if (tag && !json_object_is_type(tag, json_type_string)) {
    hvb__fail(err, HVB_EINVAL, "call option 'tag' must be a string, not %s",
              hvb__json_type_phrase(tag));
    return HVB_STAGE_FAILED;
  }
  account_state *st = g_new0(account_state, 1);
  st->tag = g_strdup(tag ? json_object_get_string(tag) : "");
  *state = st;
  return HVB_STAGE_NEXT;
}

static long long usage_int(json_object *usage, const char *key) {
  json_object *v = json_object_object_get(usage, key);
  return v ? json_object_get_int64(v) : 0;
}

/* The call's tokens and their price (a replay: what it would have cost). */
static void cost_of(hvb_exchange *x, hvb_cost *c) {
  memset(c, 0, sizeof *c);
  json_object *usage = x->acc ? hvb__accum_usage(x->acc) : NULL;
  c->input_tokens = usage_int(usage, "prompt_tokens");
  c->output_tokens = usage_int(usage, "completion_tokens");
  c->cached_tokens =
      usage_int(json_object_object_get(usage, "prompt_tokens_details"), "cached_tokens");
  c->cached = x->cached;
  hvb_price p = hvb__price_find(hvb_spec_model_info(x->spec), hvb_spec_provider(x->spec));
  if (x->op != HVB_GATEWAY_OP_CHAT) {
    /* Embeddings per token, images per image (their caches answer before the pipeline:
     * what reaches here was sent). */
    c->known = hvb__price_answer(&p, x->op == HVB_GATEWAY_OP_EMBED, x->request, x->response,
                                 &c->input_tokens, &c->output_tokens, &c->usd);
    return;
  }
  if (!p.known) return;
  c->known = true;
  double usd = hvb__price_tokens(&p, c->input_tokens, c->cached_tokens, c->output_tokens);
  if (x->cached) c->saved_usd = usd;
  else c->usd = usd;
}

static void record(hvb_exchange *x, account_state *st, const char *outcome) {
  st->recorded = true;
  x->bill = (hvb_exchange_bill){.answered = !strcmp(outcome, "ok") && !x->cached,
                                .priced = st->cost.known, .usd = st->cost.usd,
                                .tokens = st->cost.input_tokens + st->cost.output_tokens};
  if (!x->usage || !x->usage->ledger || !x->usage->backend.record) return;
  gint64 t = hvb__clock_us();
  hvb_usage_row row = {
      .time_ms = g_get_real_time() / 1000,
      .op = hvb__gateway_op_phrase(x->op),
      .preset = hvb_spec_preset(x->spec),
      .route = "",
      .model = hvb_spec_model(x->spec),
      .provider = hvb_spec_provider(x->spec),
      .gateway = hvb_spec_gateway(x->spec),
      .tag = st->tag,
      .outcome = outcome,
      .tokens_in = st->cost.input_tokens,
      .tokens_out = st->cost.output_tokens,
      .tokens_cached = st->cost.cached_tokens,
      .cost_known = st->cost.known,
      .cost_usd = st->cost.usd,
      .saved_usd = st->cost.saved_usd,
      .latency_ms = (double)(t - x->times.start_us) / 1000.0,
      .cached = x->cached,
  };
  x->usage->backend.record(x->usage->backend.self, &row, x->usage->budgets != NULL);
  x->times.ledger_us += hvb__clock_us() - t;
}

/* The transfer's parts, read before the exchange frees it. */
static void take_net(hvb_exchange *x, account_state *st) {
  if (!x->transfer) return;
  hvb__transfer_times(x->transfer, &st->net);
  st->net_us = st->net.engine_us + st->net.waited_us + st->net.retries_us + st->net.ttfb_us +
               st->net.receive_us;
  /* The way in ended when the transfer was made: that is the preparing. */
  gint64 made = x->times.start_us + x->times.cache_lookup_us;
  gint64 created = hvb__transfer_created_us(x->transfer);
  x->times.prepare_us = created > made ? created - made : 0;
}

static void account_reply(hvb_exchange *x, void **state) {
  account_state *st = *state;
  if (!st) return;
  take_net(x, st);
  if (!x->transfer) /* answered on the way in: the cache or an offline gateway */
    x->times.prepare_us = hvb__clock_us() - x->times.start_us - x->times.cache_lookup_us -
                          x->times.cache_store_us;
  cost_of(x, &st->cost);
  record(x, st, "ok");
}

static void account_error(hvb_exchange *x, void **state, const hvb_error *e) {
  account_state *st = *state;
  if (!st || st->recorded) return;
  take_net(x, st);
  cost_of(x, &st->cost);
  /* A failed call is billed nothing we know of: its cost is 0 when the price is known. */
  st->cost.usd = st->cost.saved_usd = 0;
  record(x, st, hvb_status_name(e->status));
}

/* A number printed with `digits` after the point, or significant digits when `significant`
 * (json-c would print every binary digit). */
static json_object *number(double v, int digits, bool significant) {
  char buf[64];
  if (significant) g_snprintf(buf, sizeof buf, "%.*g", digits, v);
  else g_snprintf(buf, sizeof buf, "%.*f", digits, v);
  return json_object_new_double_s(v, buf);
}

static void add_ms(json_object *o, const char *key, gint64 us, gint64 *sum) {
  json_object_object_add(o, key, number((double)us / 1000.0, 3, false));
  if (sum) *sum += us;
}

static json_object *timing_json(const hvb_call_timing *c) {
  json_object *o = json_object_new_object(), *q = json_object_new_object();
  gint64 sum = 0, total = c->total_us;
  hvb_net_times n;
  memcpy(&n, c->net, sizeof n);
  add_ms(o, "total_ms", total, NULL);
  add_ms(o, "prepare_ms", c->call.prepare_us, &sum);
  add_ms(o, "cache_lookup_ms", c->call.cache_lookup_us, &sum);
  add_ms(q, "engine_ms", n.engine_us, &sum);
  add_ms(q, "rate_limit_ms", n.waited_us, &sum);
  json_object_object_add(o, "queued_ms", q);
  add_ms(o, "retries_ms", n.retries_us, &sum);
  add_ms(o, "dns_ms", n.dns_us, &sum);
  add_ms(o, "connect_ms", n.connect_us, &sum);
  add_ms(o, "tls_ms", n.tls_us, &sum);
  add_ms(o, "send_ms", n.send_us, &sum);
  add_ms(o, "server_ms", n.server_us, &sum);
  add_ms(o, "ttfb_ms", n.ttfb_us, NULL);
  add_ms(o, "transfer_ms", n.receive_us, &sum);
  /* A part libcurl does not name (its own bookkeeping before the name lookup). */
  sum += n.ttfb_us - (n.dns_us + n.connect_us + n.tls_us + n.send_us + n.server_us);
  add_ms(o, "parse_ms", c->call.parse_us, &sum);
  add_ms(o, "repair_ms", c->call.repair_us, &sum);
  add_ms(o, "cache_store_ms", c->call.cache_store_us, &sum);
  add_ms(o, "accounting_ms", c->call.ledger_us, &sum);
  add_ms(o, "release_ms", c->release_us, &sum);
  add_ms(o, "tools_ms", c->tools_us, NULL);
  if (c->steps) json_object_object_add(o, "steps", json_object_get(c->steps));
  add_ms(o, "other_ms", total > sum ? total - sum : 0, NULL);
  json_object_object_add(o, "attempts", json_object_new_int(n.attempts));
  return o;
}

static bool account_result(hvb_exchange *x, void **state, hvb_result *r, hvb_error *err) {
  (void)err;
  account_state *st = *state;
  if (!st) return true;
  r->cost = st->cost;
  G_STATIC_ASSERT(sizeof r->clock.net == sizeof st->net);
  r->clock.set = true;
  r->clock.call = x->times;
  memcpy(r->clock.net, &st->net, sizeof st->net);
  r->clock.total_us = hvb__clock_us() - x->times.start_us;
  g_clear_pointer(&r->timing, json_object_put);
  return true;
}

static void account_release(hvb_exchange *x, void **state) {
  account_state *st = *state;
  if (!st) return;
  /* A stream freed before its end was asked for and cut off by the caller. */
  if (!st->recorded && (x->transfer || x->answers)) {
    take_net(x, st);
    cost_of(x, &st->cost);
    st->cost.usd = st->cost.saved_usd = 0;
    record(x, st, "CANCELLED");
  }
  g_free(st->tag);
  g_free(st);
  *state = NULL;
}

const hvb_stage hvb__stage_account = {.name = "account",
                                      .request = account_request,
                                      .reply = account_reply,
                                      .result = account_result,
                                      .error = account_error,
                                      .release = account_release};

json_object *hvb__cost_json(const hvb_cost *c) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "known", json_object_new_boolean(c->known));
  json_object_object_add(o, "usd", c->known ? number(c->usd, 10, true) : NULL);
  json_object_object_add(o, "saved_usd", c->known ? number(c->saved_usd, 10, true) : NULL);
  json_object_object_add(o, "cached", json_object_new_boolean(c->cached));
  json_object_object_add(o, "input_tokens", json_object_new_int64(c->input_tokens));
  json_object_object_add(o, "output_tokens", json_object_new_int64(c->output_tokens));
  json_object_object_add(o, "cached_tokens", json_object_new_int64(c->cached_tokens));
  return o;
}

void hvb__result_timing_add(hvb_result *r, gint64 release_us) {
  r->clock.release_us += release_us;
  r->clock.total_us += release_us;
}

void hvb__loop_acct_step(hvb_loop_acct *a, const hvb_result *r) {
  const hvb_cost *c = &r->cost;
  /* The loop's cost is known only when every step's is. */
  bool first = !a->steps;
  a->cost.known = (first || a->cost.known) && c->known;
  a->cost.cached = (first || a->cost.cached) && c->cached;
  a->cost.usd += c->usd;
  a->cost.saved_usd += c->saved_usd;
  a->cost.input_tokens += c->input_tokens;
  a->cost.output_tokens += c->output_tokens;
  a->cost.cached_tokens += c->cached_tokens;
  if (!a->steps) a->steps = json_object_new_array();
  json_object *s = json_object_new_object();
  json_object_object_add(s, "model_ms", number((double)r->clock.total_us / 1000.0, 3, false));
  json_object_object_add(s, "tools_ms", number(0, 3, false));
  json_object_array_add(a->steps, s);
}

void hvb__loop_acct_tools(hvb_loop_acct *a, gint64 us) {
  size_t n = a->steps ? json_object_array_length(a->steps) : 0;
  if (!n) return;
  json_object_object_add(json_object_array_get_idx(a->steps, n - 1), "tools_ms",
                         number((double)us / 1000.0, 3, false));
  a->tools_us += us;
}

void hvb__loop_acct_finish(hvb_loop_acct *a, hvb_result *r) {
  if (!a->steps) return;
  r->cost = a->cost;
  if (!a->cost.known) r->cost.usd = r->cost.saved_usd = 0;
  json_object_put(r->clock.steps);
  r->clock.steps = a->steps;
  r->clock.tools_us = a->tools_us;
  a->steps = NULL;
  g_clear_pointer(&r->timing, json_object_put);
}

void hvb__loop_acct_clear(hvb_loop_acct *a) {
  json_object_put(a->steps);
  memset(a, 0, sizeof *a);
}

HVB_PUBLIC bool hvb_result_cost(const hvb_result *r, hvb_cost *out) {
  if (!out) return false;
  memset(out, 0, sizeof *out);
  if (!r) return false;
  *out = r->cost;
  return out->known;
}

HVB_PUBLIC json_object *hvb_result_timing(const hvb_result *r) {
  if (!r || !r->clock.set) return NULL;
  /* Made once, when first asked for; the result belongs to one thread at a time. */
  hvb_result *w = (hvb_result *)r;
  if (!w->timing) w->timing = timing_json(&r->clock);
  return w->timing;
}
