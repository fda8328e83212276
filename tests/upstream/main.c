/* tests/upstream/main.c: hb-upstream, the fake provider server as a program for shell tests.
 *
 *   hb-upstream --script FILE.json [--port-file F] [--log FILE]
 *
 * Prints the port on stdout (and writes it to F, atomically, so a test polling for the file
 * never reads half a number), serves until SIGTERM or SIGINT, and appends every request it
 * received to the log as one JSON line {method, path, query, headers, body} (body as JSON
 * when it parses as JSON; a multipart/form-data body as "form", a list of its parts with
 * their names, file names, content types and sizes, and plain fields' values).
 */
#include "upstream.h"

#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int usage(void) {
  fprintf(stderr, "usage: hb-upstream --script FILE.json [--port-file F] [--log FILE]\n");
  return 2;
}

static json_object *headers_json(const char *raw) {
  json_object *o = json_object_new_object();
  char **lines = g_strsplit(raw, "\r\n", -1);
  for (char **l = lines; *l; l++) {
    char *colon = strchr(*l, ':');
    if (!colon) continue;
    char *name = g_ascii_strdown(*l, colon - *l);
    json_object_object_add(o, name, json_object_new_string(g_strstrip(colon + 1)));
    g_free(name);
  }
  g_strfreev(lines);
  return o;
}

/* A multipart/form-data body as {"form": [{"name", "filename", "content_type", "size",
 * "value"}]}: "value" (a plain field's text) only for parts without a file name, so the log
 * holds no image bytes; NULL when the body is not a form. */
static json_object *form_json(const up_request *r) {
  size_t n = 0;
  up_part *parts = up_request_parts(r, &n);
  if (!parts) return NULL;
  json_object *form = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "name", json_object_new_string(parts[i].name));
    if (parts[i].filename)
      json_object_object_add(p, "filename", json_object_new_string(parts[i].filename));
    if (parts[i].content_type)
      json_object_object_add(p, "content_type", json_object_new_string(parts[i].content_type));
    json_object_object_add(p, "size", json_object_new_int64((int64_t)parts[i].len));
    if (!parts[i].filename)
      json_object_object_add(p, "value",
                             json_object_new_string_len(parts[i].data, (int)parts[i].len));
    json_object_array_add(form, p);
  }
  up_parts_free(parts, n);
  return form;
}

static bool log_request(FILE *f, const up_request *r) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "method", json_object_new_string(r->method));
  json_object_object_add(o, "path", json_object_new_string(r->path));
  json_object_object_add(o, "query", json_object_new_string(r->query));
  json_object_object_add(o, "headers", headers_json(r->headers));
  /* A JSON body is logged as JSON, so shell tests can grep its fields as the client wrote
   * them; anything else as a string. */
  json_object *form = form_json(r);
  json_object *body = r->body_len && !form ? json_tokener_parse(r->body) : NULL;
  if (form) body = json_object_new_string("(multipart/form-data: see \"form\")");
  if (!body) body = json_object_new_string_len(r->body, (int)r->body_len);
  json_object_object_add(o, "body", body);
  /* The body above is re-serialized: tests that compare request bodies byte for byte (a
   * session saved and loaded sends what an unbroken one sends) compare this digest. */
  char *digest = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)r->body,
                                             r->body_len);
  json_object_object_add(o, "body_sha256", json_object_new_string(digest));
  g_free(digest);
  if (form) json_object_object_add(o, "form", form);
  const char *line =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  bool ok = fprintf(f, "%s\n", line) > 0 && fflush(f) == 0;
  json_object_put(o);
  return ok;
}

static void log_hook(const up_request *r, void *user_data) {
  log_request(user_data, r);
}

static bool write_port_file(const char *path, int port) {
  char *tmp = g_strdup_printf("%s.tmp", path);
  char *text = g_strdup_printf("%d\n", port);
  GError *gerr = NULL;
  bool ok = g_file_set_contents(tmp, text, -1, &gerr) && rename(tmp, path) == 0;
  if (!ok) fprintf(stderr, "hb-upstream: %s: %s\n", path, gerr ? gerr->message : strerror(errno));
  g_clear_error(&gerr);
  g_free(tmp);
  g_free(text);
  return ok;
}

int main(int argc, char **argv) {
  const char *script = NULL, *port_file = NULL, *log_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && !strcmp(argv[i], "--script")) script = argv[++i];
    else if (i + 1 < argc && !strcmp(argv[i], "--port-file")) port_file = argv[++i];
    else if (i + 1 < argc && !strcmp(argv[i], "--log")) log_path = argv[++i];
    else return usage();
  }
  if (!script) return usage();

  char *text = NULL;
  GError *gerr = NULL;
  if (!g_file_get_contents(script, &text, NULL, &gerr)) {
    fprintf(stderr, "hb-upstream: %s\n", gerr->message);
    g_error_free(gerr);
    return 1;
  }
  FILE *log = NULL;
  if (log_path && !(log = fopen(log_path, "a"))) {
    fprintf(stderr, "hb-upstream: %s: %s\n", log_path, strerror(errno));
    g_free(text);
    return 1;
  }

  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  up_server *s = up_start();
  int rc = 0;
  if (!up_load_script(s, text)) {
    rc = 1;
    goto out;
  }
  printf("%d\n", up_port(s));
  fflush(stdout);
  if (port_file && !write_port_file(port_file, up_port(s))) {
    rc = 1;
    goto out;
  }
  /* Logged as each request arrives, before its response: a client that got its answer
   * finds its request in the log. */
  if (log) up_set_request_hook(s, log_hook, log);
  while (!stop) g_usleep(100 * 1000); /* the signal flag is looked at every 100 ms */
out:
  up_stop(s);
  if (log) fclose(log);
  g_free(text);
  return rc;
}
