/* tests/unit/testutil.h: small helpers shared by the Check suites. */
#ifndef HVB_TESTUTIL_H
#define HVB_TESTUTIL_H

#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp), removed with its contents at exit.
 * Returned string lives until exit. */
const char *tu_tmpdir(void);

/* Isolate the process from the user's setup: HB_CONFIG_DIR, XDG dirs and HB_CACHE_DIR point
 * into a fresh tmpdir, the working directory is a fresh empty tmpdir (so no project layer
 * is found), HB_SYSTEM_CONFIG_DIR is an empty dir, provider key variables and the gateway
 * servers' variables (PORTKEY_*, BIFROST_BASE_URL, LITELLM_*) are unset, the system gateway
 * directory (HB_GATEWAY_SYSTEM_DIR) is an empty dir; HB_GATEWAY_PATH is kept (make check
 * points it at the build tree's plugins).
 * Returns the HB_CONFIG_DIR path. */
const char *tu_isolate(void);

/* Write `content` to `path` (creating parent directories). Aborts the test on failure. */
void tu_write_file(const char *path, const char *content);

/* Whole file as a NUL-terminated string (free with free()); NULL when unreadable. */
char *tu_read_file(const char *path, size_t *len);

/* Switch LC_ALL to de_DE.UTF-8, a locale whose decimal separator is a comma, to prove that
 * output does not depend on the locale. When the system lacks it, it is compiled with
 * localedef into a tmpdir and found through LOCPATH. Fails the test (never skips it) when
 * neither works. Undo with setlocale(LC_ALL, "C"). */
void tu_use_comma_locale(void);

/* The fixture directory tests/data: $HB_TEST_DATA (make check sets it), else found from the
 * program's own place (tests/unit/ of the build tree) when it is run by hand. The string
 * lives until exit. */
const char *tu_data_dir(const char *argv0);

/* ---- JSON and the fake upstream ---- */

/* The fake upstream of suites that use one server per test: tu_up_setup (a checked fixture)
 * isolates the process and starts it as tu_srv; tu_up_teardown stops it. */
struct up_server;
extern struct up_server *tu_srv;
void tu_up_setup(void);
void tu_up_teardown(void);

/* JSON text that must parse (the test fails otherwise); new reference. */
json_object *tu_parse(const char *text);

/* An LLM of provider "openai" on the fake server `srv` (base URL "<server>/v1") with model
 * `model`, API key `key`, a 20 s timeout and no retries; `extra` (JSON text, may be NULL) is
 * merged over those options. The test fails when it cannot be made. */
struct up_server;
struct hvb_llm *tu_upstream_llm(struct up_server *srv, const char *model, const char *key,
                                const char *extra);

/* A drop-in catalog file catalog.d/50-routes.json in the isolated config dir, with every
 * "URL" in `text` (JSON) replaced by tu_srv's base URL. */
void tu_write_catalog(const char *text);

/* An LLM of preset `name` with the cache off; NULL with `err` set when it cannot be made
 * (err NULL: the test fails then). */
struct hvb_error;
struct hvb_llm *tu_preset_llm(const char *name, struct hvb_error *err);

/* Threads of this process (by their names in /proc/self/task/N/comm) whose name starts with
 * one of `prefixes` (NULL-terminated), or with `named` false, with none of them. */
int tu_count_threads(const char *const *prefixes, bool named);

/* A program the suite needs (a peer server's interpreter): when it is not in PATH, prints
 * which Debian package has it and exits with a failure (a test dependency, like redis-server:
 * missing, the suite fails rather than skips). */
void tu_require_program(const char *program, const char *package);

/* Requests tu_srv received for `path`. */
int tu_requests_to(const char *path);

/* The body of the i-th request `srv` received, parsed (new reference). */
json_object *tu_sent_body(struct up_server *srv, int i);

/* Run a suite with the usual runner; returns the process exit status. */
int tu_run(Suite *s);

#endif
