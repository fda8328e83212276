/* cli/cmd-embed.c: hb embed. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* With at least this many inputs (and a terminal on stderr) a progress bar is drawn. */
#define PROGRESS_MIN_INPUTS 100

typedef struct lines {
  char *text;   /* the whole input, split in place */
  char **items; /* pointers into text (or argv) */
  size_t n, cap;
} lines;

static void lines_add(lines *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->items = realloc(l->items, l->cap * sizeof *l->items);
    if (!l->items) abort(); /* the CLI's one answer to an exhausted heap */
  }
  l->items[l->n++] = s;
}

/* One input per line of `text` (taken); empty lines are skipped, a CR before LF dropped. */
static void lines_split(lines *l, char *text) {
  l->text = text;
  for (char *p = text; *p;) {
    char *nl = strchr(p, '\n');
    char *end = nl ? nl : p + strlen(p);
    if (end > p && end[-1] == '\r') end[-1] = '\0';
    if (nl) *nl = '\0';
    if (*p) lines_add(l, p);
    p = nl ? nl + 1 : end;
  }
}

static char *read_file(const char *path) {
  if (!strcmp(path, "-")) return hb_read_stdin();
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 65536, n = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      char *bigger = realloc(buf, cap *= 2);
      if (!bigger) free(buf);
      buf = bigger;
    }
  }
  bool bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

static void on_progress(size_t done, size_t total, void *ud) {
  (void)ud;
  int width = 40, filled = total ? (int)(done * (size_t)width / total) : width;
  fprintf(stderr, "\r[%.*s%*s] %zu/%zu distinct texts", filled,
          "########################################", width - filled, "", done, total);
  if (done == total) fputc('\n', stderr);
  fflush(stderr);
}

/* Floats as the shortest decimal that reads back as the same float (C locale: hb never
 * switches it). */
static void print_vector(const float *v, size_t dim) {
  fputc('[', stdout);
  for (size_t j = 0; j < dim; j++) printf(j ? ",%.9g" : "%.9g", (double)v[j]);
  fputc(']', stdout);
}

int hb_cmd_embed(int argc, char **argv) {
  hb_llm_opts lo;
  hb_llm_opts_init(&lo);
  lines in = {0};
  const char *file = NULL;
  bool json = false, rest_positional = false;
  int rc = HB_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (!rest_positional && a[0] == '-' && a[1] != '\0') {
      if (!strcmp(a, "--")) {
        rest_positional = true;
        continue;
      }
      int used = hb_llm_opts_parse(&lo, "embed", argc, argv, &i);
      if (used < 0) goto out;
      if (used) continue;
      if (hb_opt_is(a, "input", "i")) {
        if (!(file = hb_opt_value("embed", argc, argv, &i))) goto out;
      } else if (!strcmp(a, "--json")) {
        json = true;
      } else {
        hb_usage("embed", "unknown option '%s'", a);
        goto out;
      }
      continue;
    }
    lines_add(&in, a);
  }
  if (file && in.n) {
    hb_usage("embed", "give texts as arguments or with -i FILE, not both");
    goto out;
  }
  if (!in.n) {
    const char *from = file ? file : "-";
    char *text = read_file(from);
    if (!text) {
      fprintf(stderr, "hb: embed: cannot read %s: %s\n", !strcmp(from, "-") ? "stdin" : from,
              strerror(errno));
      rc = HB_EXIT_FAIL;
      goto out;
    }
    lines_split(&in, text);
  }
  if (!in.n) {
    hb_usage("embed", "no text to embed");
    goto out;
  }
  /* Options that pick the model may come in any combination; a bare `hb embed` uses the
   * embeddings preset rather than the chat default. */
  if (!json_object_object_get_ex(lo.options, "preset", NULL) &&
      !json_object_object_get_ex(lo.options, "model", NULL))
    json_object_object_add(lo.options, "preset", json_object_new_string("embed"));

  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(lo.options, &err);
  if (!llm) {
    rc = hb_fail("embed", &err);
    goto out;
  }
  bool bar = in.n >= PROGRESS_MIN_INPUTS && isatty(STDERR_FILENO);
  hvb_embeddings *e = hvb_llm_embed_progress(llm, (const char *const *)in.items, in.n, NULL,
                                             bar ? on_progress : NULL, NULL, &err);
  if (!e) {
    rc = hb_fail("embed", &err);
  } else {
    size_t dim = hvb_embeddings_dim(e);
    for (size_t i = 0; i < in.n; i++) {
      if (json) printf("{\"index\":%zu,\"embedding\":", i);
      print_vector(hvb_embeddings_vector(e, i), dim);
      fputs(json ? "}\n" : "\n", stdout);
    }
    if (json) {
      bool ok = false;
      json_object *summary = hvb_embeddings_project(e, "dim,cached,requests,usage,elapsed", &ok, &err);
      json_object_object_add(summary, "count", json_object_new_int64((int64_t)in.n));
      hb_print_json(stdout, summary, false);
      json_object_put(summary);
    }
    rc = fflush(stdout) == 0 ? HB_EXIT_OK : HB_EXIT_FAIL;
    hvb_embeddings_free(e);
  }
  hvb_llm_free(llm);
out:
  free(in.text);
  free(in.items);
  hb_llm_opts_clear(&lo);
  return rc;
}
