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

hvb_pb *hvb__pb_new(size_t capacity) {
  hvb_pb *b = g_new(hvb_pb, 1);
  b->cap = capacity ? capacity : 64;
  b->data = g_malloc(b->cap);
  b->len = 0;
  return b;
}

void hvb__pb_free(hvb_pb *b) {
  if (!b) return;
  g_free(b->data);
  g_free(b);
}

static void reserve(hvb_pb *b, size_t n) {
  if (b->len + n <= b->cap) return;
  while (b->len + n > b->cap) b->cap *= 2;
  b->data = g_realloc(b->data, b->cap);
}

void hvb__pb_append(hvb_pb *b, const void *data, size_t n) {
  reserve(b, n);
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
}

static void varint(hvb_pb *b, uint64_t v) {
  reserve(b, 10);
  b->len += varint_bytes(v, b->data + b->len);
}

static void tag(hvb_pb *b, unsigned field, unsigned wire) {
  varint(b, ((uint64_t)field << 3) | wire);
}

static void little_endian(hvb_pb *b, uint64_t v, size_t n) {
  reserve(b, n);
  for (size_t i = 0; i < n; i++) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}

void hvb__pb_varint_field(hvb_pb *b, unsigned field, uint64_t v) {
  tag(b, field, WIRE_VARINT);
  varint(b, v);
}

void hvb__pb_bool_field(hvb_pb *b, unsigned field, bool v) {
  hvb__pb_varint_field(b, field, v ? 1 : 0);
}

void hvb__pb_fixed32_field(hvb_pb *b, unsigned field, uint32_t v) {
  tag(b, field, WIRE_I32);
  little_endian(b, v, 4);
}

void hvb__pb_fixed64_field(hvb_pb *b, unsigned field, uint64_t v) {
  tag(b, field, WIRE_I64);
  little_endian(b, v, 8);
}

void hvb__pb_double_field(hvb_pb *b, unsigned field, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits); /* IEEE 754 binary64, as protobuf's double is */
  hvb__pb_fixed64_field(b, field, bits);
}

void hvb__pb_bytes_field(hvb_pb *b, unsigned field, const void *data, size_t len) {
  tag(b, field, WIRE_LEN);
  varint(b, len);
  hvb__pb_append(b, data, len);
}

void hvb__pb_string_field(hvb_pb *b, unsigned field, const char *s) {
  hvb__pb_bytes_field(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t hvb__pb_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

size_t hvb__pb_len_field_size(unsigned field, size_t len) {
  return hvb__pb_varint_size((uint64_t)field << 3) + hvb__pb_varint_size(len) + len;
}

void hvb__pb_len_header(hvb_pb *b, unsigned field, size_t len) {
  tag(b, field, WIRE_LEN);
  varint(b, len);
}

size_t hvb__pb_begin(hvb_pb *b) {
  return b->len;
}

void hvb__pb_end(hvb_pb *b, unsigned field, size_t mark) {
  size_t body = b->len - mark;
  uint8_t head[20];
  size_t n = varint_bytes(((uint64_t)field << 3) | WIRE_LEN, head);
  n += varint_bytes(body, head + n);
  reserve(b, n);
  b->len += n;
  memmove(b->data + mark + n, b->data + mark, body);
  memcpy(b->data + mark, head, n);
}
