/* core/text/repair-lex.c: the lexical helpers of the repair scanner (see repair-scan.h):
 * UTF-8 sequences, \u escapes, numbers in the forms models write them.
 */
#include "text/repair-scan.h"

static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* UTF-8 sequence at p: its length when valid, 0 when invalid, -1 when the input ends inside
 * a sequence that was valid so far. */
int hvb__repair_utf8_seq(const unsigned char *p, size_t avail) {
  unsigned char c = p[0];
  int n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0xC2) return 0;
  if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* surrogates */
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < n; k++) {
    if ((size_t)k >= avail) return -1;
    if (p[k] < lo || p[k] > hi) return 0;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

static int hex_value(unsigned char c) {
  if (is_digit(c)) return c - '0';
  c = (unsigned char)g_ascii_tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits at p: 1 with *out set, 0 when not hex, -1 when the input ends first. */
int hvb__repair_hex4(const unsigned char *p, size_t avail, unsigned *out) {
  unsigned v = 0;
  for (size_t k = 0; k < 4; k++) {
    if (k >= avail) return -1;
    int h = hex_value(p[k]);
    if (h < 0) return 0;
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 1;
}

/* Rewrite number text `t` in JSON form into `out`: drop a leading '+' and leading zeros,
 * give '.5' its 0 and '5.' its fraction, drop an exponent without digits. False when it is
 * not a number at all. */
bool hvb__repair_number(const unsigned char *t, size_t n, GString *out, bool *changed,
                             bool *is_int) {
  size_t i = 0, digits = 0;
  *changed = false;
  *is_int = true;
  g_string_truncate(out, 0);
  if (i < n && t[i] == '+') {
    i++;
    *changed = true;
  } else if (i < n && t[i] == '-') {
    g_string_append_c(out, '-');
    i++;
  }
  size_t d = i;
  while (i < n && is_digit(t[i])) i++;
  digits += i - d;
  if (i == d) {
    g_string_append_c(out, '0');
    *changed = true;
  } else {
    size_t z = d;
    while (z + 1 < i && t[z] == '0') z++;
    if (z > d) *changed = true;
    g_string_append_len(out, (const char *)t + z, (gssize)(i - z));
  }
  if (i < n && t[i] == '.') {
    size_t f = ++i;
    while (i < n && is_digit(t[i])) i++;
    digits += i - f;
    *is_int = false;
    g_string_append_c(out, '.');
    if (i == f) {
      g_string_append_c(out, '0');
      *changed = true;
    } else {
      g_string_append_len(out, (const char *)t + f, (gssize)(i - f));
    }
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    size_t e = i++;
    if (i < n && (t[i] == '+' || t[i] == '-')) i++;
    size_t f = i;
    while (i < n && is_digit(t[i])) i++;
    if (i == f) {
      *changed = true;
    } else {
      *is_int = false;
      g_string_append_len(out, (const char *)t + e, (gssize)(i - e));
    }
  }
  return i == n && digits > 0;
}

