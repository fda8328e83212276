/* tests/unit/testutil.c */
#include "testutil.h"
#include "text/json.h"
#include "upstream/upstream.h"

#include <heavenbase/heavenbase.h>

#include <errno.h>
#include <glib.h>
#include <ftw.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tsan-glib.h" /* GMutex/GCond that ThreadSanitizer can see (TSan builds only) */

static char *dirs[64];
static int ndirs;
static pid_t owner;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)flag; (void)ftw;
  return remove(path);
}

static void cleanup(void) {
  /* Check's fork mode runs tests in children: only the process that made a dir removes it. */
  if (getpid() != owner) return;
  for (int i = 0; i < ndirs; i++) {
    nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dirs[i]);
  }
  ndirs = 0;
}

const char *tu_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[4096];
  snprintf(tmpl, sizeof tmpl, "%s/hvb-test-XXXXXX", base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  ck_assert_msg(d != NULL, "mkdtemp: %s", strerror(errno));
  if (ndirs == 0) {
    owner = getpid();
    atexit(cleanup);
  }
  ck_assert_int_lt(ndirs, 64);
  dirs[ndirs] = strdup(d);
  return dirs[ndirs++];
}

static void mkdirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0700);
      *p = '/';
    }
  }
  mkdir(buf, 0700);
}

const char *tu_isolate(void) {
  const char *root = tu_tmpdir();
  char buf[4096];
  snprintf(buf, sizeof buf, "%s/config", root);
  mkdirs(buf);
  setenv("HB_CONFIG_DIR", buf, 1);
  snprintf(buf, sizeof buf, "%s/xdg-config", root);
  setenv("XDG_CONFIG_HOME", buf, 1);
  snprintf(buf, sizeof buf, "%s/xdg-data", root);
  setenv("XDG_DATA_HOME", buf, 1);
  snprintf(buf, sizeof buf, "%s/cache", root);
  setenv("XDG_CACHE_HOME", buf, 1);
  setenv("HB_CACHE_DIR", buf, 1);
  snprintf(buf, sizeof buf, "%s/system", root);
  mkdirs(buf);
  setenv("HB_SYSTEM_CONFIG_DIR", buf, 1);
  snprintf(buf, sizeof buf, "%s/data", root);
  mkdirs(buf);
  setenv("HB_DATA_DIR", buf, 1);
  snprintf(buf, sizeof buf, "%s/work", root);
  mkdirs(buf);
  ck_assert_int_eq(chdir(buf), 0);
  /* HB_GATEWAY_PATH stays: make check points it at the build tree's plugins. Installed
   * plugins never take part. */
  snprintf(buf, sizeof buf, "%s/no-gateways", root);
  setenv("HB_GATEWAY_SYSTEM_DIR", buf, 1);
  static const char *keys[] = {"OPENAI_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY",
                               "ANTHROPIC_API_KEY", "HB_LOG", "PORTKEY_API_KEY",
                               "PORTKEY_BASE_URL", "BIFROST_BASE_URL", "LITELLM_BASE_URL",
                               "LITELLM_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT",
                               "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "TRACEPARENT", NULL};
  for (int i = 0; keys[i]; i++) unsetenv(keys[i]);
  return getenv("HB_CONFIG_DIR");
}

void tu_write_file(const char *path, const char *content) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    mkdirs(dir);
  }
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
  size_t n = strlen(content);
  ck_assert_uint_eq(fwrite(content, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

void tu_use_comma_locale(void) {
  static const char name[] = "de_DE.UTF-8";
  int rc = 0;
  if (!setlocale(LC_ALL, name)) {
    /* Built once per process; setlocale reads LOCPATH when it loads a locale. */
    static char locpath[4096];
    if (!locpath[0]) {
      snprintf(locpath, sizeof locpath, "%s", tu_tmpdir());
      char cmd[4200];
      snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 '%s/%s' >/dev/null 2>&1", locpath,
               name);
      rc = system(cmd);
    }
    setenv("LOCPATH", locpath, 1);
  }
  ck_assert_msg(setlocale(LC_ALL, name) != NULL,
                "cannot switch to %s: not installed and localedef failed (status %d); "
                "install Debian's 'locales' package",
                name, rc);
  ck_assert_msg(localeconv()->decimal_point[0] == ',', "%s has no decimal comma", name);
  /* The locale is loaded now. glibc's newlocale() (json-c calls it on every parse) leaks its
   * copy of LOCPATH while the variable is set, which valgrind would report. */
  unsetenv("LOCPATH");
}

int tu_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *tu_data_dir(const char *argv0) {
  static char dir[4096];
  const char *env = getenv("HB_TEST_DATA");
  if (env && *env) {
    snprintf(dir, sizeof dir, "%s", env);
    return dir;
  }
  char cand[4096];
  const char *slash = strrchr(argv0, '/');
  int n = slash ? (int)(slash - argv0) : 1;
  snprintf(cand, sizeof cand, "%.*s/../data", n > 3000 ? 3000 : n, slash ? argv0 : ".");
  if (!realpath(cand, dir)) snprintf(dir, sizeof dir, "%s", cand);
  return dir;
}

json_object *tu_parse(const char *text) {
  json_object *o = json_tokener_parse(text);
  ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
  return o;
}

hvb_llm *tu_upstream_llm(up_server *srv, const char *model, const char *key, const char *extra) {
  char base[256];
  snprintf(base, sizeof base, "%s/v1", up_base_url(srv));
  json_object *o = json_object_new_object();
  json_object_object_add(o, "provider", json_object_new_string("openai"));
  json_object_object_add(o, "model", json_object_new_string(model));
  json_object_object_add(o, "base_url", json_object_new_string(base));
  json_object_object_add(o, "api_key", json_object_new_string(key));
  json_object_object_add(o, "timeout", json_object_new_int(20));
  json_object_object_add(o, "max_retries", json_object_new_int(0));
  if (extra) {
    json_object *e = tu_parse(extra);
    hvb__json_merge(o, e);
    json_object_put(e);
  }
  hvb_error err = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, &err);
  ck_assert_msg(llm != NULL, "%s", err.message);
  json_object_put(o);
  return llm;
}

