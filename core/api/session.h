/* core/api/session.h: the session object shared by its files (session.c: turns and history;
 * session-context.c: the context limit; session-json.c: save and load). */
#ifndef HVB_API_SESSION_H
#define HVB_API_SESSION_H

#include <glib.h>
#include <heavenbase/session.h>

struct hvb_session {
  hvb_llm *llm;           /* borrowed */
  const hvb_tools *tools; /* borrowed, may be NULL */
  char *system;           /* NULL when none */
  json_object *messages;  /* the history, without the system prompt */
  json_object *call_options; /* the "call_options" option (object) */
  long context_window;       /* -1: from the catalog; 0: no limit */
  bool summarize;            /* context_strategy "summarize" */
  json_object *usage;        /* summed over the turns */
  GMutex lock;               /* guards busy, messages and usage against the engine thread */
  bool busy;
};

/* Read the options object into `s` (new session or load). false with HVB_EINVAL naming it. */
bool hvb__session_options(hvb_session *s, json_object *options, hvb_error *err);
/* The options as saved (new object). */
json_object *hvb__session_options_json(const hvb_session *s);

/* Make room in the history for the request `request_opts` (merged call options) so that
 * [system] + history fits the context window: drop (or summarise) the oldest turns. false with
 * err set when the newest turn alone does not fit, or the summary call failed. */
bool hvb__session_fit(hvb_session *s, json_object *request_opts, hvb_error *err);

#endif
