/* core/api/tools-set.h: what a tool set (hvb_tools) holds, shared by core/api/tools.c (sets
 * and the loop) and core/api/tools-source.c (sources whose tools change: MCP servers).
 */
#ifndef HVB_API_TOOLS_SET_H
#define HVB_API_TOOLS_SET_H

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/tools.h>

typedef struct tool_entry {
  char *name;
  hvb_tool_fn fn;        /* a synchronous tool, or */
  hvb_tool_async_fn afn; /* an async one; neither: a schema tool, returned, never run */
  void *user_data;
} tool_entry;

struct hvb_tools {
  GPtrArray *list;    /* tool*, in order added */
  json_object *array; /* the OpenAI "tools" array */
  int executable;     /* how many have a callback (sync or async) */
  GPtrArray *sources; /* tool_source* (tools-source.c) whose tools are in the set; NULL: none */
};

/* A tool with both forms (an MCP server's): the synchronous loop calls `fn`, the async loop
 * `afn`. Same rules and errors as hvb_tools_add. */
bool hvb__tools_add_both(hvb_tools *ts, const char *name, const char *description,
                         json_object *parameters, hvb_tool_fn fn, hvb_tool_async_fn afn,
                         void *user_data, hvb_error *err);

/* Engine thread: while call `tc` of an async loop is pending, a cancel of the loop runs
 * fn(data) (on the engine thread), which should complete the call soon. fn NULL: no more
 * (set it so before completing the call). */
void hvb__tool_call_on_cancel(hvb_tool_call *tc, void (*fn)(void *), void *data);

/* A source of tools whose list can change while a loop runs (an MCP server that sent
 * notifications/tools/list_changed). */
typedef struct hvb__tool_source_ops {
  /* A count that changes when the source's list changed; any thread. */
  unsigned (*changes)(void *src);
  /* Fetch the source's current list (it may ask the server). */
  bool (*list)(void *src, hvb_error *err);
  /* Add the source's tools (as last listed) to `ts`. */
  bool (*add)(void *src, hvb_tools *ts, hvb_error *err);
} hvb__tool_source_ops;

/* Add the tools of `src` to `ts` and remember where they came from, so that a tool loop can
 * refresh them (hvb__tools_refresh). */
bool hvb__tools_add_source(hvb_tools *ts, const hvb__tool_source_ops *ops, void *src,
                           hvb_error *err);
/* Copy the sources of `from` into `to` (tools_copy: the tools themselves are copied by it). */
void hvb__tools_copy_sources(hvb_tools *to, const hvb_tools *from);
void hvb__tools_free_sources(hvb_tools *ts);
/* Before a loop's next step: each source whose list changed since its tools were added has
 * its old tools replaced by its new ones. true when the set changed. A source that cannot be
 * listed keeps its old tools (a warning is logged): the step goes on with them. */
bool hvb__tools_refresh(hvb_tools *ts);

#endif
