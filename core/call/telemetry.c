/* core/call/telemetry.c: call records for the observer and spans for OTLP (see telemetry.h,
 * docs/telemetry.md for the attributes). */
#include "call/telemetry.h"
#include "call/result.h"
#include "net/otlp.h"
#include "text/url.h"
#include "base/common.h"
#include "base/env.h"
#include "base/error.h"
#include "base/log.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define TRACES_PATH "/v1/traces"
#define MAX_ATTEMPTS_KEPT 16

typedef struct observer {
  hvb_observer_fn fn;
  void *user_data;
} observer;

/* A W3C trace context: 00-<trace id>-<parent id>-<flags>. */
typedef struct trace_ctx {
  bool valid;
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t flags;
} trace_ctx;

/* The span attributes every call of an LLM shares (operation, provider, model, server,
 * gateway, preset), encoded once and copied into each span: encoding them was the larger
 * part of a span's cost (bench/README.md). Replaced when a call differs (another target of
 * a route, another operation). */
#define CONST_ATTRS 6
typedef struct const_attrs {
  gint refs; /* the LLM's, and one per span waiting to be encoded */
  char *v[CONST_ATTRS];
  int port;
  hvb_pb *bytes;
} const_attrs;

struct hvb_telemetry {
  gint refs;
  const_attrs *consts;    /* under lock */
  observer *obs;          /* atomic: read by every call without a lock */
  GMutex lock;            /* set_observer */
  GSList *retired;        /* observers replaced: a call may still hold one */
  hvb_otlp_target *target; /* NULL: no export */
  bool capture_content;
  trace_ctx env_ctx;      /* TRACEPARENT when the LLM was made */
};

typedef struct attempt {
  int n;
  int64_t start_us, end_us; /* monotonic */
  long http_status;
  hvb_status status;
} attempt;

struct hvb_obs {
  hvb_telemetry *t; /* reference */
  observer ob;      /* as it was when the call started */
  const char *operation;
  bool async, loop;
  int step, steps;  /* step k of a loop (0: none); a loop's steps so far */
  trace_ctx parent; /* the caller's context, or the loop's span */
  bool traced;      /* ids below are set */
  uint8_t trace_id[16], span_id[8], flags;
  char traceparent[56];
  int64_t start_unix_ns, start_mono_us, end_mono_us;
  attempt attempts[MAX_ATTEMPTS_KEPT];
  int nattempts;
};

/* ---- trace context ----------------------------------------------------------------------- */

static bool hex_bytes(const char *s, uint8_t *out, size_t n) {
  bool nonzero = false;
  for (size_t i = 0; i < n; i++) {
    int hi = g_ascii_xdigit_value(s[2 * i]), lo = g_ascii_xdigit_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0 || g_ascii_isupper(s[2 * i]) || g_ascii_isupper(s[2 * i + 1]))
      return false;
    out[i] = (uint8_t)(hi << 4 | lo);
    nonzero |= out[i] != 0;
  }
  return nonzero; /* all-zero ids are invalid */
}

/* Version 00's layout; a later version is read the same way when it is at least as long,
 * as the W3C spec asks. */
