/* examples/session.c: a conversation of three turns with one executable tool, kept in an
 * hvb_session, saved and loaded (include/heavenbase/session.h, docs/sessions.md).
 *
 *     cc session.c $(pkg-config --cflags --libs heavenbase) -o session
 *     ./session BASE_URL full                 turns 1, 2 and 3 in one process
 *     ./session BASE_URL save FILE            turns 1 and 2, then the session saved to FILE
 *     ./session BASE_URL load FILE            the session loaded from FILE, then turn 3
 *     ./session BASE_URL edit                 back and clear between turns
 *     ./session BASE_URL context WINDOW       three turns in a window of WINDOW tokens
 *     ./session BASE_URL summary WINDOW       the same, the oldest turns summarised by a call
 *
 * BASE_URL is an OpenAI-compatible endpoint (the test suite's fake upstream, scripted with the
 * replies: turn 1 asks for the get_weather tool, then answers). Each turn's reply is printed
 * as "turn N: TEXT"; after the last turn, the roles of the history ("user assistant tool ...").
 * A loaded session sends turn 3 exactly as the unbroken run does: tests/cli/test-cli-session.sh
 * compares the request bodies at the fake upstream.
 */
#include <heavenbase/heavenbase.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prompts[] = {"What is the weather in Paris?", "And should I take a coat?",
                                      "Thanks. Say goodbye."};

/* The executable tool: a fixed answer per city. */
static json_object *get_weather(json_object *args, void *user_data, hvb_error *err) {
  (void)user_data;
  (void)err;
  json_object *city = json_object_object_get(args, "city");
  json_object *out = json_object_new_object();
  json_object_object_add(out, "city", json_object_get(city));
  json_object_object_add(out, "temp_c", json_object_new_int(14));
  return out;
}

static hvb_tools *make_tools(void) {
  hvb_tools *tools = hvb_tools_new();
  json_object *schema = json_tokener_parse(
      "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, "
      "\"required\": [\"city\"]}");
  hvb_error err = HVB_ERROR_INIT;
  if (!hvb_tools_add(tools, "get_weather", "Current weather of a city", schema, get_weather,
                     NULL, &err))
    fprintf(stderr, "tool: %s\n", err.message);
  json_object_put(schema);
  return tools;
}

static bool turn(hvb_session *s, int n) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_session_send(s, prompts[n - 1], NULL, &err);
  if (!r) {
    fprintf(stderr, "turn %d failed: %s\n", n, err.message);
    return false;
  }
  printf("turn %d: %s\n", n, hvb_result_text(r));
  hvb_result_free(r);
  return true;
}

/* Runs on the engine thread while hvb_session_send_stream waits: print the text as it comes. */
static void on_delta(hvb_call *call, json_object *delta, void *user_data) {
  (void)call;
  json_object *text = json_object_object_get(delta, "text");
  if (text) {
    fputs(json_object_get_string(text), stdout);
    ++*(int *)user_data;
  }
}

/* Turn n, streamed: "turn N (streamed in K pieces): TEXT" once it is over. */
static bool turn_streamed(hvb_session *s, int n) {
  hvb_error err = HVB_ERROR_INIT;
  int pieces = 0;
  fputs("streaming: ", stdout);
  hvb_result *r = hvb_session_send_stream(s, prompts[n - 1], NULL, on_delta, &pieces, &err);
  putchar('\n');
  if (!r) {
    fprintf(stderr, "turn %d failed: %s\n", n, err.message);
    return false;
  }
  printf("turn %d (streamed in %d pieces): %s\n", n, pieces, hvb_result_text(r));
  hvb_result_free(r);
  return true;
}

static void print_roles(hvb_session *s) {
  json_object *msgs = hvb_session_messages(s);
  fputs("history:", stdout);
  for (size_t i = 0; i < json_object_array_length(msgs); i++) {
    json_object *role = json_object_object_get(json_object_array_get_idx(msgs, i), "role");
    printf(" %s", json_object_get_string(role));
  }
  putchar('\n');
}

static bool save(hvb_session *s, const char *path) {
  hvb_error err = HVB_ERROR_INIT;
  char *text = hvb_session_save(s, &err);
  FILE *f = text ? fopen(path, "w") : NULL;
  bool ok = f && fputs(text, f) >= 0;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) fprintf(stderr, "cannot save to %s: %s\n", path, text ? "write failed" : err.message);
  free(text);
  return ok;
}

static hvb_session *load(hvb_llm *llm, const char *path) {
  FILE *f = fopen(path, "r");
  char buf[65536];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = '\0';
  hvb_error err = HVB_ERROR_INIT;
  hvb_session *s = hvb_session_load(llm, buf, &err);
  if (!s) fprintf(stderr, "cannot load %s: %s\n", path, err.message);
  return s;
}

/* back drops the last user turn; clear drops everything (the requests show it). */
static bool edit(hvb_session *s) {
  hvb_error err = HVB_ERROR_INIT;
  bool ok = turn(s, 1) && turn(s, 2) && hvb_session_back(s, &err) && turn(s, 3);
  print_roles(s);
  ok = ok && hvb_session_clear(s, &err) && turn_streamed(s, 2);
  if (err.status != HVB_OK) fprintf(stderr, "edit: %s\n", err.message);
  return ok;
}

static bool run(hvb_llm *llm, hvb_tools *tools, int argc, char **argv) {
  const char *mode = argv[2];
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "system", json_object_new_string("You are a weather assistant."));
  bool windowed = !strcmp(mode, "context") || !strcmp(mode, "summary");
  if (windowed && argc > 3)
    json_object_object_add(opts, "context_window", json_object_new_int(atoi(argv[3])));
  if (!strcmp(mode, "summary"))
    json_object_object_add(opts, "context_strategy", json_object_new_string("summarize"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_session *s = strcmp(mode, "load") ? hvb_session_new(llm, opts, &err) : load(llm, argv[3]);
  json_object_put(opts);
  if (!s) return false;
  hvb_session_set_tools(s, tools);
  bool ok;
  if (!strcmp(mode, "full") || windowed)
    ok = turn(s, 1) && turn(s, 2) && turn(s, 3);
  else if (!strcmp(mode, "save"))
    ok = turn(s, 1) && turn(s, 2) && save(s, argv[3]);
  else if (!strcmp(mode, "load"))
    ok = turn(s, 3);
  else
    ok = edit(s);
  if (ok) print_roles(s);
  hvb_session_free(s);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3 || ((!strcmp(argv[2], "save") || !strcmp(argv[2], "load")) && argc < 4)) {
    fprintf(stderr, "usage: %s BASE_URL full|save FILE|load FILE|edit|context WINDOW|summary WINDOW\n", argv[0]);
    return 2;
  }
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(o, "base_url", json_object_new_string(argv[1]));
  json_object_object_add(o, "api_key", json_object_new_string("sk-example-not-a-real-key"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  json_object_put(o);
  if (!llm) {
    fprintf(stderr, "cannot make the LLM: %s\n", err.message);
    return 1;
  }
  hvb_tools *tools = make_tools();
  bool ok = run(llm, tools, argc, argv);
  hvb_tools_free(tools);
  hvb_llm_free(llm);
  return ok ? 0 : 1;
}
