/* core/api/mcp-server.c: what names an MCP server: a URL, a config entry
 * (heavenbase.llm.mcp.NAME) or a command line; and its options (env, headers, auth_env,
 * timeout), the caller's winning over the config's. */
#include "api/mcp.h"
#include "text/json.h"
#include "base/error.h"
#include "base/env.h"

#include <heavenbase/config.h>
#include <glib.h>
#include <math.h>
#include <string.h>

static bool is_url(const char *s) {
  return g_str_has_prefix(s, "http://") || g_str_has_prefix(s, "https://");
}

/* Member `key` of the caller's options, else of the config entry. */
static json_object *field(json_object *options, json_object *entry, const char *key) {
  json_object *v = json_object_object_get(options, key);
  return v ? v : json_object_object_get(entry, key);
}

/* {"NAME": "value"} as NULL-terminated lines "NAME<sep>value" (g_strfreev). */
static bool string_map(json_object *map, const char *what, const char *sep, char ***out,
                       hvb_error *err) {
  *out = NULL;
  if (!map) return true;
  if (!json_object_is_type(map, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "MCP server option \"%s\": expected an object of strings",
                     what);
  GPtrArray *a = g_ptr_array_new();
  json_object_object_foreach(map, k, v) {
    if (!json_object_is_type(v, json_type_string)) {
      g_ptr_array_add(a, NULL);
      g_strfreev((char **)g_ptr_array_free(a, FALSE));
      return hvb__fail(err, HVB_EINVAL, "MCP server option \"%s\": \"%s\" is not a string",
                       what, k);
    }
    g_ptr_array_add(a, g_strconcat(k, sep, json_object_get_string(v), NULL));
  }
  g_ptr_array_add(a, NULL);
  *out = (char **)g_ptr_array_free(a, FALSE);
  return true;
}

static bool timeout_of(json_object *v, long *timeout_ms, hvb_error *err) {
  *timeout_ms = HVB_MCP_DEFAULT_TIMEOUT_S * 1000L;
  if (!v) return true;
  double s = json_object_get_double(v);
  if (!hvb__json_is_number(v) || !(s > 0) || s > 1e6)
    return hvb__fail(err, HVB_EINVAL, "MCP server option \"timeout\": expected seconds, "
                     "more than 0 and at most 1000000");
  *timeout_ms = (long)ceil(s * 1000);
  return true;
}

static hvb_mcp_link *open_http(const char *url, json_object *options, json_object *entry,
                               hvb_error *err) {
  char **headers = NULL;
  if (!string_map(field(options, entry, "headers"), "headers", ": ", &headers, err)) return NULL;
  json_object *auth = field(options, entry, "auth_env");
  if (auth) {
    const char *var = json_object_get_string(auth);
    const char *val = json_object_is_type(auth, json_type_string) ? hvb__getenv(var) : NULL;
    if (!val || !*val) {
      g_strfreev(headers);
      hvb__fail(err, HVB_EINVAL, "MCP server %s: auth_env: the environment variable %s is "
                "not set", url, json_object_is_type(auth, json_type_string) ? var : "(not a name)");
      return NULL;
    }
    guint n = headers ? g_strv_length(headers) : 0;
    headers = g_renew(char *, headers, n + 2);
    headers[n] = strchr(val, ' ') ? g_strconcat("Authorization: ", val, NULL)
                                  : g_strconcat("Authorization: Bearer ", val, NULL);
    headers[n + 1] = NULL;
  }
  hvb_mcp_link *l = hvb__mcp_http_new(url, headers);
  g_strfreev(headers);
  return l;
}

static hvb_mcp_link *open_stdio(json_object *command, const char *line, json_object *options,
                                json_object *entry, hvb_error *err) {
  char **argv = NULL, **env = NULL;
  GError *ge = NULL;
  if (command && json_object_is_type(command, json_type_array)) {
    size_t n = json_object_array_length(command);
    argv = g_new0(char *, n + 1);
    for (size_t i = 0; i < n; i++)
      argv[i] = g_strdup(json_object_get_string(json_object_array_get_idx(command, i)));
  } else if (!g_shell_parse_argv(line, NULL, &argv, &ge)) {
    hvb__fail(err, HVB_EINVAL, "MCP server command '%s': %s", line, ge->message);
    g_error_free(ge);
    return NULL;
  }
  hvb_mcp_link *l = NULL;
  if (string_map(field(options, entry, "env"), "env", "=", &env, err))
    l = hvb__mcp_stdio_new(argv, env, err);
  g_strfreev(argv);
  g_strfreev(env);
  return l;
}

/* The config entry heavenbase.llm.mcp.NAME (new reference), NULL when there is none. */
static json_object *config_entry(const char *name, hvb_error *err, bool *failed) {
  *failed = false;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-') return NULL; /* not a name */
  hvb_config *cfg = hvb_config_load(err);
  if (!cfg) {
    *failed = true;
    return NULL;
  }
  char *key = g_strconcat("heavenbase.llm.mcp.", name, NULL);
  json_object *e = json_object_get(hvb_config_get(cfg, key));
  g_free(key);
  hvb_config_free(cfg);
  return e;
}

hvb_mcp_link *hvb__mcp_open(const char *server, json_object *options, long *timeout_ms,
                            hvb_error *err) {
  if (!server || !*server) return hvb__fail(err, HVB_EINVAL, "MCP server: empty"), NULL;
  if (options && !json_object_is_type(options, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "MCP server options: expected a JSON object"), NULL;
  bool failed = false;
  json_object *entry = is_url(server) ? NULL : config_entry(server, err, &failed);
  if (!entry && !is_url(server) && failed) return NULL;
  json_object *cmd = json_object_object_get(entry, "command");
  json_object *url = json_object_object_get(entry, "url");
  hvb_mcp_link *l = NULL;
  if (entry && (!cmd == !url || (url && !json_object_is_type(url, json_type_string)))) {
    hvb__fail(err, HVB_CONFIG, "heavenbase.llm.mcp.%s: give exactly one of \"command\" (a "
              "string or an array of strings) and \"url\" (a string)", server);
  } else if (timeout_of(field(options, entry, "timeout"), timeout_ms, err)) {
    if (url) l = open_http(json_object_get_string(url), options, entry, err);
    else if (is_url(server)) l = open_http(server, options, NULL, err);
    else l = open_stdio(cmd, cmd ? json_object_get_string(cmd) : server, options, entry, err);
  }
  json_object_put(entry);
  return l;
}
