/* bench/bench-chat.c: per-call overhead of a non-streamed chat through libheavenbase,
 * against a plain libcurl keep-alive POST loop, on the same loopback upstream in one run.
 *
 *   bench-chat BASE_URL [CALLS]      e.g. bench-chat http://127.0.0.1:18080 20000
 *
 * For each body size (routes /bench1k and /bench10k of tests/nginx), the two loops run in
 * alternating rounds so that drift of the machine affects both alike; the ratio is the
 * library's time over libcurl's (1.00 = no overhead); "ratio+p" is over libcurl plus a json-c
 * parse of each reply, the least any client reading the reply does. */
#include <curl/curl.h>
#include <heavenbase/heavenbase.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 10

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

static size_t collect(char *ptr, size_t size, size_t n, void *ud) {
  buffer *b = ud;
  size_t add = size * n;
  if (b->len + add + 1 > b->cap) {
    b->cap = (b->len + add + 1) * 2;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, ptr, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

/* The request body the library sends for the same chat, so both loops move the same bytes. */
static const char *body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}],\"stream\":false}";

/* With `parse`, each reply is also parsed with json-c, as any client that reads the reply must:
 * this second baseline separates the library's own overhead from the cost of JSON parsing. */
static double curl_loop(CURL *h, int calls, buffer *b, bool parse) {
  double t0 = now();
  for (int i = 0; i < calls; i++) {
    b->len = 0;
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
      fprintf(stderr, "bench: libcurl call failed: %s (HTTP %ld)\n", curl_easy_strerror(rc),
              status);
      exit(1);
    }
    if (parse) {
      json_object *reply = json_tokener_parse(b->data);
      if (!reply) {
        fprintf(stderr, "bench: the reply is not JSON\n");
        exit(1);
      }
      json_object_put(reply);
    }
  }
  return now() - t0;
}

static double lib_loop(hvb_llm *llm, int calls, size_t *text_len) {
  double t0 = now();
  for (int i = 0; i < calls; i++) {
    hvb_error err = HVB_ERROR_INIT;
    hvb_result *r = hvb_llm_chat(llm, "hi", NULL, NULL, &err);
    if (!r) {
      fprintf(stderr, "bench: library call failed: %s\n", err.message);
      exit(1);
    }
    *text_len = strlen(hvb_result_text(r));
    hvb_result_free(r);
  }
  return now() - t0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-chat BASE_URL [CALLS]\n");
    return 2;
  }
  const char *base = argv[1];
  int calls = argc > 2 ? atoi(argv[2]) : 20000;
  if (calls < ROUNDS) calls = ROUNDS;
  int per_round = calls / ROUNDS;
  curl_global_init(CURL_GLOBAL_DEFAULT);

  printf("%-6s %8s %12s %12s %12s %8s %8s\n", "body", "calls", "libcurl us",
         "+parse us", "library us", "ratio", "ratio+p");
  const char *sizes[] = {"1k", "10k"};
  for (int s = 0; s < 2; s++) {
    char url[512], lib_base[512];
    snprintf(url, sizeof url, "%s/bench%s/v1/chat/completions", base, sizes[s]);
    snprintf(lib_base, sizeof lib_base, "%s/bench%s/v1", base, sizes[s]);

    CURL *h = curl_easy_init();
    buffer b = {0};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);

    json_object *opts = json_object_new_object();
    json_object_object_add(opts, "provider", json_object_new_string("openai"));
    json_object_object_add(opts, "model", json_object_new_string("gpt-4o-mini"));
    json_object_object_add(opts, "base_url", json_object_new_string(lib_base));
    hvb_error err = HVB_ERROR_INIT;
    hvb_llm *llm = hvb_llm_new(opts, &err);
    json_object_put(opts);
    if (!llm) {
      fprintf(stderr, "bench: %s\n", err.message);
      return 1;
    }

    size_t text_len = 0;
    curl_loop(h, per_round / 4 + 1, &b, false); /* warm up: connections, caches, allocator */
    lib_loop(llm, per_round / 4 + 1, &text_len);
    double t_curl = 0, t_parse = 0, t_lib = 0;
    for (int r = 0; r < ROUNDS; r++) {
      t_curl += curl_loop(h, per_round, &b, false);
      t_parse += curl_loop(h, per_round, &b, true);
      t_lib += lib_loop(llm, per_round, &text_len);
    }
    int n = per_round * ROUNDS;
    printf("%-6s %8d %12.1f %12.1f %12.1f %8.3f %8.3f\n", sizes[s], n, t_curl / n * 1e6,
           t_parse / n * 1e6, t_lib / n * 1e6, t_lib / t_curl, t_lib / t_parse);
    if (text_len == 0 || b.len == 0) {
      fprintf(stderr, "bench: empty replies: the upstream is not serving the bench routes\n");
      return 1;
    }
    hvb_llm_free(llm);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    free(b.data);
  }
  curl_global_cleanup();
  return 0;
}
