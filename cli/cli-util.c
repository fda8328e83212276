/* cli/cli-util.c: option parsing, output and error reporting shared by the commands. */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hb_fail(const char *what, const hvb_error *err) {
  /* The class last, as the C API names it, so that a script can tell a malformed reply
   * (HVB_PARSE) from a provider's error without parsing the message. */
  hvb_status status = err ? err->status : HVB_OK;
  fprintf(stderr, "hb: %s: %s", what, err && err->message[0] ? err->message : hvb_strerror(status));
  if (status != HVB_OK) fprintf(stderr, " (HVB_%s)", hvb_status_name(status));
  fputc('\n', stderr);
  return status == HVB_AUTH ? HB_EXIT_AUTH : HB_EXIT_FAIL;
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

/* Length of the UTF-8 character at p (NUL included), 0 when the bytes are not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t left) {
  if (p[0] < 0x80) return 1;
  size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
  if (!n || n > left || p[0] > 0xF4) return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))) return 0;
  if (n == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))) return 0;
  return n;
}

void hb_write_utf8(FILE *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
  while (p < end) {
    size_t n = utf8_len(p, (size_t)(end - p));
    if (n) {
      p += n;
      continue;
    }
    fwrite(run, 1, (size_t)(p - run), out);
    fputs("\xef\xbf\xbd", out); /* U+FFFD for each byte that is not UTF-8 */
    run = ++p;
  }
  fwrite(run, 1, (size_t)(p - run), out);
}

void hb_write_json(FILE *out, json_object *value, int flags) {
  size_t len = 0;
  const char *text = json_object_to_json_string_length(value, flags, &len);
  /* json-c copies a string's bytes as they are: a reply that is not UTF-8 would make the
   * output invalid JSON. Outside strings everything is ASCII, so repairing the text is
   * repairing the strings. */
  hb_write_utf8(out, text, len);
}

void hb_print_json(FILE *out, json_object *value, bool raw_strings) {
  if (raw_strings && json_object_is_type(value, json_type_string)) {
    /* The whole string: a reply may hold a NUL. */
    fwrite(json_object_get_string(value), 1, (size_t)json_object_get_string_len(value), out);
    fputc('\n', out);
    return;
  }
  int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
  flags |= isatty(fileno(out)) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                               : JSON_C_TO_STRING_PLAIN;
  hb_write_json(out, value, flags);
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
