/* cli/chat-repl.h: the interactive hb chat (a session over a terminal). */
#ifndef HB_CHAT_REPL_H
#define HB_CHAT_REPL_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include <heavenbase/heavenbase.h>

/* Run the interactive chat: `llm_options` (constructor options, borrowed), `call` (hb chat's
 * call options: system, tools, images, arguments; borrowed), `session_file` (--session: loaded
 * when it exists, saved after each turn; may be NULL), `tools` (executable tools and MCP
 * servers' tools to offer, borrowed; may be NULL: the schema tools of call "tools" are added
 * to a set of its own). Returns an exit status. */
int hb_chat_repl(json_object *llm_options, json_object *call, const char *session_file,
                 hvb_tools *tools);

/* ---- the tool steps of a streamed turn, shown as they run (chat-steps.c) ---- */

typedef struct hb_steps hb_steps;

/* A view printing to `out`; `max_steps` for "STEP n/max". */
hb_steps *hb_steps_new(FILE *out, int max_steps);
void hb_steps_free(hb_steps *v);
/* Print the model's text to `text_out` instead (hb chat --mcp --stream: the answer on stdout,
 * the steps on stderr). */
void hb_steps_set_text_out(hb_steps *v, FILE *text_out);
/* A new turn begins (step 1, nothing printed). */
void hb_steps_reset(hb_steps *v);
/* One delta of the turn (engine thread): text printed as it comes, a tool result as its
 * "STEP n/max name(args) -> result" line. */
void hb_steps_delta(hb_steps *v, json_object *delta);
/* The turn ended with `r`: tool calls it returned without running them (schema tools, or
 * max_steps reached) get their STEP line with "(not run)"; the line is ended. */
void hb_steps_end(hb_steps *v, const hvb_result *r);
/* Print the STEP line of a call {id, function: {name, arguments}} with `result`. */
void hb_steps_print_call(hb_steps *v, int step, const char *name, const char *args,
                         const char *result);

#endif
