/* core/api/tools-source.c: tool sets whose tools come from a source that can change them
 * (an MCP server's notifications/tools/list_changed), refreshed by the tool loop before each
 * step after the first (core/api/tools.c), so that the model is offered the tools the server
 * has now, and a call of a tool it just added runs.
 *
 * A set records, per source, the change count it saw and the names of the tools it got; a
 * refresh lists the source again, drops those tools and adds the new list. Loops refresh
 * their own copy of the set, never the caller's (which may be shared by other threads).
 */
#include "api/tools-set.h"
#include "base/error.h"
#include "base/log.h"

#include <string.h>

typedef struct tool_source {
  const hvb__tool_source_ops *ops;
  void *src;
  unsigned seen;     /* ops->changes when its tools were listed */
  GPtrArray *names;  /* of the tools it added (g_free) */
} tool_source;

static void source_free(gpointer p) {
  tool_source *s = p;
  g_ptr_array_free(s->names, TRUE);
  g_free(s);
}

static tool_source *source_new(hvb_tools *ts, const hvb__tool_source_ops *ops, void *src) {
  tool_source *s = g_new0(tool_source, 1);
  s->ops = ops;
  s->src = src;
  s->names = g_ptr_array_new_with_free_func(g_free);
  if (!ts->sources) ts->sources = g_ptr_array_new_with_free_func(source_free);
  g_ptr_array_add(ts->sources, s);
  return s;
}

/* ops->add, recording the names of the tools it added (the set only grows at its end). */
static bool source_add(hvb_tools *ts, tool_source *s, hvb_error *err) {
  guint before = ts->list->len;
  bool ok = s->ops->add(s->src, ts, err);
  for (guint i = before; i < ts->list->len; i++)
    g_ptr_array_add(s->names, g_strdup(((tool_entry *)ts->list->pdata[i])->name));
  return ok;
}

bool hvb__tools_add_source(hvb_tools *ts, const hvb__tool_source_ops *ops, void *src,
                           hvb_error *err) {
  tool_source *s = source_new(ts, ops, src);
  s->seen = ops->changes(src); /* before listing: a change meanwhile lists again later */
  return ops->list(src, err) && source_add(ts, s, err);
}

void hvb__tools_copy_sources(hvb_tools *to, const hvb_tools *from) {
  for (guint i = 0; from->sources && i < from->sources->len; i++) {
    const tool_source *f = from->sources->pdata[i];
    tool_source *s = source_new(to, f->ops, f->src);
    s->seen = f->seen;
    for (guint j = 0; j < f->names->len; j++) g_ptr_array_add(s->names, g_strdup(f->names->pdata[j]));
  }
}

void hvb__tools_free_sources(hvb_tools *ts) {
  if (ts->sources) g_ptr_array_free(ts->sources, TRUE);
  ts->sources = NULL;
}

static void remove_tool(hvb_tools *ts, const char *name) {
  for (guint i = 0; i < ts->list->len; i++) {
    tool_entry *t = ts->list->pdata[i];
    if (strcmp(t->name, name)) continue;
    if (t->fn || t->afn) ts->executable--;
    g_ptr_array_remove_index(ts->list, i); /* keeps the order, as the array below does */
    json_object_array_del_idx(ts->array, i, 1);
    return;
  }
}

bool hvb__tools_refresh(hvb_tools *ts) {
  bool changed = false;
  for (guint i = 0; ts && ts->sources && i < ts->sources->len; i++) {
    tool_source *s = ts->sources->pdata[i];
    unsigned now = s->ops->changes(s->src);
    if (now == s->seen) continue;
    hvb_error err = HVB_ERROR_INIT;
    if (!s->ops->list(s->src, &err)) {
      hvb__log(HVB_LOG_WARN, "tool list changed but could not be listed again (the old "
               "tools stay): %s", err.message);
      continue;
    }
    for (guint j = 0; j < s->names->len; j++) remove_tool(ts, s->names->pdata[j]);
    g_ptr_array_set_size(s->names, 0);
    s->seen = now;
    changed = true;
    if (!source_add(ts, s, &err))
      hvb__log(HVB_LOG_WARN, "tool list changed; a new tool could not be added: %s", err.message);
  }
  return changed;
}
