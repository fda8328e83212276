/* cli/cli-util.c: option parsing, output and error reporting shared by the commands. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hb_fail(const char *what, const hvb_error *err) {
  fprintf(stderr, "hb: %s: %s\n", what,
          err && err->message[0] ? err->message : hvb_strerror(err ? err->status : HVB_OK));
  return HB_EXIT_FAIL;
}

void hb_warn_fallback(const hvb_spec *spec) {
  if (!hvb_spec_gateway_fallback(spec)) return;
  fprintf(stderr, "hb: warning: gateway '%s' cannot be used (%s); using '%s' instead\n",
          hvb_spec_requested_gateway(spec), hvb_spec_gateway_fallback_reason(spec),
          hvb_spec_gateway(spec));
}

int hb_usage(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hb: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'hb help%s%s'.\n", command ? " " : "", command ? command : "");
  return HB_EXIT_USAGE;
}

bool hb_opt_is(const char *arg, const char *long_name, const char *short_name) {
  if (long_name && arg[0] == '-' && arg[1] == '-') {
    size_t n = strlen(long_name);
    if (!strncmp(arg + 2, long_name, n) && (arg[2 + n] == '\0' || arg[2 + n] == '='))
      return true;
  }
  if (short_name && arg[0] == '-' && arg[1] == short_name[0] && arg[1] != '-') return true;
  return false;
}

const char *hb_opt_value(const char *command, int argc, char **argv, int *i) {
  const char *arg = argv[*i];
  if (arg[1] == '-') {
    const char *eq = strchr(arg, '=');
    if (eq) return eq + 1;
  } else if (arg[2] != '\0') {
    return arg + 2;
  }
  if (*i + 1 >= argc) {
    hb_usage(command, "option '%s' needs a value", arg);
    return NULL;
  }
  return argv[++*i];
}

void hb_llm_opts_init(hb_llm_opts *o) { o->options = json_object_new_object(); }

void hb_llm_opts_clear(hb_llm_opts *o) {
  json_object_put(o->options);
  o->options = NULL;
}

int hb_llm_opts_parse(hb_llm_opts *o, const char *command, int argc, char **argv, int *i) {
  static const struct {
    const char *long_name, *short_name, *key;
  } simple[] = {
      {"preset", "p", "preset"},     {"model", "m", "model"},
      {"provider", NULL, "provider"}, {"gateway", "g", "gateway"},
      {"base-url", NULL, "base_url"}, {"api-key-env", NULL, "api_key_env"},
  };
  const char *arg = argv[*i];
  for (size_t k = 0; k < sizeof simple / sizeof simple[0]; k++) {
    if (!hb_opt_is(arg, simple[k].long_name, simple[k].short_name)) continue;
    const char *v = hb_opt_value(command, argc, argv, i);
    if (!v) return -1;
    json_object_object_add(o->options, simple[k].key, json_object_new_string(v));
    return 1;
  }
  if (hb_opt_is(arg, "option", "o")) {
    const char *v = hb_opt_value(command, argc, argv, i);
    if (!v) return -1;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v) {
      hb_usage(command, "option -o wants KEY=VALUE, got '%s'", v);
      return -1;
    }
    char *key = strndup(v, (size_t)(eq - v));
    json_object_object_add(o->options, key, hvb_config_parse_value(eq + 1, false));
    free(key);
    return 1;
  }
  return 0;
}

void hb_print_json(FILE *out, json_object *value, bool raw_strings) {
  if (raw_strings && json_object_is_type(value, json_type_string)) {
    fputs(json_object_get_string(value), out);
    fputc('\n', out);
    return;
  }
  int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
  flags |= isatty(fileno(out)) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                               : JSON_C_TO_STRING_PLAIN;
  fputs(json_object_to_json_string_ext(value, flags), out);
  fputc('\n', out);
}

char *hb_read_stdin(void) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        return NULL;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  if (ferror(stdin)) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}
