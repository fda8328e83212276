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

void hb_llm_opts_init(hb_llm_opts *o) {
  o->options = json_object_new_object();
  o->call = NULL;
}

void hb_llm_opts_clear(hb_llm_opts *o) {
  json_object_put(o->options);
  o->options = NULL;
}

bool hb_llm_opts_add_kv(hb_llm_opts *o, const char *kv) {
  const char *eq = strchr(kv, '=');
  if (!eq || eq == kv) return false;
  char *key = strndup(kv, (size_t)(eq - kv));
  json_object *into = o->call && hvb_option_scope(key) == HVB_OPTION_CALL ? o->call : o->options;
  json_object_object_add(into, key, hvb_config_parse_value(eq + 1, false));
  free(key);
  return true;
}

int hb_llm_opts_apply(hb_llm_opts *o, const char *command, const hb_arg *arg) {
  if (arg->opt->llm_key) {
    json_object_object_add(o->options, arg->opt->llm_key, json_object_new_string(arg->value));
    return 1;
  }
  if (arg->opt->id != HB_OPT_OPTION) return 0;
  if (hb_llm_opts_add_kv(o, arg->value)) return 1;
  hb_usage(command, "option -o wants KEY=VALUE, got '%s'", arg->value);
  return -1;
}

bool hb_parse_count(const char *v, long max, long *out) {
  char *end;
  long n = strtol(v, &end, 10);
  if (end == v || *end || n < 1 || n > max) return false;
  *out = n;
  return true;
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

char *hb_read_stdin(void) { return hb_read_stdin_len(NULL); }

char *hb_read_stdin_len(size_t *len) {
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
  if (len) *len = n;
  return buf;
}
