/* core/text/json-write.h: a JSON writer of our own, for request bodies.
 *
 * json-c prints a tree through its printbuf, one formatted append per token, and escapes
 * strings byte by byte; a request body is mostly one long string (the prompt or the
 * messages). The writer appends to one growable buffer, copies plain runs of a string at
 * once, and prints exactly what json-c prints with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE (the flags the wire request uses): the same escapes
 * (\b \f \n \r \t \" \\, \u00xx in lower case for the other control characters, every other
 * byte as it is, invalid UTF-8 included, as json-c passes it), members in the object's
 * order, numbers as json-c prints them (doubles and numbers that keep their source text go
 * through json-c's own printer). tests/unit/test-json-write.c holds it to json-c byte for
 * byte.
 *
 * Not thread-safe per writer; allocation failure aborts (glib), as elsewhere in the core.
 */
#ifndef HVB_TEXT_JSON_WRITE_H
#define HVB_TEXT_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

typedef struct {
  char *buf; /* NUL-terminated after every append */
  size_t len, cap;
} hvb_json_writer;

/* An empty writer with room for `hint` bytes (0: a small default). */
void hvb__jw_init(hvb_json_writer *w, size_t hint);
/* Free the buffer (the writer may be reused after hvb__jw_init). */
void hvb__jw_clear(hvb_json_writer *w);
/* The text (g_free), its length in *len; the writer is left empty. */
char *hvb__jw_steal(hvb_json_writer *w, size_t *len);

/* Room for `more` bytes and the NUL after them, for a caller that writes buf itself. */
void hvb__jw_reserve(hvb_json_writer *w, size_t more);
void hvb__jw_raw(hvb_json_writer *w, const char *s, size_t n);
/* A JSON string of `n` bytes of `s`, quoted and escaped as above. */
void hvb__jw_string(hvb_json_writer *w, const char *s, size_t n);
void hvb__jw_int(hvb_json_writer *w, int64_t v);
/* A json-c value (NULL: null) as json-c would print it with the flags above. */
void hvb__jw_value(hvb_json_writer *w, json_object *v);

/* The whole value as a new string (g_free), its length in *len. */
char *hvb__json_write(json_object *v, size_t *len);

#endif
