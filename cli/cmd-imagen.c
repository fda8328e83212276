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

/* The file name for image i when no -o was given: imagen-<i>.<format>. */
static char *default_path(size_t i, const char *format) {
  size_t len = 64;
  char *out = malloc(len);
  if (!out) abort();
  snprintf(out, len, "imagen-%zu.%s", i + 1, format);
  return out;
}

int hb_cmd_imagen(int argc, char **argv) {
  hb_llm_opts lo;
  hb_llm_opts_init(&lo);
  json_object *call = json_object_new_object();
  const char *prompt = NULL, *out_path = NULL;
  const char **refs = calloc((size_t)argc, sizeof *refs);
  size_t nrefs = 0;
  bool rest_positional = false;
  hvb_image **ref_images = NULL;
  int rc = HB_EXIT_USAGE;
  if (!refs) abort();

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!rest_positional && a[0] == '-' && a[1] != '\0') {
      if (!strcmp(a, "--")) {
        rest_positional = true;
        continue;
      }
      /* -o is the output file here, so it is taken before the shared LLM options (where it
       * would be -o KEY=VALUE); request arguments go with --arg KEY=VALUE. */
      if (hb_opt_is(a, "output", "o")) {
        if (!(out_path = hb_opt_value("imagen", argc, argv, &i))) goto out;
        continue;
      }
      if (hb_opt_is(a, "arg", NULL)) {
        static char opt[] = "-o";
        const char *v = hb_opt_value("imagen", argc, argv, &i);
        if (!v) goto out;
        char *fake[] = {argv[0], opt, (char *)v};
        int j = 1;
        if (hb_llm_opts_parse(&lo, "imagen", 3, fake, &j) < 0) goto out;
        continue;
      }
      int used = hb_llm_opts_parse(&lo, "imagen", argc, argv, &i);
      if (used < 0) goto out;
      if (used) continue;
      if (hb_opt_is(a, "size", NULL)) {
        const char *v = hb_opt_value("imagen", argc, argv, &i);
        if (!v) goto out;
        json_object_object_add(call, "size", json_object_new_string(v));
      } else if (hb_opt_is(a, "n", "n")) {
        const char *v = hb_opt_value("imagen", argc, argv, &i);
        if (!v) goto out;
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 100) {
          hb_usage("imagen", "-n wants a number from 1 to 100, not '%s'", v);
          goto out;
        }
        json_object_object_add(call, "n", json_object_new_int((int)n));
      } else if (hb_opt_is(a, "seed", NULL)) {
        const char *v = hb_opt_value("imagen", argc, argv, &i);
        if (!v) goto out;
        char *end;
        long long s = strtoll(v, &end, 10);
        if (*end || end == v) {
          hb_usage("imagen", "--seed wants an integer, not '%s'", v);
          goto out;
        }
        json_object_object_add(call, "seed", json_object_new_int64(s));
      } else if (hb_opt_is(a, "image", NULL)) {
        if (!(refs[nrefs] = hb_opt_value("imagen", argc, argv, &i))) goto out;
        nrefs++;
      } else {
        hb_usage("imagen", "unknown option '%s'", a);
        goto out;
      }
      continue;
    }
    if (prompt) {
      hb_usage("imagen", "one prompt only (quote it): unexpected '%s'", a);
      goto out;
    }
    prompt = a;
  }
  if (!prompt || !*prompt) {
    hb_usage("imagen", "give a prompt");
    goto out;
  }
  if (!json_object_object_get_ex(lo.options, "preset", NULL) &&
      !json_object_object_get_ex(lo.options, "model", NULL))
    json_object_object_add(lo.options, "preset", json_object_new_string("imagen"));

  hvb_error err = HVB_ERROR_INIT;
  ref_images = calloc(nrefs + 1, sizeof *ref_images);
  if (!ref_images) abort();
  for (size_t i = 0; i < nrefs; i++) {
    if (!(ref_images[i] = hvb_image_new(refs[i], &err))) {
      rc = hb_fail("imagen: --image", &err);
      goto out;
    }
  }
  hvb_llm *llm = hvb_llm_new(lo.options, &err);
  if (!llm) {
    rc = hb_fail("imagen", &err);
    goto out;
  }
  hb_warn_fallback(hvb_llm_spec(llm));
  hvb_images *r = hvb_llm_imagen(llm, prompt, ref_images, nrefs, call, &err);
  if (!r) {
    rc = hb_fail("imagen", &err);
  } else {
    rc = HB_EXIT_OK;
    size_t n = hvb_images_count(r);
    for (size_t i = 0; i < n && rc == HB_EXIT_OK; i++) {
      hvb_image *img = hvb_images_get(r, i);
      hvb_image_info info;
      if (!hvb_image_probe(img, &info, &err)) {
        rc = hb_fail("imagen", &err);
        break;
      }
      char *path = out_path ? numbered_path(out_path, i, n) : default_path(i, info.format);
      if (!hvb_image_save(img, path, &err))
        rc = hb_fail("imagen", &err);
      else
        printf("%s %dx%d %s\n", path, info.width, info.height, info.format);
      free(path);
    }
    hvb_images_free(r);
    if (fflush(stdout) != 0) rc = HB_EXIT_FAIL;
  }
  hvb_llm_free(llm);
out:
  for (size_t i = 0; ref_images && i < nrefs; i++) hvb_image_free(ref_images[i]);
  free(ref_images);
  free(refs);
  json_object_put(call);
  hb_llm_opts_clear(&lo);
  return rc;
}
