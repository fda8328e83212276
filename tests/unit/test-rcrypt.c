/* tests/unit/test-rcrypt.c: the Redis backend's encryption of entries at rest (rcrypt.h):
 * AES-256-GCM through OpenSSL; keys as hex or base64; a value opens only with its key and its
 * Redis key, and anything else (another key, one byte changed, cut short, foreign) does not. */
#include "config.h"
#include "rcrypt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *hex_a = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/* The same 32 bytes in base64. */
static const char *b64_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char *hex_b = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
static const char *secret = "echo: the capital of France is Paris";

static rcrypt *make(const char *text, const char *prev_text) {
  unsigned char k[RCRYPT_KEY_LEN], p[RCRYPT_KEY_LEN];
  ck_assert(rcrypt_parse_key(text, k));
  if (prev_text) ck_assert(rcrypt_parse_key(prev_text, p));
  rcrypt *c = rcrypt_new(k, prev_text ? p : NULL);
  ck_assert_ptr_nonnull(c);
  return c;
}

START_TEST(keys_as_hex_or_base64_and_refusals) {
  unsigned char a[RCRYPT_KEY_LEN], b[RCRYPT_KEY_LEN];
  ck_assert(rcrypt_parse_key(hex_a, a));
  ck_assert(rcrypt_parse_key(b64_a, b));
  ck_assert_mem_eq(a, b, RCRYPT_KEY_LEN);
  ck_assert_int_eq(a[31], 0x1f);
  char unpadded[64];
  snprintf(unpadded, sizeof unpadded, "%.43s", b64_a);
  ck_assert(rcrypt_parse_key(unpadded, b));
  ck_assert_mem_eq(a, b, RCRYPT_KEY_LEN);
  char upper[80];
  snprintf(upper, sizeof upper, "%s", hex_b);
  for (char *q = upper; *q; q++) *q = (char)(*q >= 'a' && *q <= 'f' ? *q - 32 : *q);
  ck_assert(rcrypt_parse_key(upper, a));
  ck_assert_int_eq(a[0], 0xff);
  const char *bad[] = {"", "00", "secret", /* 63 and 65 hex digits */
                       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
                       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",
                       "g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==", /* 31 bytes */
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",
                       "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(!rcrypt_parse_key(bad[i], a), "accepted bad key %zu", i);
  ck_assert(!rcrypt_parse_key(NULL, a));
}
END_TEST

START_TEST(seal_hides_and_opens) {
  rcrypt *c = make(hex_a, NULL);
  size_t n = 0, m = 0, pn = 0;
  unsigned char *s1 = rcrypt_seal(c, "hb:e:text:k1", secret, strlen(secret), &n);
  unsigned char *s2 = rcrypt_seal(c, "hb:e:text:k1", secret, strlen(secret), &m);
  ck_assert_ptr_nonnull(s1);
  ck_assert_uint_eq(n, strlen(secret) + RCRYPT_OVERHEAD);
  ck_assert_mem_eq(s1, "HVBX", 4);
  ck_assert_ptr_null(memmem(s1, n, "Paris", 5));
  /* A fresh nonce each time: the same entry seals differently. */
  ck_assert(memcmp(s1 + 6, s2 + 6, 12) != 0);
  ck_assert(memcmp(s1 + 18, s2 + 18, n - 18) != 0);
  void *p = NULL;
  ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k1", s1, n, &p, &pn), 1);
  ck_assert_uint_eq(pn, strlen(secret));
  ck_assert_mem_eq(p, secret, pn);
  free(p);
  /* An empty entry too. */
  unsigned char *e = rcrypt_seal(c, "hb:e:text:k0", "", 0, &m);
  ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k0", e, m, &p, &pn), 1);
  ck_assert_uint_eq(pn, 0);
  free(p);
  free(e);
  free(s1);
  free(s2);
  rcrypt_free(c);
}
END_TEST

START_TEST(what_does_not_open) {
  rcrypt *c = make(hex_a, NULL), *other = make(hex_b, NULL);
  size_t n = 0, pn = 0;
  unsigned char *s = rcrypt_seal(c, "hb:e:text:k1", secret, strlen(secret), &n);
  void *p = NULL;
  ck_assert_int_eq(rcrypt_open(other, "hb:e:text:k1", s, n, &p, &pn), 0); /* another key */
  ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k2", s, n, &p, &pn), 0);     /* another Redis key */
  for (size_t i = 0; i < n; i++) { /* every single byte changed */
    s[i] ^= 0x01;
    ck_assert_msg(rcrypt_open(c, "hb:e:text:k1", s, n, &p, &pn) == 0, "byte %zu", i);
    s[i] ^= 0x01;
  }
  for (size_t cut = 0; cut < n; cut++) /* cut short */
    ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k1", s, cut, &p, &pn), 0);
  const char *plain = "HVBE\1\2\3\4\5\6\7\10 an unencrypted entry of the same size ......";
  ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k1", plain, strlen(plain), &p, &pn), 0);
  ck_assert_int_eq(rcrypt_open(c, "hb:e:text:k1", s, n, &p, &pn), 1); /* still intact */
  free(p);
  free(s);
  rcrypt_free(c);
  rcrypt_free(other);
}
END_TEST

START_TEST(rotation_reads_the_previous_key) {
  rcrypt *old = make(hex_a, NULL), *rotated = make(hex_b, hex_a), *fresh = make(hex_b, NULL);
  size_t n = 0, m = 0, pn = 0;
  unsigned char *s = rcrypt_seal(old, "k", secret, strlen(secret), &n);
  void *p = NULL;
  ck_assert_int_eq(rcrypt_open(rotated, "k", s, n, &p, &pn), 1);
  ck_assert_mem_eq(p, secret, pn);
  free(p);
  ck_assert_int_eq(rcrypt_open(fresh, "k", s, n, &p, &pn), 0);
  /* New values are sealed with the new key: the old process cannot read them. */
  unsigned char *t = rcrypt_seal(rotated, "k", secret, strlen(secret), &m);
  ck_assert_int_ne(t[5], s[5]); /* the key id byte differs for these two keys */
  ck_assert_int_eq(rcrypt_open(old, "k", t, m, &p, &pn), 0);
  ck_assert_int_eq(rcrypt_open(fresh, "k", t, m, &p, &pn), 1);
  free(p);
  free(s);
  free(t);
  rcrypt_free(old);
  rcrypt_free(rotated);
  rcrypt_free(fresh);
}
END_TEST

int main(void) {
  if (!rcrypt_available()) {
    fprintf(stderr, "encryption not tested: this build has no OpenSSL\n");
    return 77;
  }
  Suite *s = suite_create("rcrypt");
  TCase *tc = tcase_create("aes-gcm");
  tcase_add_test(tc, keys_as_hex_or_base64_and_refusals);
  tcase_add_test(tc, seal_hides_and_opens);
  tcase_add_test(tc, what_does_not_open);
  tcase_add_test(tc, rotation_reads_the_previous_key);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
