/* tests/faults/fault-call.c: the fault suite's library driver.
 *
 *   fault-call chat [--provider P] [--base-url URL] [-m MODEL] [-g GATEWAY]
 *                   [--api-key-env VAR] [-o KEY=VALUE]... [--stream] PROMPT
 *
 * Runs one chat through the public API (hvb_llm_new, hvb_llm_chat or hvb_llm_stream) with the
 * options of the same `hb chat` command line, so that every transport case of tests/faults
 * runs against the library as well as against hb. -o values are JSON when they parse as JSON
 * and go to the constructor options (timeouts, retries and request arguments alike). Prints
 * the text on stdout and exits 0; on failure prints "fault-call: CLASS: message" on stderr,
 * CLASS being hvb_status_name, and exits 1; bad usage exits 2.
 */
#include <heavenbase/heavenbase.h>

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static int usage(const char *what) {
  fprintf(stderr, "fault-call: bad usage: %s\n", what);
  return 2;
}

/* -o KEY=VALUE into `opts`: VALUE as JSON when it parses, else as a string. */
static bool add_option(json_object *opts, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) return false;
  char key[256];
  size_t n = (size_t)(eq - kv);
  if (n >= sizeof key) return false;
  memcpy(key, kv, n);
  key[n] = '\0';
  json_object *v = json_tokener_parse(eq + 1);
  if (!v && strcmp(eq + 1, "null") != 0) v = json_object_new_string(eq + 1);
  json_object_object_add(opts, key, v);
  return true;
}

static int fail(const hvb_error *err) {
  fprintf(stderr, "fault-call: %s: %s\n", hvb_status_name(err->status), err->message);
  return 1;
}

static int run_stream(hvb_llm *llm, const char *prompt) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_stream *st = hvb_llm_stream(llm, prompt, NULL, NULL, &err);
  if (!st) return fail(&err);
  json_object *delta = NULL, *text;
  bool ok;
  while ((ok = hvb_stream_next(st, &delta, &err)) && delta)
    if (json_object_object_get_ex(delta, "text", &text)) {
      fputs(json_object_get_string(text), stdout);
      fflush(stdout);
    }
  hvb_stream_free(st);
  if (!ok) return fail(&err);
  putchar('\n');
  return 0;
}

static int run_chat(hvb_llm *llm, const char *prompt) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, NULL, &err);
  if (!r) return fail(&err);
  printf("%s\n", hvb_result_text(r));
  hvb_result_free(r);
  return 0;
}

/* The options of the command line into `opts`; sets *prompt and *stream. 0 or an exit. */
static int parse_args(int argc, char **argv, json_object *opts, const char **prompt,
                      bool *stream) {
  static const char *const named[][2] = {{"--provider", "provider"}, {"--base-url", "base_url"},
                                         {"-m", "model"}, {"-g", "gateway"},
                                         {"--api-key-env", "api_key_env"}};
  if (argc < 2 || strcmp(argv[1], "chat") != 0) return usage("only 'chat' is known");
  for (int i = 2; i < argc; i++) {
    bool done = false;
    for (size_t k = 0; k < sizeof named / sizeof named[0] && !done; k++)
      if (strcmp(argv[i], named[k][0]) == 0 && i + 1 < argc) {
        json_object_object_add(opts, named[k][1], json_object_new_string(argv[++i]));
        done = true;
      }
    if (done) continue;
    if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      if (!add_option(opts, argv[++i])) return usage(argv[i]);
    } else if (strcmp(argv[i], "--stream") == 0) {
      *stream = true;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return usage(argv[i]);
    } else if (*prompt) {
      return usage("more than one prompt");
    } else {
      *prompt = argv[i];
    }
  }
  return *prompt ? 0 : usage("no prompt");
}

int main(int argc, char **argv) {
  json_object *opts = json_object_new_object();
  const char *prompt = NULL;
  bool stream = false;
  int rc = parse_args(argc, argv, opts, &prompt, &stream);
  if (rc == 0) {
    hvb_error err = HVB_ERROR_INIT;
    hvb_llm *llm = hvb_llm_new(opts, &err);
    rc = !llm ? fail(&err) : stream ? run_stream(llm, prompt) : run_chat(llm, prompt);
    hvb_llm_free(llm);
  }
  json_object_put(opts);
  return rc;
}
