/* tests/upstream/upstream.h: a scriptable fake provider server for HTTP tests.
 *
 * An HTTP/1.1 server on 127.0.0.1 (ephemeral port) running in its own thread inside the
 * test process (or as the standalone tests/upstream/hb-upstream for shell tests). It replays
 * scripted responses and records every request it received, so tests assert both what the
 * library sent and what the user gets back. Keep-alive is supported: several requests may
 * arrive on one connection, and the server counts connections so tests can check reuse.
 *
 * Scripting: responses are queued per path ("/v1/chat/completions"); each request to a path
 * takes the next queued response; when a path's queue holds one response marked `repeat`, it
 * is served for every later request. A request with no scripted response gets 404 with an
 * OpenAI-shaped error body naming the path.
 *
 * Thread safety: all functions may be called from the test thread while the server runs.
 */
#ifndef HVB_UPSTREAM_H
#define HVB_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct up_server up_server;

/* One piece of the body, sent after `delay_ms`. */
typedef struct up_chunk {
  const char *data;
  size_t len;     /* 0: strlen(data) */
  int delay_ms;
} up_chunk;

typedef struct up_response {
  int status;              /* 200 when 0 */
  const char *headers;     /* extra header lines, "Name: value\r\n" each, may be NULL */
  const char *content_type;/* NULL: application/json */
  const up_chunk *chunks;  /* body pieces, copied by up_push */
  int nchunks;
  bool chunked;            /* Transfer-Encoding: chunked (else Content-Length of all chunks) */
  int close_after;         /* >0: close the connection after this many chunks, without
                              finishing the body (a connection dropped mid-stream) */
  int stall_ms;            /* >0: after the chunks, keep the connection open and silent this
                              long before finishing (for idle-timeout tests) */
  bool repeat;             /* serve this response for every later request to the path */
  int embed_dim;           /* >0: ignore chunks and answer an OpenAI embeddings request
                              {"input": string or [strings]} with {"data": [{"index": i,
                              "embedding": [...]}], "usage"}: vector j of text t holds the
                              bytes of t as numbers (t[0], t[1], ...) padded with zeros to
                              embed_dim values, so a test can tell which text a vector is for;
                              usage counts one token per input */
  bool echo;               /* ignore chunks and answer a chat request with "echo: " + the
                              content of its last message: a chat.completion, or with
                              "stream": true an SSE stream (deltas "echo: " and the text,
                              finish_reason "stop", [DONE]); lets concurrent calls each
                              check their own reply */
  int first_times;         /* >1: the first chunk is sent this many times over (its delay
                              before each), then the others once: a huge body (a stream of
                              hundreds of MB) without holding it in the script */
} up_response;

/* Start a server. Never NULL (aborts the test process on socket failure). */
up_server *up_start(void);
/* Stop the thread, close every connection, free everything. */
void up_stop(up_server *s);

int up_port(const up_server *s);
/* "http://127.0.0.1:PORT", valid until up_stop. */
const char *up_base_url(const up_server *s);

/* Queue a response for `path` (copied, chunks included). */
void up_push(up_server *s, const char *path, const up_response *resp);

/* Shorthands: one-chunk body with status and content type (NULL: application/json). */
void up_push_body(up_server *s, const char *path, int status, const char *content_type,
                  const char *body);
/* An SSE body given as one string, split into `nchunks` chunks of about equal size
 * (1: in one piece), with chunked encoding and text/event-stream. */
void up_push_sse(up_server *s, const char *path, const char *sse_text, int nchunks);

/* Transport faults for tests/faults, on top of a response. */
typedef struct up_faults {
  int head_delay_ms;   /* >0: wait this long after the request before sending anything (with
                          a large value: a server that accepts and never answers) */
  long content_length; /* >0: announce this Content-Length whatever the body's length (a body
                          shorter than announced); ignored when chunked */
  int write_size;      /* >0: send the whole response, headers included, in writes of this
                          many bytes with a short pause after each */
  int header_pad;      /* >0: add about this many bytes of header lines "X-Pad-N: ..." */
} up_faults;
/* up_push with faults (copied). In a script, a response's "head_delay_ms", "content_length",
 * "write_size" and "header_pad" set them; a script response may also give its body as
 * "body_base64" (any bytes: gzip, NUL, invalid UTF-8), and a chunk may say "times": N (sent N
 * times, each after its delay). */
void up_push_faults(up_server *s, const char *path, const up_response *resp,
                    const up_faults *faults);

/* Load a JSON script: {"routes": {"/path": [response, ...]}} where a response is
 * {"status": 200, "headers": {"Name": "value"}, "content_type": "...", "body": "..." or
 *  "chunks": [{"data": "...", "delay_ms": 0}], "chunked": false, "close_after": 0,
 *  "stall_ms": 0, "repeat": false, "embed_dim": 0, "echo": false, "first_times": 0}. Returns false (with a message on stderr) on bad input. */
bool up_load_script(up_server *s, const char *json_text);

/* What was received. */
typedef struct up_request {
  char *method;
  char *path;      /* without the query string */
  char *query;     /* "" when none */
  char *headers;   /* raw header block, lines "Name: value\r\n" */
  char *body;      /* NUL-terminated */
  size_t body_len;
} up_request;

int up_request_count(const up_server *s);
/* Requests received so far whose path (without the query) is `path`; recorded before the
 * response is sent, so a caller holding a response sees its request counted. */
int up_request_count_path(const up_server *s, const char *path);
int up_connection_count(const up_server *s);
/* Responses the server could not finish because the client closed the connection first (a
 * cancelled or timed-out transfer really went away), also while a delay (head_delay_ms, a
 * chunk's delay_ms) held the response back. */
int up_aborted_count(const up_server *s);
/* The i-th request received (0-based); a copy the caller frees with up_request_free. NULL
 * when there is no such request. */
up_request *up_request_get(const up_server *s, int i);
void up_request_free(up_request *r);
/* Value of header `name` (case-insensitive) of a recorded request; new string (free()) or
 * NULL when absent. */
char *up_request_header(const up_request *r, const char *name);

/* Call `fn` for each request as it is recorded, in the connection's thread and BEFORE the
 * response is sent, so that whoever got the response can rely on the hook having run (the
 * standalone server logs requests this way). `r` is valid during the call only. */
typedef void (*up_request_hook)(const up_request *r, void *user_data);
void up_set_request_hook(up_server *s, up_request_hook fn, void *user_data);

/* One part of a multipart/form-data request body (up_request_parts). */
typedef struct up_part {
  char *name;         /* the form field ("prompt", "image[]") */
  char *filename;     /* NULL for a plain field */
  char *content_type; /* NULL when the part has no Content-Type */
  char *data;         /* the part's bytes, NUL-terminated */
  size_t len;
} up_part;

/* The parts of a recorded multipart/form-data request, in order (tests/upstream/multipart.c;
 * the boundary comes from its Content-Type): a new array freed with up_parts_free, *n their
 * number. NULL with *n = 0 when the request is not multipart/form-data or its body does not
 * parse as one. */
up_part *up_request_parts(const up_request *r, size_t *n);
void up_parts_free(up_part *parts, size_t n);

/* Block until at least `n` requests were received or `timeout_ms` passed; true when reached. */
bool up_wait_requests(const up_server *s, int n, int timeout_ms);

#endif
