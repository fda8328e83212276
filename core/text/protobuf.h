/* core/text/protobuf.h: a small protobuf writer (core/text/protobuf.c), enough to encode the
 * OTLP trace messages (core/net/otlp.c) without a protobuf library.
 *
 * Messages are written into a GByteArray. A nested message is written in place: note the
 * offset with hvb__pb_begin, write its fields, and hvb__pb_end puts the field's tag and
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

void hvb__pb_varint_field(GByteArray *b, unsigned field, uint64_t v); /* int64, uint32, enum */
void hvb__pb_bool_field(GByteArray *b, unsigned field, bool v);
void hvb__pb_fixed32_field(GByteArray *b, unsigned field, uint32_t v);
void hvb__pb_fixed64_field(GByteArray *b, unsigned field, uint64_t v);
void hvb__pb_double_field(GByteArray *b, unsigned field, double v);
void hvb__pb_bytes_field(GByteArray *b, unsigned field, const void *data, size_t len);
void hvb__pb_string_field(GByteArray *b, unsigned field, const char *s); /* NULL: "" */

/* Start a nested message; returns the mark to give hvb__pb_end. */
size_t hvb__pb_begin(GByteArray *b);
/* End the nested message begun at `mark` as field `field`. */
void hvb__pb_end(GByteArray *b, unsigned field, size_t mark);

#endif
