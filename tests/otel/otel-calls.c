/* tests/otel/otel-calls.c: the calls whose spans tests/otel/test-otel.sh decodes. Run with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at the receiver and the fake upstream scripted by the
 * test; through the public API only, as a program of a user would:
 *   otel-calls BASE_URL TRACEPARENT
 * 1. a chat with the caller's trace context (call option "traceparent"),
 * 2. a tool loop with an executable tool (two steps),
 * 3. a call the upstream refuses (HTTP 400),
 * 4. a call the transport retries once (503, then the answer).
 * Prints one line per call (its status name); exits 0 when each ended as scripted. */
#include <heavenbase/heavenbase.h>
#include <stdio.h>
#include <string.h>

static json_object *weather(json_object *args, void *user_data, hvb_error *err) {
  (void)args, (void)user_data, (void)err;
  return json_object_new_string("21 C");
}

static int report(const char *what, hvb_result *r, const hvb_error *err, hvb_status want) {
  hvb_status got = r ? HVB_OK : err->status;
  printf("%s: %s%s%s\n", what, hvb_status_name(got), r ? "" : ": ", r ? "" : err->message);
  hvb_result_free(r);
  return got == want ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: otel-calls BASE_URL TRACEPARENT\n");
    return 2;
  }
  hvb_error err = HVB_ERROR_INIT;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(o, "base_url", json_object_new_string(argv[1]));
  json_object_object_add(o, "api_key", json_object_new_string("sk-otel-test-secret-0123456789"));
  json_object_object_add(o, "max_retries", json_object_new_int(1));
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) {
    fprintf(stderr, "otel-calls: %s\n", err.message);
    return 1;
  }
  int bad = 0;
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "traceparent", json_object_new_string(argv[2]));
  bad += report("chat", hvb_llm_chat(llm, "Hello", NULL, opts, &err), &err, HVB_OK);
  json_object_put(opts);

  hvb_tools *ts = hvb_tools_new();
  json_object *params = json_tokener_parse(
      "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}");
  hvb_tools_add(ts, "get_weather", "Weather of a city", params, weather, NULL, &err);
  json_object_put(params);
  bad += report("tool loop", hvb_llm_chat_tools(llm, "Weather in Paris?", NULL, ts, NULL, &err),
                &err, HVB_OK);
  hvb_tools_free(ts);

  bad += report("refused", hvb_llm_chat(llm, "Hello", NULL, NULL, &err), &err, HVB_HTTP);
  bad += report("retried", hvb_llm_chat(llm, "Hello", NULL, NULL, &err), &err, HVB_OK);
  hvb_llm_free(llm);
  return bad ? 1 : 0; /* the spans leave at exit (the exporter flushes) */
}
