/* core/text/protobuf.c: the protobuf writer (see protobuf.h). Wire types: 0 varint,
 * 1 fixed64, 2 length-delimited, 5 fixed32. Integers are little-endian on the wire. */
#include "text/protobuf.h"

#include <string.h>

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* The bytes of varint `v` into out (at most 10); returns how many. */
static size_t varint_bytes(uint64_t v, uint8_t out[10]) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

static void varint(GByteArray *b, uint64_t v) {
  uint8_t buf[10];
  g_byte_array_append(b, buf, (guint)varint_bytes(v, buf));
}

static void tag(GByteArray *b, unsigned field, unsigned wire) {
  varint(b, ((uint64_t)field << 3) | wire);
}

static void little_endian(GByteArray *b, uint64_t v, size_t n) {
  uint8_t buf[8];
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(v >> (8 * i));
  g_byte_array_append(b, buf, (guint)n);
}

void hvb__pb_varint_field(GByteArray *b, unsigned field, uint64_t v) {
  tag(b, field, WIRE_VARINT);
  varint(b, v);
}

void hvb__pb_bool_field(GByteArray *b, unsigned field, bool v) {
  hvb__pb_varint_field(b, field, v ? 1 : 0);
}

void hvb__pb_fixed32_field(GByteArray *b, unsigned field, uint32_t v) {
  tag(b, field, WIRE_I32);
  little_endian(b, v, 4);
}

void hvb__pb_fixed64_field(GByteArray *b, unsigned field, uint64_t v) {
  tag(b, field, WIRE_I64);
  little_endian(b, v, 8);
}

void hvb__pb_double_field(GByteArray *b, unsigned field, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits); /* IEEE 754 binary64, as protobuf's double is */
  hvb__pb_fixed64_field(b, field, bits);
}

void hvb__pb_bytes_field(GByteArray *b, unsigned field, const void *data, size_t len) {
  tag(b, field, WIRE_LEN);
  varint(b, len);
  if (len) g_byte_array_append(b, data, (guint)len);
}

void hvb__pb_string_field(GByteArray *b, unsigned field, const char *s) {
  hvb__pb_bytes_field(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t hvb__pb_begin(GByteArray *b) {
  return b->len;
}

void hvb__pb_end(GByteArray *b, unsigned field, size_t mark) {
  size_t body = b->len - mark;
  uint8_t head[20];
  size_t n = varint_bytes(((uint64_t)field << 3) | WIRE_LEN, head);
  n += varint_bytes(body, head + n);
  g_byte_array_set_size(b, (guint)(b->len + n));
  memmove(b->data + mark + n, b->data + mark, body);
  memcpy(b->data + mark, head, n);
}
