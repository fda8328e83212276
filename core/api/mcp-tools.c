/* core/api/mcp-tools.c: an MCP server's tools as executable tools of the tool loop
 * (hvb_tools_add_mcp), and a tools/call result as the tool message the model reads.
 */
#include "api/mcp.h"
#include "api/tools-set.h"
#include "net/engine.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <glib.h>
#include <string.h>

typedef struct mcp_tool {
  hvb_mcp *mcp;
  char name[];
} mcp_tool;

static void add_member(json_object *o, const char *key, json_object *v) {
  if (v) json_object_object_add(o, key, v);
}

/* {"text", "structured", "images", "resources"}: what the model can read of a result, each
 * member only when the result has it. */
static json_object *tool_message(json_object *r, GString *text) {
  json_object *content = json_object_object_get(r, "content");
  json_object *images = NULL, *other = NULL;
  for (size_t i = 0; i < json_object_array_length(content); i++) {
    json_object *c = json_object_array_get_idx(content, i);
    const char *type = hvb__json_str(c, "type");
    if (type && !strcmp(type, "text")) {
      if (text->len) g_string_append_c(text, '\n');
      g_string_append(text, hvb__json_str(c, "text") ? hvb__json_str(c, "text") : "");
    } else if (type && !strcmp(type, "image")) {
      json_object *img = json_object_new_object();
      json_object_object_add(img, "mime_type",
                             json_object_new_string(hvb__json_str(c, "mimeType") ?
                                                    hvb__json_str(c, "mimeType") : ""));
      json_object_object_add(img, "data", json_object_get(json_object_object_get(c, "data")));
      if (!images) images = json_object_new_array();
      json_object_array_add(images, img);
    } else {
      if (!other) other = json_object_new_array();
      json_object_array_add(other, json_object_get(c));
    }
  }
  json_object *out = json_object_new_object();
  if (text->len) json_object_object_add(out, "text", json_object_new_string(text->str));
  add_member(out, "structured", json_object_get(json_object_object_get(r, "structuredContent")));
  add_member(out, "images", images);
  add_member(out, "resources", other);
  return out;
}

/* A tools/call result (taken) as the tool's answer, or NULL and err for isError. */
static json_object *tool_answer(mcp_tool *t, json_object *r, hvb_error *err) {
  GString *text = g_string_new(NULL);
  json_object *out = tool_message(r, text);
  bool is_error = json_object_get_boolean(json_object_object_get(r, "isError"));
  if (is_error) {
    hvb__fail(err, HVB_PROVIDER, "MCP tool %s failed: %s", t->name,
              text->len ? text->str : "(no text)");
    json_object_put(out);
    out = NULL;
  }
  g_string_free(text, TRUE);
  json_object_put(r);
  return out;
}

static json_object *call_tool(json_object *args, void *ud, hvb_error *err) {
  mcp_tool *t = ud;
  json_object *r = hvb_mcp_call(t->mcp, t->name, args, err);
  if (!r) {
    hvb__error_prefix(err, "MCP tool %s", t->name);
    return NULL;
  }
  return tool_answer(t, r, err);
}

/* ---- the async form on the engine: the request sent, the loop's call answered when the
 * reply comes (the server's socket watched by the engine), no thread ---- */

typedef struct engine_job {
  mcp_tool *tool;
  hvb_tool_call *call;
  hvb__mcp_areq *req;
} engine_job;

static void engine_job_done(void *p, json_object *result, const hvb_error *err) {
  engine_job *j = p;
  hvb__tool_call_on_cancel(j->call, NULL, NULL);
  hvb_error e = HVB_ERROR_INIT;
  json_object *out = NULL;
  if (result) {
    out = tool_answer(j->tool, json_object_get(result), &e);
  } else {
    e = *err;
    hvb__error_prefix(&e, "MCP tool %s", j->tool->name);
  }
  hvb_tool_call_complete(j->call, out, out ? NULL : &e);
  g_free(j);
}

static void engine_job_cancel(void *p) {
  engine_job *j = p;
  hvb__mcp_call_abort(j->req, "the chat was cancelled");
}

static void call_tool_engine(json_object *args, hvb_tool_call *call, mcp_tool *t) {
  engine_job *j = g_new0(engine_job, 1);
  j->tool = t;
  j->call = call;
  /* The hook first: the reply may come inside hvb__mcp_call_async, which clears it. */
  hvb__tool_call_on_cancel(call, engine_job_cancel, j);
  hvb__mcp_call_async(t->mcp, t->name, args, engine_job_done, j, &j->req);
}

/* The async form. On the engine thread (an async loop's step) the request is engine I/O, over
 * stdio and Streamable HTTP alike. Anywhere else the caller's thread is not the engine's, so
 * the blocking request there holds no other call; the thread per call this once needed is
 * gone since both transports run on the engine. */
static void call_tool_async(json_object *args, hvb_tool_call *call, void *ud) {
  mcp_tool *t = ud;
  if (hvb__mcp_can_async(t->mcp) && hvb__engine_in_turn()) {
    call_tool_engine(args, call, t);
    return;
  }
  hvb_error e = HVB_ERROR_INIT;
  json_object *out = NULL;
  if (hvb_tool_call_cancelled(call)) /* cancelled before it started: do not call */
    hvb__fail(&e, HVB_CANCELLED, "MCP tool %s: the chat was cancelled", t->name);
  else
    out = call_tool(args, t, &e);
  hvb_tool_call_complete(call, out, out ? NULL : &e);
}

/* The server as a tool source (api/tools-set.h): the loop lists it again before its next
 * step when it said its tools changed. */
static unsigned src_changes(void *src) { return hvb__mcp_changes(src); }

static bool src_list(void *src, hvb_error *err) { return hvb_mcp_tools(src, err) != NULL; }

static bool src_add(void *src, hvb_tools *tools, hvb_error *err) {
  hvb_mcp *mcp = src;
  json_object *list = hvb_mcp_tools(mcp, err);
  if (!list) return false;
  list = json_object_get(list); /* a list_changed during a call may replace it */
  bool ok = true;
  for (size_t i = 0; ok && i < json_object_array_length(list); i++) {
    json_object *def = json_object_array_get_idx(list, i);
    const char *name = hvb__json_str(def, "name");
    if (!name) continue;
    json_object *schema = json_object_object_get(def, "inputSchema");
    size_t n = strlen(name) + 1;
    mcp_tool *t = g_malloc(sizeof *t + n);
    t->mcp = mcp;
    memcpy(t->name, name, n);
    hvb__mcp_keep(mcp, t);
    ok = hvb__tools_add_both(tools, name, hvb__json_str(def, "description"),
                             json_object_is_type(schema, json_type_object) ? schema : NULL,
                             call_tool, call_tool_async, t, err);
  }
  json_object_put(list);
  return ok;
}

static const hvb__tool_source_ops mcp_source = {src_changes, src_list, src_add};

HVB_PUBLIC bool hvb_tools_add_mcp(hvb_tools *tools, hvb_mcp *mcp, hvb_error *err) {
  if (!tools || !mcp) return hvb__fail(err, HVB_EINVAL, "tools or mcp is NULL");
  return hvb__tools_add_source(tools, &mcp_source, mcp, err);
}
