/* core/net/mcp-http.h: the Streamable HTTP link's parts shared by its synchronous exchange
 * (core/net/mcp-http.c) and its engine-driven mode (core/net/mcp-http-async.c). Internal to
 * those two files. */
#ifndef HVB_NET_MCP_HTTP_H
#define HVB_NET_MCP_HTTP_H

#include "net/mcp-link.h"
#include "net/transport.h"
#include "text/sse.h"

#define HVB_MCP_HTTP_MAX_REPLY (64u << 20)

typedef struct hvb_mcp_hub hvb_mcp_hub;

typedef struct hvb_mcp_http {
  hvb_mcp_link base;
  hvb_client *client;
  char *url;
  GPtrArray *headers; /* "Name: value" (the caller's), NULL-terminated on use */
  char *session, *version;
  hvb_mcp_hub *hub; /* the engine-driven mode's state (mcp-http-async.c); NULL until used */
} hvb_mcp_http;

/* The request's header lines (NULL-terminated, g_strfreev): the caller's, Accept for a
 * message, the session id and the protocol version once known. */
char **hvb__mcp_http_headers(hvb_mcp_http *h, bool message);
/* A message (an object) or a batch (an array of them) in `text` to `in`. */
void hvb__mcp_http_push_json(GQueue *in, const char *text, size_t len);
/* Reads a POST's reply as it arrives into `out`: an SSE stream (text/event-stream) event by
 * event, a JSON body whole at the end (hvb__mcp_reader_end). `t` is the transfer it reads
 * (set by the owner once made: the content type decides). */
typedef struct hvb_mcp_reader {
  hvb_transfer *t;
  hvb_sse *sse; /* made at the first bytes of an event stream */
  GString *body;
  GQueue *out;
} hvb_mcp_reader;
void hvb__mcp_reader_init(hvb_mcp_reader *r, GQueue *out);
hvb_sink_rc hvb__mcp_reader_sink(void *r, const char *data, size_t len, hvb_error *err);
void hvb__mcp_reader_reset(void *r); /* what a failed attempt gave is dropped */
void hvb__mcp_reader_end(hvb_mcp_reader *r); /* the reply is complete */
void hvb__mcp_reader_clear(hvb_mcp_reader *r);

/* A response's Mcp-Session-Id (may be "") becomes ours. */
void hvb__mcp_http_adopt(hvb_mcp_http *h, const char *sid);
/* A request that carried our session failed with `err`: a 404 means the server dropped the
 * session (the id and version are forgotten, session_lost raised). Prefixes the message. */
void hvb__mcp_http_failed(hvb_mcp_http *h, bool had_session, hvb_error *err);

/* Engine-driven mode (mcp-http-async.c): the link ops, and the end of it at close. */
bool hvb__mcp_http_attach(hvb_mcp_link *l, GQueue *in,
                          void (*ready)(void *data, const hvb_error *gone), void *data,
                          hvb_error *err);
bool hvb__mcp_http_post(hvb_mcp_link *l, json_object *msg, hvb_error *err);
void hvb__mcp_http_detach(hvb_mcp_link *l);
void hvb__mcp_http_hub_drop(hvb_mcp_http *h);

#endif
