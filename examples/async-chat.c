/* examples/async-chat.c: start 1,000 async chats and wait for all of them.
 *
 *     cc async-chat.c $(pkg-config --cflags --libs heavenbase) -o async-chat
 *     ./async-chat http://127.0.0.1:8080/v1 [N]
 *
 * BASE_URL is any OpenAI-compatible endpoint on loopback: the fake upstream of the test suite
 * (tests/upstream/hb-upstream with an "echo" route, which answers "echo: " + the prompt), or
 * the nginx canned upstream (tests/nginx/start.sh, one fixed reply). Every chat runs on the
 * library's one engine thread: no thread per call; the program prints how many threads the
 * process has while all the chats are in flight (Linux). Each completion stores its reply;
 * main waits on each handle, checks the reply (with an echoing upstream: "echo: question i"
 * for chat i, so no reply can be another call's) and frees the handle.
 * Exit status 0 when every chat succeeded with the right reply. See docs/async.md.
 */
#include <heavenbase/heavenbase.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int ok_count, failed_count;

/* Threads of this process now (Linux: the entries of /proc/self/task), -1 elsewhere. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Runs on the engine thread: keep it short. user_data: where this call's reply goes. */
static void on_done(hvb_call *call, void *user_data) {
  char **reply = user_data;
  if (hvb_call_status(call) == HVB_OK) {
    *reply = strdup(hvb_result_text(hvb_call_result(call)));
    atomic_fetch_add(&ok_count, 1);
  } else {
    atomic_fetch_add(&failed_count, 1);
    fprintf(stderr, "call failed: %s\n", hvb_call_error(call)->message);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BASE_URL [N]\n", argv[0]);
    return 2;
  }
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  if (n < 1) n = 1000;

  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "model", json_object_new_string("gpt-4o-mini"));
  json_object_object_add(opts, "base_url", json_object_new_string(argv[1]));
  json_object_object_add(opts, "api_key", json_object_new_string("sk-example-not-a-real-key"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(opts, &err);
  json_object_put(opts);
  if (!llm) {
    fprintf(stderr, "cannot make the LLM: %s\n", err.message);
    return 1;
  }

  hvb_call **calls = calloc((size_t)n, sizeof *calls);
  char **replies = calloc((size_t)n, sizeof *replies);
  int started = 0;
  for (int i = 0; i < n; i++, started++) {
    char prompt[64];
    snprintf(prompt, sizeof prompt, "question %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, NULL, &replies[i], &err);
    if (!calls[i]) {
      fprintf(stderr, "cannot start call %d: %s\n", i, err.message);
      break;
    }
  }
  printf("threads while %d chats are in flight: %d\n", started, thread_count());
  /* The handles are ours: wait for each (on_done has then returned: its reply is stored),
   * release it, then check the replies. */
  for (int i = 0; i < started; i++) {
    hvb_call_wait(calls[i], -1);
    hvb_call_free(calls[i]);
  }
  if (started > 0 && replies[0]) printf("first reply: %s\n", replies[0]);
  /* An echoing upstream answers each prompt with its own text; a canned one the same text
   * for all (then every reply must equal the first). */
  bool echo = started > 0 && replies[0] && strncmp(replies[0], "echo: ", 6) == 0;
  int wrong = 0;
  for (int i = 0; i < started; i++) {
    char want[64];
    snprintf(want, sizeof want, "echo: question %d", i);
    if (replies[i] && strcmp(replies[i], echo ? want : replies[0]) != 0 && wrong++ < 5)
      fprintf(stderr, "chat %d: wrong reply '%s'\n", i, replies[i]);
  }
  for (int i = 0; i < started; i++) free(replies[i]);
  printf("%d succeeded, %d failed, %d wrong replies\n", atomic_load(&ok_count),
         atomic_load(&failed_count), wrong);
  free(calls);
  free(replies);
  hvb_llm_free(llm); /* the LLM may also go while calls run: they keep what they need */
  return atomic_load(&failed_count) == 0 && atomic_load(&ok_count) == n && wrong == 0 ? 0 : 1;
}
