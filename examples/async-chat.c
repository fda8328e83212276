/* examples/async-chat.c: start 1,000 async chats and wait for all of them.
 *
 *     cc async-chat.c $(pkg-config --cflags --libs heavenbase) -o async-chat
 *     ./async-chat http://127.0.0.1:8080/v1 [N]
 *
 * BASE_URL is any OpenAI-compatible endpoint on loopback: the fake upstream of the test suite
 * (tests/upstream/hb-upstream with an "echo" route), or the nginx canned upstream
 * (tests/nginx/start.sh). Every chat runs on the library's one engine thread: no thread per
 * call. The completion callback counts replies; main waits on each handle and frees it.
 * Exit status 0 when every chat succeeded.
 */
#include <heavenbase/heavenbase.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int ok_count, failed_count;

/* Runs on the engine thread: keep it short. */
static void on_done(hvb_call *call, void *user_data) {
  (void)user_data;
  if (hvb_call_status(call) == HVB_OK) {
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
  for (int i = 0; i < n; i++) {
    char prompt[64];
    snprintf(prompt, sizeof prompt, "question %d", i);
    calls[i] = hvb_llm_chat_async(llm, prompt, NULL, NULL, on_done, NULL, NULL, &err);
    if (!calls[i]) {
      fprintf(stderr, "cannot start call %d: %s\n", i, err.message);
      break;
    }
  }
  /* The handles are ours: wait for each, read its result, release it. */
  for (int i = 0; i < n && calls[i]; i++) {
    hvb_call_wait(calls[i], -1);
    if (i == 0 && hvb_call_result(calls[i]))
      printf("first reply: %s\n", hvb_result_text(hvb_call_result(calls[i])));
    hvb_call_free(calls[i]);
  }
  printf("%d succeeded, %d failed\n", atomic_load(&ok_count), atomic_load(&failed_count));
  free(calls);
  hvb_llm_free(llm); /* the LLM may also go while calls run: they keep what they need */
  return atomic_load(&failed_count) == 0 && atomic_load(&ok_count) == n ? 0 : 1;
}
