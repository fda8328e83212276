/* bench/bench-repair.c: throughput of tool-call argument repair over the repair corpus.
 *
 *   bench-repair CASES.jsonl [SECONDS]
 *
 * Runs the corpus cases (tests/data/repair/cases.jsonl) grouped by their expected outcome,
 * plus each input of 512 KiB or more on its own row, each row for about SECONDS (default 1),
 * and prints calls/s and MB/s of input (by wall time, and by the thread's CPU time). Public API
 * only; needs no server.
 */
#include <heavenbase/heavenbase.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LARGE ((size_t)512 << 10)

typedef struct bench_case {
  char *input;
  size_t len;
  json_object *schema; /* borrowed from the case */
  const char **names;  /* NULL-terminated, or NULL */
  const char *tool;
  unsigned flags;
} bench_case;

typedef struct row {
  char label[64];
  bench_case *cases;
  size_t n, cap, bytes;
} row;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }

typedef struct buffer {
  char *data;
  size_t len, cap;
} buffer;

static void append(buffer *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

/* The case's input bytes, as tests/unit/test-repair.c reads them. */
static char *case_input(json_object *c, size_t *len) {
  json_object *v;
  buffer b = {0};
  append(&b, "", 0);
  if (json_object_object_get_ex(c, "input", &v)) {
    append(&b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
  } else if (json_object_object_get_ex(c, "input_gen", &v)) {
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *part = json_object_array_get_idx(v, i);
      const char *s = json_object_get_string(json_object_array_get_idx(part, 0));
      int64_t times = json_object_get_int64(json_object_array_get_idx(part, 1));
      for (int64_t k = 0; k < times; k++) append(&b, s, strlen(s));
    }
  } else if (json_object_object_get_ex(c, "input_hex", &v)) {
    const char *hex = json_object_get_string(v);
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
      char byte[3] = {hex[i], hex[i + 1], 0};
      char ch = (char)strtol(byte, NULL, 16);
      append(&b, &ch, 1);
    }
  }
  *len = b.len;
  return b.data;
}

static void add_case(row *r, bench_case bc) {
  if (r->n == r->cap) r->cases = realloc(r->cases, (r->cap = r->cap ? r->cap * 2 : 16) * sizeof bc);
  r->cases[r->n++] = bc;
  r->bytes += bc.len;
}

static void run_row(const row *r, double seconds) {
  if (!r->n) return;
  size_t calls = 0, bytes = 0;
  double t0 = now(), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), t;
  do {
    for (size_t i = 0; i < r->n; i++) {
      const bench_case *bc = &r->cases[i];
      hvb_repair_result *res = hvb_repair_arguments(bc->input, bc->len, bc->schema, bc->tool,
                                                    bc->names, bc->flags, NULL);
      if (!res) {
        fprintf(stderr, "bench-repair: a case failed unexpectedly\n");
        exit(1);
      }
      hvb_repair_result_free(res);
    }
    calls += r->n;
    bytes += r->bytes;
  } while ((t = now() - t0) < seconds);
  /* The thread's CPU time too: on a shared machine, wall time also counts the waits. */
  double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
  printf("%-34s %6zu %10.3f %12.0f %10.1f %10.1f\n", r->label, r->n, (double)r->bytes / 1e6,
         (double)calls / t, (double)bytes / 1e6 / t, (double)bytes / 1e6 / cpu);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-repair CASES.jsonl [SECONDS]\n");
    return 2;
  }
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  static const char *const outcomes[] = {"valid", "repaired", "unfixable"};
  row groups[3];
  memset(groups, 0, sizeof groups);
  for (int g = 0; g < 3; g++) snprintf(groups[g].label, sizeof groups[g].label, "%s", outcomes[g]);
  row large[16];
  size_t n_large = 0;
  json_object *all = json_object_new_array(); /* keeps the cases' schemas alive */
  char line[1 << 16];
  while (fgets(line, sizeof line, f)) {
    json_object *c = json_tokener_parse(line), *v;
    if (!c) continue;
    json_object_array_add(all, c);
    /* Strict cases repeat non-strict ones, and the over-limit case is rejected unread. */
    if (json_object_object_get_ex(c, "strict", &v) && json_object_get_boolean(v)) continue;
    bench_case bc = {0};
    bc.input = case_input(c, &bc.len);
    if (bc.len > HVB_REPAIR_MAX_BYTES) {
      free(bc.input);
      continue;
    }
    json_object_object_get_ex(c, "schema", &bc.schema);
    if (json_object_object_get_ex(c, "tools", &v)) {
      /* The tools array as a schema and names, so that one entry point serves every row. */
      json_object *fn = NULL;
      json_object_object_get_ex(json_object_array_get_idx(v, 0), "function", &fn);
      json_object_object_get_ex(fn, "parameters", &bc.schema);
    }
    if (json_object_object_get_ex(c, "tool_names", &v)) {
      size_t n = json_object_array_length(v);
      bc.names = calloc(n + 1, sizeof *bc.names);
      for (size_t i = 0; i < n; i++)
        bc.names[i] = json_object_get_string(json_object_array_get_idx(v, i));
    }
    if (json_object_object_get_ex(c, "tool", &v)) bc.tool = json_object_get_string(v);
    if (json_object_object_get_ex(c, "split", &v) && json_object_get_boolean(v))
      bc.flags |= HVB_REPAIR_SPLIT;
    const char *outcome = json_object_get_string(json_object_object_get(c, "outcome"));
    if (bc.len > LARGE && n_large < 16) {
      row *r = &large[n_large++];
      memset(r, 0, sizeof *r);
      snprintf(r->label, sizeof r->label, "%s (%s)",
               json_object_get_string(json_object_object_get(c, "name")), outcome);
      add_case(r, bc);
      continue;
    }
    for (int g = 0; g < 3; g++)
      if (!strcmp(outcome, outcomes[g])) add_case(&groups[g], bc);
  }
  fclose(f);

  printf("%-34s %6s %10s %12s %10s %10s\n", "cases", "n", "input MB", "calls/s", "MB/s",
         "MB/s cpu");
  for (int g = 0; g < 3; g++) run_row(&groups[g], seconds);
  for (size_t i = 0; i < n_large; i++) run_row(&large[i], seconds);

  row *rows[19];
  size_t n_rows = 0;
  for (int g = 0; g < 3; g++) rows[n_rows++] = &groups[g];
  for (size_t i = 0; i < n_large; i++) rows[n_rows++] = &large[i];
  for (size_t k = 0; k < n_rows; k++) {
    for (size_t i = 0; i < rows[k]->n; i++) {
      free(rows[k]->cases[i].input);
      free(rows[k]->cases[i].names);
    }
    free(rows[k]->cases);
  }
  json_object_put(all);
  return 0;
}
