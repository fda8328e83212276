/* examples/epoll-loop.c: N async chats on a program's own epoll loop, no library thread.
 *
 *     cc epoll-loop.c $(pkg-config --cflags --libs heavenbase) -o epoll-loop
 *     ./epoll-loop http://127.0.0.1:8080/v1 [N]
 *
 * The program's loop is an epoll set of its own (here with a timerfd of its own beside the
 * engine, as a real program would have its other fds). It makes its thread the engine's
 * driver (hvb_engine_drive_begin), adds hvb_engine_fd() to its set for EPOLLIN, sleeps at most
 * hvb_engine_timeout() ms, and calls hvb_engine_dispatch when the engine's fd is ready or the
 * timeout passed: every callback runs there, on this thread, so nothing needs a lock. With an
 * echoing upstream (tests/upstream's "echo" route) chat i must get "echo: question i". Prints
 * the threads whose name is the library's engine thread's (0: none ran) and the tally; exit
 * status 0 when every chat got its own reply. See docs/async.md.
 */
#include <heavenbase/heavenbase.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

static int ok_count, failed_count;

static void on_done(hvb_call *call, void *user_data) {
  char **reply = user_data;
  if (hvb_call_status(call) == HVB_OK) {
    *reply = strdup(hvb_result_text(hvb_call_result(call)));
    ok_count++; /* no lock: callbacks run on this thread, inside hvb_engine_dispatch */
  } else {
    failed_count++;
    fprintf(stderr, "call failed: %s\n", hvb_call_error(call)->message);
  }
}

/* Threads named "hvb-engine" (the library's own engine thread), Linux. */
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

/* The program's loop until no call is left; returns the most library engine threads seen. */
static int run(int ep, int engine_fd, int ticker) {
  int most = 0, left = 1;
  while (left > 0) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, hvb_engine_timeout()); /* -1: the fds only */
    bool engine_ready = n == 0; /* a timeout is the engine's timer */
    for (int i = 0; i < n; i++) {
      if (evs[i].data.fd == engine_fd) {
        engine_ready = true;
      } else if (evs[i].data.fd == ticker) { /* the program's own business */
        uint64_t ticks;
        if (read(ticker, &ticks, sizeof ticks) < 0) perror("timerfd");
      }
    }
    if (engine_ready) left = hvb_engine_dispatch(engine_fd, EPOLLIN);
    if (left < 0) {
      fprintf(stderr, "hvb_engine_dispatch refused: not the driving thread?\n");
      return -1;
    }
    int e = engine_threads();
    most = e > most ? e : most;
  }
  return most;
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
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int engine_fd = hvb_engine_fd();
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = engine_fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, engine_fd, &ev);
  int ticker = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  struct itimerspec every = {.it_interval = {0, 50000000}, .it_value = {0, 50000000}};
  timerfd_settime(ticker, 0, &every, NULL);
  ev = (struct epoll_event){.events = EPOLLIN, .data.fd = ticker};
  epoll_ctl(ep, EPOLL_CTL_ADD, ticker, &ev);

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
  int most = run(ep, engine_fd, ticker);
  int wrong = 0;
  for (int i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "echo: question %d", i);
    if (replies[i] && strcmp(replies[i], want) != 0) wrong++;
    free(replies[i]);
    hvb_call_free(calls[i]);
  }
  printf("library engine threads: %d\n", most);
  printf("%d succeeded, %d failed, %d wrong replies\n", ok_count, failed_count, wrong);
  free(calls);
  free(replies);
  close(ticker);
  close(ep);
  hvb_engine_drive_end();
  hvb_llm_free(llm);
  return most == 0 && ok_count == n && wrong == 0 ? 0 : 1;
}