static bool parse_traceparent(const char *s, trace_ctx *out) {
  memset(out, 0, sizeof *out);
  if (!s || strlen(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return false;
  if (!strncmp(s, "ff", 2) || (!strncmp(s, "00", 2) && s[55] != '\0')) return false;
  uint8_t ver, flags;
  if (!hex_bytes(s, &ver, 1) && strncmp(s, "00", 2)) return false;
  if (!hex_bytes(s + 3, out->trace_id, 16) || !hex_bytes(s + 36, out->span_id, 8)) return false;
  flags = 0;
  if (g_ascii_xdigit_value(s[53]) < 0 || g_ascii_xdigit_value(s[54]) < 0) return false;
  flags = (uint8_t)(g_ascii_xdigit_value(s[53]) << 4 | g_ascii_xdigit_value(s[54]));
  out->flags = flags;
  out->valid = true;
  return true;
}

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

static void format_traceparent(const uint8_t trace[16], const uint8_t span[8], uint8_t flags,
                               char out[56]) {
  memcpy(out, "00-", 3);
  hex(trace, 16, out + 3);
  out[35] = '-';
  hex(span, 8, out + 36);
  out[52] = '-';
  hex(&flags, 1, out + 53);
}

/* Random ids: a per-thread xorshift generator seeded from GLib's (locked) one once. */
static void random_bytes(uint8_t *out, size_t n) {
  static __thread uint64_t state;
  while (!state) state = ((uint64_t)g_random_int() << 32) | g_random_int();
  for (size_t i = 0; i < n; i++) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    out[i] = (uint8_t)(state >> 24);
  }
  if (out[0] == 0) out[0] = 1; /* never the invalid all-zero id */
}

bool hvb__telemetry_check_traceparent(json_object *value, hvb_error *err) {
  trace_ctx c;
  if (json_object_is_type(value, json_type_string) &&
      parse_traceparent(json_object_get_string(value), &c))
    return true;
  return hvb__fail(err, HVB_EINVAL,
                   "call option 'traceparent' must be a W3C traceparent "
                   "(\"00-<32 hex digits>-<16 hex digits>-<2 hex digits>\", ids not all zero)");
}

/* ---- settings ---------------------------------------------------------------------------- */

/* The traces URL: the configured endpoint (a base, as OTEL_EXPORTER_OTLP_ENDPOINT is: the
 * signal's path is added unless it is there), else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
 * given, else OTEL_EXPORTER_OTLP_ENDPOINT plus /v1/traces. NULL: no export. */
static char *traces_url(const hvb_config *cfg) {
  const char *set = hvb_config_get_string(cfg, "heavenbase.llm.telemetry.otlp_endpoint", NULL);
  if (set && *set)
    return g_str_has_suffix(set, TRACES_PATH) ? g_strdup(set) : hvb__url_join(set, TRACES_PATH);
  const char *sdk_off = hvb__getenv("OTEL_SDK_DISABLED");
  if (sdk_off && !g_ascii_strcasecmp(sdk_off, "true")) return NULL;
  const char *traces = hvb__getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (traces) return g_strdup(traces);
  const char *base = hvb__getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
  return base ? hvb__url_join(base, TRACES_PATH) : NULL;
}

static char *service_name(const hvb_config *cfg) {
  const char *set = hvb_config_get_string(cfg, "heavenbase.llm.telemetry.service_name", NULL);
  if (set && *set) return g_strdup(set);
  const char *env = hvb__getenv("OTEL_SERVICE_NAME");
  if (env) return g_strdup(env);
  const char *prg = g_get_prgname();
  return g_strdup_printf("unknown_service:%s", prg ? prg : "heavenbase");
}

hvb_telemetry *hvb__telemetry_new(const hvb_config *cfg, hvb_error *err) {
  (void)err; /* keys.c checked the values when the files were read */
  hvb_telemetry *t = g_new0(hvb_telemetry, 1);
  t->refs = 1;
  g_mutex_init(&t->lock);
  char *url = traces_url(cfg);
  if (url) {
    char *service = service_name(cfg);
    t->target = hvb__otlp_target_new(url, service);
    g_free(service);
    g_free(url);
  }
  const char *genai = hvb__getenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
  t->capture_content =
      hvb_config_get_bool(cfg, "heavenbase.llm.telemetry.capture_content", false) ||
      (genai && !g_ascii_strcasecmp(genai, "true"));
  const char *tp = hvb__getenv("TRACEPARENT");
  if (tp && !parse_traceparent(tp, &t->env_ctx))
    hvb__warn_once("traceparent-env", "telemetry: TRACEPARENT is not a W3C traceparent; "
                                      "it is ignored");
  return t;
}

hvb_telemetry *hvb__telemetry_ref(hvb_telemetry *t) {
  if (t) g_atomic_int_inc(&t->refs);
  return t;
}

static void consts_free(const_attrs *c) {
  if (!c || !g_atomic_int_dec_and_test(&c->refs)) return;
  for (int i = 0; i < CONST_ATTRS; i++) g_free(c->v[i]);
  hvb__pb_free(c->bytes);
  g_free(c);
}

void hvb__telemetry_unref(hvb_telemetry *t) {
  if (!t || !g_atomic_int_dec_and_test(&t->refs)) return;
  consts_free(t->consts);
  g_free(t->obs);
  g_slist_free_full(t->retired, g_free);
  hvb__otlp_target_unref(t->target);
  g_mutex_clear(&t->lock);
  g_free(t);
}

void hvb__telemetry_set_observer(hvb_telemetry *t, hvb_observer_fn fn, void *user_data) {
  observer *o = NULL;
  if (fn) {
    o = g_new(observer, 1);
    o->fn = fn;
    o->user_data = user_data;
  }
  g_mutex_lock(&t->lock);
  observer *old = g_atomic_pointer_exchange(&t->obs, o);
  if (old) t->retired = g_slist_prepend(t->retired, old);
  g_mutex_unlock(&t->lock);
}

/* ---- one observed call ------------------------------------------------------------------- */

/* The loop whose step this thread is starting, and the step. */
typedef struct scope {
  hvb_obs *loop;
  int step;
} scope;
static __thread scope *current;

static hvb_obs *obs_new(hvb_telemetry *t, json_object *call_options, const char *operation,
                        bool async) {
  observer *ob = g_atomic_pointer_get(&t->obs);
  trace_ctx ctx = t->env_ctx;
  json_object *opt = json_object_is_type(call_options, json_type_object)
                         ? json_object_object_get(call_options, "traceparent")
                         : NULL;
  if (opt && !parse_traceparent(json_object_get_string(opt), &ctx))
    ctx = t->env_ctx; /* the stage refuses the call */
  scope *sc = current;
  if (!sc && !ob && !t->target && !ctx.valid) return NULL;
  hvb_obs *o = g_new0(hvb_obs, 1);
  o->t = hvb__telemetry_ref(t);
  if (ob) o->ob = *ob;
  o->operation = operation;
  o->async = async;
  o->parent = ctx;
  o->flags = ctx.valid ? ctx.flags : 1; /* sampled: we export what we make */
  if (sc) { /* a step: the loop's span is the parent, its trace ours */
    o->step = sc->step;
    o->parent.valid = sc->loop->traced;
    memcpy(o->parent.trace_id, sc->loop->trace_id, 16);
    memcpy(o->parent.span_id, sc->loop->span_id, 8);
    o->flags = sc->loop->flags;
  }
  if (t->target || o->parent.valid) {
    o->traced = true;
    if (o->parent.valid) memcpy(o->trace_id, o->parent.trace_id, 16);
    else random_bytes(o->trace_id, 16);
    random_bytes(o->span_id, 8);
  }
  /* Without export, the caller's context goes on as it came: there is no span of ours. */
  if (o->traced && t->target) format_traceparent(o->trace_id, o->span_id, o->flags, o->traceparent);
  else if (o->parent.valid)
    format_traceparent(o->parent.trace_id, o->parent.span_id, o->flags, o->traceparent);
  o->start_unix_ns = g_get_real_time() * 1000;
  o->start_mono_us = g_get_monotonic_time();
  return o;
}

hvb_obs *hvb__obs_begin(hvb_telemetry *t, json_object *call_options, const char *operation,
                        bool async) {
  return t ? obs_new(t, call_options, operation, async) : NULL;
}

hvb_obs *hvb__obs_loop_begin(hvb_telemetry *t, json_object *call_options, bool async) {
  scope *sc = current; /* a loop inside a step's scope is not a step itself */
  current = NULL;
  hvb_obs *o = hvb__obs_begin(t, call_options, "chat", async);
  current = sc;
  if (o) o->loop = true;
  return o;
}

void *hvb__obs_scope_enter(hvb_obs *o, int step) {
  scope *previous = current;
  if (!o) return previous;
  scope *sc = g_new(scope, 1);
  sc->loop = o;
  sc->step = step;
  o->steps = step;
  current = sc;
  return previous;
}

void hvb__obs_scope_leave(void *previous) {
  if (current != previous) g_free(current);
  current = previous;
}

const char *hvb__obs_traceparent(const hvb_obs *o) {
  return o && o->traceparent[0] ? o->traceparent : NULL;
}

void hvb__obs_attempt(void *obs, int n, int64_t start_us, int64_t end_us, long http_status,
                      const hvb_error *failure) {
  hvb_obs *o = obs;
  if (o->nattempts >= MAX_ATTEMPTS_KEPT) return;
  attempt *a = &o->attempts[o->nattempts++];
  a->n = n;
  a->start_us = start_us;
  a->end_us = end_us;
  a->http_status = http_status;
  a->status = failure ? failure->status : HVB_OK;
}

void hvb__obs_mark_end(hvb_obs *o) {
  if (o && !o->end_mono_us) o->end_mono_us = g_get_monotonic_time();
}

bool hvb__obs_ended(const hvb_obs *o) {
  return o && o->end_mono_us;
}

void hvb__obs_free(hvb_obs *o) {
  if (!o) return;
  hvb__telemetry_unref(o->t);
  g_free(o);
}


/* ---- the report: the observer's record and the span -------------------------------------- */

typedef struct report {
  hvb_call_record rec;
  const char *reasons[1];
  char trace_hex[33], span_hex[17];
  char host[256];
  char *error_text;
} report;

static int64_t usage_int(json_object *usage, const char *key) {
  json_object *v = json_object_object_get(usage, key);
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

/* The model the reply names: the body's "model", or the first stream event's. */
static const char *reply_model(json_object *raw) {
  if (json_object_is_type(raw, json_type_object)) {
    json_object *m = json_object_object_get(raw, "model");
    return json_object_is_type(m, json_type_string) ? json_object_get_string(m) : NULL;
  }
  for (size_t i = 0; json_object_is_type(raw, json_type_array) &&
                     i < json_object_array_length(raw); i++) {
    const char *m = reply_model(json_object_array_get_idx(raw, i));
    if (m) return m;
  }
  return NULL;
}

static void copy_n(char *dst, size_t size, const char *src, size_t n) {
  if (n >= size) n = size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Host and port of `url` ("http://h:8080/v1/..." -> "h", 8080; [v6] kept without brackets). */
static void server_of(const char *url, char *host, size_t size, int *port) {
  host[0] = '\0';
  *port = 0;
  const char *p = url ? strstr(url, "://") : NULL;
  if (!p) return;
  bool tls = !g_ascii_strncasecmp(url, "https", 5);
  p += 3;
  size_t auth = strcspn(p, "/?#");
  const char *at = memchr(p, '@', auth);
  if (at) auth -= (size_t)(at + 1 - p), p = at + 1;
  const char *end = p + auth, *colon = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', auth);
    if (close && close + 1 < end && close[1] == ':') colon = close + 1;
    copy_n(host, size, p + 1, close ? (size_t)(close - p - 1) : auth - 1);
  } else {
    colon = memchr(p, ':', auth);
    copy_n(host, size, p, (size_t)((colon ? colon : end) - p));
  }
  *port = colon ? atoi(colon + 1) : tls ? 443 : 80;
}

static void fill_result(report *rp, const hvb_result *r) {
  hvb_call_record *rec = &rp->rec;
  rec->input_tokens = usage_int(r->usage, "prompt_tokens");
  rec->output_tokens = usage_int(r->usage, "completion_tokens");
  if (r->finish_reason && *r->finish_reason) {
    rp->reasons[0] = r->finish_reason;
    rec->finish_reasons = rp->reasons;
    rec->n_finish_reasons = 1;
  }
  rec->response_model = reply_model(r->raw);
  rec->repaired = r->repairs && json_object_array_length(r->repairs) > 0;
  if (r->steps > 0) rec->steps = r->steps;
  rec->cost_known = r->cost.known;
  rec->cost_usd = r->cost.usd;
  rec->cost_saved_usd = r->cost.saved_usd;
}

static void fill_error(report *rp, const hvb_error *e) {
  hvb_call_record *rec = &rp->rec;
  rec->status = e->status != HVB_OK ? e->status : HVB_TRANSPORT;
  rec->http_status = e->http_status;
  rec->error_type = e->type[0] ? e->type : hvb_status_name(rec->status);
  rp->error_text = g_strdup(e->message[0] ? e->message : hvb_strerror(rec->status));
  hvb__redact(rp->error_text);
  rec->error_message = rp->error_text;
}

static void fill_record(report *rp, const hvb_obs *o, const hvb_obs_outcome *out) {
  hvb_call_record *rec = &rp->rec;
  rec->struct_size = sizeof *rec;
  rec->operation = o->operation;
  rec->stream = out->stream;
  rec->async = o->async;
  rec->preset = hvb_spec_preset(out->spec);
  rec->request_model = hvb_spec_model_id(out->spec);
  rec->provider = hvb_spec_provider(out->spec);
  rec->gateway = hvb_spec_gateway(out->spec);
  server_of(out->url, rp->host, sizeof rp->host, &rec->server_port);
  rec->server_address = rp->host[0] ? rp->host : NULL;
  rec->input_tokens = rec->output_tokens = -1;
  rec->steps = o->loop ? o->steps : 1;
  rec->step = o->step;
  rec->cached = out->cached;
  rec->start_unix_ns = o->start_unix_ns;
  rec->duration_ns = (o->end_mono_us - o->start_mono_us) * 1000;
  if (out->result) fill_result(rp, out->result);
  if (out->error) fill_error(rp, out->error);
  rec->retries = o->nattempts > 1 ? o->nattempts - 1 : 0;
  if (o->traced) {
    hex(o->trace_id, 16, rp->trace_hex);
    rec->trace_id = rp->trace_hex;
    if (o->t->target) {
      hex(o->span_id, 8, rp->span_hex);
      rec->span_id = rp->span_hex;
    }
  } else if (o->parent.valid) {
    hex(o->parent.trace_id, 16, rp->trace_hex);
    rec->trace_id = rp->trace_hex;
  }
}

static uint64_t unix_ns(const hvb_obs *o, int64_t mono_us) {
  return (uint64_t)(o->start_unix_ns + (mono_us - o->start_mono_us) * 1000);
}

/* Child spans, one per attempt, when the transport retried. */
static void export_attempts(const hvb_obs *o) {
  for (int i = 0; o->nattempts > 1 && i < o->nattempts; i++) {
    const attempt *a = &o->attempts[i];
    uint8_t id[8];
    random_bytes(id, 8);
    char name[32];
    snprintf(name, sizeof name, "attempt %d", a->n);
    hvb_pb *s = hvb__otlp_span_new(o->trace_id, id, o->span_id, o->flags, name,
                                       HVB_OTLP_KIND_CLIENT, unix_ns(o, a->start_us),
                                       unix_ns(o, a->end_us));
    hvb__otlp_attr_int(s, "heavenbase.attempt", a->n);
    if (a->http_status) hvb__otlp_attr_int(s, "http.response.status_code", a->http_status);
    if (a->status != HVB_OK) {
      hvb__otlp_attr_str(s, "error.type", hvb_status_name(a->status));
      hvb__otlp_span_status(s, HVB_OTLP_STATUS_ERROR, NULL);
    }
    hvb__otlp_submit(o->t->target, s);
  }
}

static void add_content(hvb_pb *s, const hvb_obs_outcome *out) {
  json_object *msgs = json_object_object_get(out->request, "messages");
  if (msgs)
    hvb__otlp_attr_str(s, "gen_ai.input.messages",
                       json_object_to_json_string_ext(msgs, JSON_C_TO_STRING_PLAIN));
  if (out->result && out->result->message) {
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_get(out->result->message));
    hvb__otlp_attr_str(s, "gen_ai.output.messages",
                       json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
    json_object_put(arr);
  }
}

static const_attrs *consts_new(const char *const v[CONST_ATTRS], int port) {
  static const char *const keys[CONST_ATTRS] = {"gen_ai.operation.name", "gen_ai.provider.name",
                                                "gen_ai.request.model", "server.address",
                                                "heavenbase.gateway", "heavenbase.preset"};
  const_attrs *c = g_new0(const_attrs, 1);
  c->refs = 1;
  c->bytes = hvb__pb_new(256);
  c->port = port;
  for (int i = 0; i < CONST_ATTRS; i++) {
    c->v[i] = g_strdup(v[i]);
    hvb__otlp_attr_str(c->bytes, keys[i], v[i]);
    if (i == 3 && port) hvb__otlp_attr_int(c->bytes, "server.port", port);
  }
  return c;
}

static bool consts_match(const const_attrs *c, const char *const v[CONST_ATTRS], int port) {
  if (!c || c->port != port) return false;
  for (int i = 0; i < CONST_ATTRS; i++)
    if (g_strcmp0(c->v[i], v[i]) != 0) return false;
  return true;
}

/* The LLM's encoded shared attributes for `rec` (a new reference). */
static const_attrs *const_attributes(hvb_telemetry *t, const hvb_call_record *rec) {
  const char *v[CONST_ATTRS] = {rec->operation,      rec->provider, rec->request_model,
                                rec->server_address, rec->gateway,  rec->preset};
  g_mutex_lock(&t->lock);
  if (!consts_match(t->consts, v, rec->server_port)) {
    consts_free(t->consts);
    t->consts = consts_new(v, rec->server_port);
  }
  const_attrs *c = t->consts;
  g_atomic_int_inc(&c->refs);
  g_mutex_unlock(&t->lock);
  return c;
}

/* The attributes of `rec` into span `s`: the shared ones from `c`, then the call's own. */
static void span_attributes(const const_attrs *c, hvb_pb *s, const hvb_call_record *rec) {
  hvb__pb_append(s, c->bytes->data, c->bytes->len);
  hvb__otlp_attr_str(s, "gen_ai.response.model", rec->response_model);
  if (rec->input_tokens >= 0)
    hvb__otlp_attr_int(s, "gen_ai.usage.input_tokens", rec->input_tokens);
  if (rec->output_tokens >= 0)
    hvb__otlp_attr_int(s, "gen_ai.usage.output_tokens", rec->output_tokens);
  if (rec->n_finish_reasons)
    hvb__otlp_attr_strs(s, "gen_ai.response.finish_reasons", rec->finish_reasons,
                        rec->n_finish_reasons);
  hvb__otlp_attr_str(s, "error.type", rec->error_type);
  if (rec->http_status) hvb__otlp_attr_int(s, "http.response.status_code", rec->http_status);
  hvb__otlp_attr_bool(s, "heavenbase.cached", rec->cached);
  hvb__otlp_attr_bool(s, "heavenbase.repaired", rec->repaired);
  hvb__otlp_attr_bool(s, "heavenbase.stream", rec->stream);
  if (rec->step) hvb__otlp_attr_int(s, "heavenbase.step", rec->step);
  if (rec->steps > 1 || rec->step == 0) hvb__otlp_attr_int(s, "heavenbase.steps", rec->steps);
  if (rec->retries) hvb__otlp_attr_int(s, "heavenbase.retries", rec->retries);
  if (rec->cost_known) hvb__otlp_attr_double(s, "heavenbase.cost_usd", rec->cost_usd);
  if (rec->cost_known && rec->cached)
    hvb__otlp_attr_double(s, "heavenbase.cost_saved_usd", rec->cost_saved_usd);
}

/* What a span needs once the call is gone: it is encoded on the exporter thread. */
typedef struct deferred {
  const_attrs *consts; /* a reference */
  uint8_t trace_id[16], span_id[8], parent_id[8], flags;
  bool has_parent, loop;
  uint64_t start_ns, end_ns;
  hvb_call_record rec; /* its strings are copies in text, or static */
  const char *reasons[1];
  char *name;
  char text[];
} deferred;

/* Copy `s` (may be NULL) to *at, moving it on. */
static const char *put(char **at, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  memcpy(*at, s, n);
  const char *copy = *at;
  *at += n;
  return copy;
}

static hvb_pb *span_begin(const char *name, bool loop, const uint8_t trace_id[16],
                          const uint8_t span_id[8], const uint8_t *parent, uint8_t flags,
                          uint64_t start_ns, uint64_t end_ns) {
  return hvb__otlp_span_new(trace_id, span_id, parent, flags, name,
                            loop ? HVB_OTLP_KIND_INTERNAL : HVB_OTLP_KIND_CLIENT, start_ns,
                            end_ns);
}

static hvb_pb *deferred_encode(void *data) {
  deferred *d = data;
  hvb_pb *s = span_begin(d->name, d->loop, d->trace_id, d->span_id,
                         d->has_parent ? d->parent_id : NULL, d->flags, d->start_ns, d->end_ns);
  span_attributes(d->consts, s, &d->rec);
  if (d->rec.status != HVB_OK)
    hvb__otlp_span_status(s, HVB_OTLP_STATUS_ERROR, d->rec.error_message);
  return s;
}

static void deferred_free(void *data) {
  deferred *d = data;
  consts_free(d->consts);
  g_free(d);
}

static deferred *deferred_new(const hvb_obs *o, const hvb_call_record *rec, const char *name) {
  const char *reason = rec->n_finish_reasons ? rec->finish_reasons[0] : NULL;
  const char *strs[] = {name, rec->response_model, rec->error_type, rec->error_message, reason};
  size_t len = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(strs); i++) len += strs[i] ? strlen(strs[i]) + 1 : 0;
  deferred *d = g_malloc(sizeof *d + len);
  char *at = d->text;
  d->consts = const_attributes(o->t, rec);
  memcpy(d->trace_id, o->trace_id, 16);
  memcpy(d->span_id, o->span_id, 8);
  d->has_parent = o->parent.valid;
  if (d->has_parent) memcpy(d->parent_id, o->parent.span_id, 8);
  d->flags = o->flags;
  d->loop = o->loop;
  d->start_ns = unix_ns(o, o->start_mono_us);
  d->end_ns = unix_ns(o, o->end_mono_us);
  d->rec = *rec;
  /* In d->consts, or the call's: not to be read once it is gone. */
  d->rec.preset = d->rec.request_model = d->rec.provider = d->rec.gateway = NULL;
  d->rec.server_address = d->rec.trace_id = d->rec.span_id = NULL;
  d->name = (char *)put(&at, name);
  d->rec.response_model = put(&at, rec->response_model);
  d->rec.error_type = put(&at, rec->error_type);
  d->rec.error_message = put(&at, rec->error_message);
  d->reasons[0] = put(&at, reason);
  d->rec.finish_reasons = reason ? d->reasons : NULL;
  d->rec.n_finish_reasons = reason ? 1 : 0;
  return d;
}

static void export_span(const hvb_obs *o, const hvb_call_record *rec,
                        const hvb_obs_outcome *out) {
  char name[256];
  g_strlcpy(name, o->loop ? "tool_loop " : rec->operation, sizeof name);
  if (!o->loop) g_strlcat(name, " ", sizeof name);
  g_strlcat(name, rec->request_model ? rec->request_model : "", sizeof name);
  if (!o->t->capture_content) {
    /* The call pays for a copy; the exporter thread encodes it with its batch. */
    hvb__otlp_submit_deferred(o->t->target, deferred_encode, deferred_new(o, rec, name),
                              deferred_free);
  } else { /* the request and reply are the call's: encoded now */
    hvb_pb *s = span_begin(name, o->loop, o->trace_id, o->span_id,
                           o->parent.valid ? o->parent.span_id : NULL, o->flags,
                           unix_ns(o, o->start_mono_us), unix_ns(o, o->end_mono_us));
    const_attrs *c = const_attributes(o->t, rec);
    span_attributes(c, s, rec);
    consts_free(c);
    add_content(s, out);
    if (rec->status != HVB_OK)
      hvb__otlp_span_status(s, HVB_OTLP_STATUS_ERROR, rec->error_message);
    hvb__otlp_submit(o->t->target, s);
  }
  /* Route attempts become child spans here too once routing lands (the route stage reports
   * them through hvb__obs_attempt-like calls with the target it tried). */
  export_attempts(o);
}

void hvb__obs_finish(hvb_obs **op, const hvb_obs_outcome *out) {
  hvb_obs *o = *op;
  if (!o) return;
  *op = NULL;
  hvb__obs_mark_end(o);
  report rp;
  memset(&rp, 0, sizeof rp);
  fill_record(&rp, o, out);
  if (o->t->target && o->traced) export_span(o, &rp.rec, out);
  if (o->ob.fn) o->ob.fn(&rp.rec, o->ob.user_data);
  g_free(rp.error_text);
  hvb__obs_free(o);
}
