/* cli/cmd-embed.c: hb embed. */
#include "cli.h"

#include <errno.h>
#include <math.h>
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
static size_t print_vector(const float *v, size_t dim) {
  size_t outside = 0;
  fputc('[', stdout);
  for (size_t j = 0; j < dim; j++) {
    if (j) fputc(',', stdout);
    /* A value the provider sent beyond float range has no JSON spelling: null, counted. */
    if (isfinite(v[j]))
      printf("%.9g", (double)v[j]);
    else {
      fputs("null", stdout);
      outside++;
    }
  }
  fputc(']', stdout);
  return outside;
}

typedef struct embed_args {
  hb_llm_opts lo;
  lines in;
  const char *file; /* -i FILE */
  bool json;
} embed_args;

static bool embed_parse(embed_args *e, int argc, char **argv) {
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "embed", hb_command_options_find("embed", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return false;
    if (k == HB_ARGS_POSITIONAL) {
      lines_add(&e->in, (char *)arg.value);
      continue;
    }
    int used = hb_llm_opts_apply(&e->lo, "embed", &arg);
    if (used < 0) return false;
    if (used) continue;
    if (arg.opt->id == HB_OPT_INPUT)
      e->file = arg.value;
    else if (arg.opt->id == HB_OPT_JSON)
      e->json = true;
  }
  return true;
}

/* The texts: the arguments, else the lines of -i FILE or stdin. */
static int embed_inputs(embed_args *e) {
  if (e->file && e->in.n)
    return hb_usage("embed", "give texts as arguments or with -i FILE, not both");
  if (!e->in.n) {
    const char *from = e->file ? e->file : "-";
    char *text = read_file(from);
    if (!text) {
      fprintf(stderr, "hb: embed: cannot read %s: %s\n", !strcmp(from, "-") ? "stdin" : from,
              strerror(errno));
      return HB_EXIT_FAIL;
    }
    lines_split(&e->in, text);
  }
  if (!e->in.n) return hb_usage("embed", "no text to embed");
  return HB_EXIT_OK;
}

static void print_embeddings(const embed_args *a, hvb_embeddings *e) {
  size_t dim = hvb_embeddings_dim(e), outside = 0;
  for (size_t i = 0; i < a->in.n; i++) {
    if (a->json) printf("{\"index\":%zu,\"embedding\":", i);
    outside += print_vector(hvb_embeddings_at(e, i), dim);
    fputs(a->json ? "}\n" : "\n", stdout);
  }
  if (outside)
    fprintf(stderr, "hb: embed: warning: %zu value(s) beyond the range of a float printed as "
                    "null\n", outside);
  if (a->json) {
    bool ok = false;
    hvb_error err = HVB_ERROR_INIT;
    json_object *summary =
        hvb_embeddings_project(e, "dim,cached,requests,usage,cost,elapsed", &ok, &err);
    json_object_object_add(summary, "count", json_object_new_int64((int64_t)a->in.n));
    hb_print_json(stdout, summary, false);
    json_object_put(summary);
  }
}

static int embed_run(embed_args *a) {
  /* Options that pick the model may come in any combination; a bare `hb embed` uses the
   * embeddings preset rather than the chat default. */
  if (!json_object_object_get_ex(a->lo.options, "preset", NULL) &&
      !json_object_object_get_ex(a->lo.options, "model", NULL))
    json_object_object_add(a->lo.options, "preset", json_object_new_string("embed"));
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(a->lo.options, &err);
  if (!llm) return hb_fail("embed", &err);
  bool bar = a->in.n >= PROGRESS_MIN_INPUTS && isatty(STDERR_FILENO);
  hvb_embeddings *e = hvb_llm_embed_progress(llm, (const char *const *)a->in.items, a->in.n, NULL,
                                             bar ? on_progress : NULL, NULL, &err);
  int rc;
  if (!e) {
    rc = hb_fail("embed", &err);
  } else {
    print_embeddings(a, e);
    rc = fflush(stdout) == 0 ? HB_EXIT_OK : HB_EXIT_FAIL;
    hvb_embeddings_free(e);
  }
  hvb_llm_free(llm);
  return rc;
}

int hb_cmd_embed(int argc, char **argv) {
  embed_args e = {.file = NULL};
  hb_llm_opts_init(&e.lo);
  int rc = HB_EXIT_USAGE;
  if (embed_parse(&e, argc, argv) && (rc = embed_inputs(&e)) == HB_EXIT_OK) rc = embed_run(&e);
  free(e.in.text);
  free(e.in.items);
  hb_llm_opts_clear(&e.lo);
  return rc;
}
