/* examples/uv-loop.c: N async chats on a libuv loop, no library thread.
 *
 *     cc uv-loop.c $(pkg-config --cflags --libs heavenbase libuv) -o uv-loop
 *     ./uv-loop http://127.0.0.1:8080/v1 [N]
 *
 * The engine's fd goes into the loop as a uv_poll_t (UV_READABLE), its timeout as a
 * uv_timer_t re-armed after every dispatch: the pattern for any callback-driven loop. The
 * thread that runs uv_run drives the engine (hvb_engine_drive_begin), so every on_done runs
 * there. With an echoing upstream chat i must get "echo: question i"; exit status 0 when
 * every chat got its own reply and no library engine thread ran. See docs/async.md.
 */
#include <heavenbase/heavenbase.h>

#include <uv.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ok_count, failed_count, most_engine_threads;
static uv_poll_t engine_poll;
static uv_timer_t engine_timer;

static void on_done(hvb_call *call, void *user_data) {
  char **reply = user_data;
  if (hvb_call_status(call) == HVB_OK) {
    *reply = strdup(hvb_result_text(hvb_call_result(call)));
    ok_count++; /* inside hvb_engine_dispatch, on the loop's thread */
  } else {
    failed_count++;
    fprintf(stderr, "call failed: %s\n", hvb_call_error(call)->message);
  }
}

static int engine_threads(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    char path[300], name[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
    if (f && fgets(name, sizeof name, f) && strncmp(name, "hvb-engine", 10) == 0) n++;
    if (f) fclose(f);
  }
  if (d) closedir(d);
  return n;
}

static void on_timer(uv_timer_t *t);

/* One turn, then either stop watching (no call left) or re-arm the timer. */
static void dispatch(int events) {
  int left = hvb_engine_dispatch(hvb_engine_fd(), events);
  int e = engine_threads();
  most_engine_threads = e > most_engine_threads ? e : most_engine_threads;
  if (left <= 0) {
    if (left < 0) fprintf(stderr, "hvb_engine_dispatch refused\n");
    uv_poll_stop(&engine_poll);
    uv_timer_stop(&engine_timer);
    return;
  }
  int timeout = hvb_engine_timeout();
  if (timeout < 0) uv_timer_stop(&engine_timer);
  else uv_timer_start(&engine_timer, on_timer, (uint64_t)timeout, 0);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)p;
  if (status < 0) fprintf(stderr, "uv_poll: %s\n", uv_strerror(status));
  dispatch(events);
}

static void on_timer(uv_timer_t *t) {
  (void)t;
  dispatch(0);
}

static hvb_llm *make_llm(const char *base_url) {
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(opts, "base_url", json_object_new_string(base_url));
  json_object_object_add(opts, "api_key", json_object_new_string("sk-example-not-a-real-key"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(opts, &err);
  json_object_put(opts);
  if (!llm) fprintf(stderr, "cannot make the LLM: %s\n", err.message);
  return llm;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BASE_URL [N]\n", argv[0]);
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  if (n < 1) n = 1000;
  hvb_llm *llm = make_llm(argv[1]);
  if (!llm) return 1;
  hvb_error err = HVB_ERROR_INIT;
  if (!hvb_engine_drive_begin(&err)) {
    fprintf(stderr, "cannot drive the engine: %s\n", err.message);
    return 1;
  }
  uv_loop_t *loop = uv_default_loop();
  uv_poll_init(loop, &engine_poll, hvb_engine_fd());
  uv_timer_init(loop, &engine_timer);

  hvb_call **calls = calloc((size_t)n, sizeof *calls);
  char **replies = calloc((size_t)n, sizeof *replies);
  for (int i = 0; i < n; i++) {
    char prompt[64];
    snprintf(prompt, sizeof prompt, "question %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, NULL, &replies[i], &err);
    if (!calls[i]) {
      fprintf(stderr, "cannot start call %d: %s\n", i, err.message);
      return 1;
    }
  }
  uv_poll_start(&engine_poll, UV_READABLE, on_readable);
  uv_timer_start(&engine_timer, on_timer, 0, 0); /* the first turn starts the calls */
  uv_run(loop, UV_RUN_DEFAULT);                  /* returns once nothing is watched */

  int wrong = 0;
  for (int i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "echo: question %d", i);
    if (replies[i] && strcmp(replies[i], want) != 0) wrong++;
    free(replies[i]);
    hvb_call_free(calls[i]);
  }
  printf("library engine threads: %d\n", most_engine_threads);
  printf("%d succeeded, %d failed, %d wrong replies\n", ok_count, failed_count, wrong);
  free(calls);
  free(replies);
  uv_close((uv_handle_t *)&engine_poll, NULL);
  uv_close((uv_handle_t *)&engine_timer, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  hvb_engine_drive_end();
  hvb_llm_free(llm);
  return most_engine_threads == 0 && ok_count == n && wrong == 0 ? 0 : 1;
}
