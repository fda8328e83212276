/* cli/cmd-imagen.c: hb imagen. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* "out.png" with n > 1 -> "out-1.png", "out-2.png"... (before the extension, if any). New
 * string (free()). */
static char *numbered_path(const char *path, size_t i, size_t n) {
  if (n <= 1) return strdup(path);
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(path, '.');
  if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
    dot = path + strlen(path);
  size_t stem = (size_t)(dot - path), len = strlen(path) + 24;
  char *out = malloc(len);
  if (!out) abort(); /* the CLI's one answer to an exhausted heap */
  snprintf(out, len, "%.*s-%zu%s", (int)stem, path, i + 1, dot);
  return out;
}

/* The file name for image i when no -O was given: imagen-<i>.<format>. */
static char *default_path(size_t i, const char *format) {
  size_t len = 64;
  char *out = malloc(len);
  if (!out) abort();
  snprintf(out, len, "imagen-%zu.%s", i + 1, format);
  return out;
}

typedef struct imagen_args {
  hb_llm_opts lo;
  json_object *call; /* request arguments: size, n, seed */
  const char *prompt, *out_path;
  const char **refs; /* --image sources, at most argc */
  size_t nrefs;
  hvb_image **ref_images;
} imagen_args;

/* -o FILE (no '=') was the output file before -o meant KEY=VALUE across hb: it keeps working
 * for one release, with a warning. */
static void deprecated_output(imagen_args *m, const char *path) {
  fprintf(stderr, "hb: warning: 'hb imagen -o FILE' is deprecated: use -O FILE (or --output "
                  "FILE); -o means KEY=VALUE across hb, and -o FILE goes away in the next "
                  "release\n");
  m->out_path = path;
}

static bool imagen_number(imagen_args *m, const hb_arg *arg) {
  const char *v = arg->value;
  if (arg->opt->id == HB_OPT_COUNT) {
    long n;
    if (!hb_parse_count(v, 100, &n)) {
      hb_usage("imagen", "-n wants a number from 1 to 100, not '%s'", v);
      return false;
    }
    json_object_object_add(m->call, "n", json_object_new_int((int)n));
    return true;
  }
  char *end;
  long long s = strtoll(v, &end, 10);
  if (*end || end == v) {
    hb_usage("imagen", "--seed wants an integer, not '%s'", v);
    return false;
  }
  json_object_object_add(m->call, "seed", json_object_new_int64(s));
  return true;
}

/* One option of hb imagen; false after a usage error (reported). */
static bool imagen_apply(imagen_args *m, const hb_arg *arg) {
  const char *v = arg->value;
  if (arg->opt->id == HB_OPT_OPTION && arg->is_short && !strchr(v, '=')) {
    deprecated_output(m, v);
    return true;
  }
  int used = hb_llm_opts_apply(&m->lo, "imagen", arg);
  if (used) return used > 0;
  switch (arg->opt->id) {
  case HB_OPT_OUTPUT: m->out_path = v; return true;
  case HB_OPT_ARG:
    if (hb_llm_opts_add_kv(&m->lo, v)) return true;
    hb_usage("imagen", "option --arg wants KEY=VALUE, got '%s'", v);
    return false;
  case HB_OPT_SIZE: json_object_object_add(m->call, "size", json_object_new_string(v)); return true;
  case HB_OPT_COUNT:
  case HB_OPT_SEED: return imagen_number(m, arg);
  case HB_OPT_IMAGE: m->refs[m->nrefs++] = v; return true;
  default: return false; /* not reached: imagen accepts no other option */
  }
}

static bool imagen_parse(imagen_args *m, int argc, char **argv) {
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "imagen", hb_command_options_find("imagen", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return false;
    if (k == HB_ARGS_OPTION) {
      if (!imagen_apply(m, &arg)) return false;
    } else if (m->prompt) {
      hb_usage("imagen", "one prompt only (quote it): unexpected '%s'", arg.value);
      return false;
    } else {
      m->prompt = arg.value;
    }
  }
  if (!m->prompt || !*m->prompt) {
    hb_usage("imagen", "give a prompt");
    return false;
  }
  return true;
}

/* Save each image (numbered when there are several) and print its path, size and format. */
static int save_images(const imagen_args *m, hvb_images *r) {
  hvb_error err = HVB_ERROR_INIT;
  int rc = HB_EXIT_OK;
  size_t n = hvb_images_count(r);
  for (size_t i = 0; i < n && rc == HB_EXIT_OK; i++) {
    hvb_image *img = hvb_images_at(r, i);
    hvb_image_info info;
    if (!hvb_image_probe(img, &info, &err)) return hb_fail("imagen", &err);
    char *path = m->out_path ? numbered_path(m->out_path, i, n) : default_path(i, info.format);
    if (!hvb_image_save(img, path, &err))
      rc = hb_fail("imagen", &err);
    else
      printf("%s %dx%d %s\n", path, info.width, info.height, info.format);
    free(path);
  }
  return rc;
}

static int imagen_run(imagen_args *m) {
  if (!json_object_object_get_ex(m->lo.options, "preset", NULL) &&
      !json_object_object_get_ex(m->lo.options, "model", NULL))
    json_object_object_add(m->lo.options, "preset", json_object_new_string("imagen"));
  hvb_error err = HVB_ERROR_INIT;
  m->ref_images = calloc(m->nrefs + 1, sizeof *m->ref_images);
  if (!m->ref_images) abort();
  for (size_t i = 0; i < m->nrefs; i++)
    if (!(m->ref_images[i] = hvb_image_new(m->refs[i], &err)))
      return hb_fail("imagen: --image", &err);
  hvb_llm *llm = hvb_llm_new(m->lo.options, &err);
  if (!llm) return hb_fail("imagen", &err);
  hb_warn_fallback(hvb_llm_spec(llm));
  hvb_images *r = hvb_llm_imagen(llm, m->prompt, m->ref_images, m->nrefs, m->call, &err);
  int rc;
  if (!r) {
    rc = hb_fail("imagen", &err);
  } else {
    rc = save_images(m, r);
    hvb_images_free(r);
    if (fflush(stdout) != 0) rc = HB_EXIT_FAIL;
  }
  hvb_llm_free(llm);
  return rc;
}

int hb_cmd_imagen(int argc, char **argv) {
  imagen_args m = {.call = json_object_new_object()};
  hb_llm_opts_init(&m.lo);
  m.lo.call = m.call; /* -o include=raw is the call's, not a request argument */
  m.refs = calloc((size_t)argc, sizeof *m.refs);
  if (!m.refs) abort(); /* the CLI's one answer to an exhausted heap */
  int rc = imagen_parse(&m, argc, argv) ? imagen_run(&m) : HB_EXIT_USAGE;
  for (size_t i = 0; m.ref_images && i < m.nrefs; i++) hvb_image_free(m.ref_images[i]);
  free(m.ref_images);
  free(m.refs);
  json_object_put(m.call);
  hb_llm_opts_clear(&m.lo);
  return rc;
}
