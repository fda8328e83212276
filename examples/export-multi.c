/* examples/export-multi.c: drive exported libheavenbase handles with your own curl multi loop.
 *
 *     export-multi BASE_URL [MODEL] [N]
 *
 * Makes an LLM for an OpenAI-compatible server at BASE_URL (e.g. http://127.0.0.1:8000/v1;
 * the key, if any, from OPENAI_API_KEY), exports N (default 3) chat handles, gives each a body
 * built from the export's arguments plus one question, runs them all at once in one
 * curl_multi loop, and prints "i: <answer>" for each, in order. The handles share the LLM's
 * connection pool, so the keep-alive connections they open serve later library calls too.
 *
 * Build: cc export-multi.c $(pkg-config --cflags --libs heavenbase libcurl)
 */
#include <heavenbase/heavenbase.h>
#include <heavenbase/export.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HANDLES 64

typedef struct reply {
  char *data;
  size_t len;
} reply;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
  reply *r = ud;
  size_t add = size * n;
  char *grown = realloc(r->data, r->len + add + 1);
  if (!grown) return 0; /* curl fails the transfer */
  memcpy(grown + r->len, p, add);
  r->len += add;
  grown[r->len] = '\0';
  r->data = grown;
  return add;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: export-multi BASE_URL [MODEL] [N]\n");
    return 2;
  }
  int n = argc > 3 ? atoi(argv[3]) : 3;
  if (n < 1 || n > MAX_HANDLES) n = 3;
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "provider", json_object_new_string("openai"));
  json_object_object_add(opts, "base_url", json_object_new_string(argv[1]));
  json_object_object_add(opts, "model", json_object_new_string(argc > 2 ? argv[2] : "gpt-4o-mini"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(opts, &err);
  json_object_put(opts);
  if (!llm) {
    fprintf(stderr, "export-multi: %s\n", err.message);
    return 1;
  }

  hvb_export *x[MAX_HANDLES] = {0};
  reply replies[MAX_HANDLES] = {{0}};
  CURLM *multi = curl_multi_init();
  int rc = 0;
  for (int i = 0; i < n; i++) {
    /* The openai gateway declares the OpenAI kind; a gateway that speaks a protocol of its
     * own declares HVB_EXPORT_NATIVE instead, and the body is then in that protocol. */
    if (!(x[i] = hvb_llm_export(llm, HVB_GATEWAY_OP_CHAT, HVB_EXPORT_OPENAI, &err))) {
      fprintf(stderr, "export-multi: %s\n", err.message);
      rc = 1;
      goto out;
    }
    /* The body: the export's arguments (model, request defaults) plus our messages. */
    json_object *body = json_object_new_object();
    json_object_object_foreach(hvb_export_args(x[i]), k, v)
      json_object_object_add(body, k, json_object_get(v));
    char question[64];
    snprintf(question, sizeof question, "question %d", i);
    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("user"));
    json_object_object_add(msg, "content", json_object_new_string(question));
    json_object *msgs = json_object_new_array();
    json_object_array_add(msgs, msg);
    json_object_object_add(body, "messages", msgs);
    CURL *easy = hvb_export_easy(x[i]);
    curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS,
                     json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
    json_object_put(body);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &replies[i]);
    curl_multi_add_handle(multi, easy);
  }

  /* Our own loop: libheavenbase is not involved from here on. */
  int running = 1;
  while (running) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  CURLMsg *m;
  int queued;
  while ((m = curl_multi_info_read(multi, &queued))) {
    if (m->msg == CURLMSG_DONE && m->data.result != CURLE_OK) {
      fprintf(stderr, "export-multi: transfer failed: %s\n", curl_easy_strerror(m->data.result));
      rc = 1;
    }
  }
  for (int i = 0; i < n; i++) {
    long status = 0;
    curl_easy_getinfo(hvb_export_easy(x[i]), CURLINFO_RESPONSE_CODE, &status);
    json_object *resp = replies[i].data ? json_tokener_parse(replies[i].data) : NULL;
    json_object *choices = NULL, *message = NULL, *content = NULL;
    if (json_object_object_get_ex(resp, "choices", &choices) &&
        json_object_object_get_ex(json_object_array_get_idx(choices, 0), "message", &message) &&
        json_object_object_get_ex(message, "content", &content)) {
      printf("%d: %s\n", i, json_object_get_string(content));
    } else {
      fprintf(stderr, "export-multi: reply %d (HTTP %ld) has no choices[0].message.content\n", i,
              status);
      rc = 1;
    }
    json_object_put(resp);
  }

out:
  for (int i = 0; i < n; i++) {
    if (x[i]) curl_multi_remove_handle(multi, hvb_export_easy(x[i]));
    hvb_export_free(x[i]);
    free(replies[i].data);
  }
  curl_multi_cleanup(multi);
  hvb_llm_free(llm);
  return rc;
}