void tu_write_catalog(const char *text) {
  GString *s = g_string_new(text);
  g_string_replace(s, "URL", up_base_url(tu_srv), 0);
  char *path = g_build_filename(getenv("HB_CONFIG_DIR"), "catalog.d", "50-routes.json", NULL);
  tu_write_file(path, s->str);
  g_free(path);
  g_string_free(s, TRUE);
}

hvb_llm *tu_preset_llm(const char *name, hvb_error *err) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "preset", json_object_new_string(name));
  json_object_object_add(o, "cache", json_object_new_boolean(0));
  hvb_error own = HVB_ERROR_INIT;
  hvb_llm *llm = hvb_llm_new(o, err ? err : &own);
  json_object_put(o);
  ck_assert_msg(llm || err, "LLM of preset %s: %s", name, own.message);
  return llm;
}

int tu_count_threads(const char *const *prefixes, bool named) {
  GDir *d = g_dir_open("/proc/self/task", 0, NULL);
  ck_assert_msg(d != NULL, "cannot read /proc/self/task");
  int n = 0;
  for (const char *t; (t = g_dir_read_name(d));) {
    char *path = g_strdup_printf("/proc/self/task/%s/comm", t), *comm = NULL;
    if (g_file_get_contents(path, &comm, NULL, NULL)) {
      bool hit = false;
      for (size_t i = 0; prefixes[i] && !hit; i++) hit = g_str_has_prefix(comm, prefixes[i]);
      n += hit == named;
    }
    g_free(comm);
    g_free(path);
  }
  g_dir_close(d);
  return n;
}

void tu_require_program(const char *program, const char *package) {
  char *path = g_find_program_in_path(program);
  if (path) {
    g_free(path);
    return;
  }
  printf("Bail out! %s is not installed: it is a test dependency (apt-get install %s)\n",
         program, package);
  exit(1);
}

int tu_requests_to(const char *path) { return up_request_count_path(tu_srv, path); }

json_object *tu_sent_body(up_server *srv, int i) {
  up_request *rq = up_request_get(srv, i);
  ck_assert_msg(rq != NULL, "the fake upstream has no request %d", i);
  json_object *b = tu_parse(rq->body);
  up_request_free(rq);
  return b;
}

up_server *tu_srv;

void tu_up_setup(void) {
  tu_isolate();
  tu_srv = up_start();
}

void tu_up_teardown(void) {
  up_stop(tu_srv);
  tu_srv = NULL;
}
