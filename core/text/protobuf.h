/* core/text/protobuf.h: a small protobuf writer (core/text/protobuf.c), enough to encode the
 * OTLP trace messages (core/net/otlp.c) without a protobuf library.
 *
 * Messages are written into an hvb_pb, a growable byte buffer (writes are inline appends:
 * a GByteArray's function call per append cost more than the encoding itself). A nested
 * message is written in place: note the offset with hvb__pb_begin, write its fields, and hvb__pb_end puts the field's tag and
 * length in front of them (one memmove), so no message needs its size known in advance.
 * Proto3 rules are the caller's: a field at its default value may simply not be written.
 *
 * Thread safety: pure functions over the caller's buffer.
 */
#ifndef HVB_TEXT_PROTOBUF_H
#define HVB_TEXT_PROTOBUF_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hvb_pb {
  uint8_t *data;
  size_t len, cap;
} hvb_pb;

hvb_pb *hvb__pb_new(size_t capacity);
void hvb__pb_free(hvb_pb *b); /* NULL is a no-op */
/* Append `n` raw bytes. */
void hvb__pb_append(hvb_pb *b, const void *data, size_t n);

void hvb__pb_varint_field(hvb_pb *b, unsigned field, uint64_t v); /* int64, uint32, enum */
void hvb__pb_bool_field(hvb_pb *b, unsigned field, bool v);
void hvb__pb_fixed32_field(hvb_pb *b, unsigned field, uint32_t v);
void hvb__pb_fixed64_field(hvb_pb *b, unsigned field, uint64_t v);
void hvb__pb_double_field(hvb_pb *b, unsigned field, double v);
void hvb__pb_bytes_field(hvb_pb *b, unsigned field, const void *data, size_t len);
void hvb__pb_string_field(hvb_pb *b, unsigned field, const char *s); /* NULL: "" */

/* Bytes a length-delimited field `field` with a payload of `len` bytes takes, and the
 * header (tag and length) of such a field, its payload to be written next: a message whose
 * size is known up front is written without hvb__pb_begin/end's memmove. */
size_t hvb__pb_len_field_size(unsigned field, size_t len);
size_t hvb__pb_varint_size(uint64_t v);
void hvb__pb_len_header(hvb_pb *b, unsigned field, size_t len);

/* Start a nested message; returns the mark to give hvb__pb_end. */
size_t hvb__pb_begin(hvb_pb *b);
/* End the nested message begun at `mark` as field `field`. */
void hvb__pb_end(hvb_pb *b, unsigned field, size_t mark);

#endif
