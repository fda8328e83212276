/* AES-256-GCM for entries at rest in Redis (rcrypt.h). OpenSSL rather than GLib: GLib has no
 * cipher at all, and the plugin already links OpenSSL for TLS (the TLS library libcurl loads
 * into every process of ours), so encryption adds no dependency. A fresh random 96-bit nonce per
 * value (RAND_bytes, fork-safe since OpenSSL 1.1.1): with one key, 2^32 values keep the chance
 * of a repeated nonce negligible, and a cache's values are far fewer between rotations. */
#include "config.h"
#include "rcrypt.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "HVBX"
#define FORMAT_AES256GCM 0x01
#define NONCE_LEN 12
#define TAG_LEN 16
#define HEAD_LEN (4 + 1 + 1 + NONCE_LEN)

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  ch = tolower(ch);
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static bool parse_hex(const char *t, unsigned char *key) {
  if (strlen(t) != 2 * RCRYPT_KEY_LEN) return false;
  for (size_t i = 0; i < RCRYPT_KEY_LEN; i++) {
    int hi = hexval((unsigned char)t[2 * i]), lo = hexval((unsigned char)t[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    key[i] = (unsigned char)(hi << 4 | lo);
  }
  return true;
}

static int b64val(int ch) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *p = ch ? strchr(alphabet, ch) : NULL;
  return p ? (int)(p - alphabet) : -1;
}

/* Base64 of exactly 32 bytes: 43 symbols and one '=' (the padding may be left out). */
static bool parse_base64(const char *t, unsigned char *key) {
  size_t len = strlen(t);
  if (!(len == 44 && t[43] == '=') && len != 43) return false;
  unsigned char out[33];
  unsigned acc = 0;
  int bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < 43; i++) {
    int v = b64val((unsigned char)t[i]);
    if (v < 0) return false;
    acc = (acc << 6 | (unsigned)v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (unsigned char)(acc >> bits);
    }
  }
  if (n != RCRYPT_KEY_LEN) return false;
  memcpy(key, out, RCRYPT_KEY_LEN);
  return true;
}

bool rcrypt_parse_key(const char *text, unsigned char key[RCRYPT_KEY_LEN]) {
  return text && (parse_hex(text, key) || parse_base64(text, key));
}

#ifdef HVB_REDIS_TLS
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

typedef struct rkey {
  unsigned char key[RCRYPT_KEY_LEN];
  unsigned char id;
  bool set;
} rkey;

struct rcrypt {
  rkey cur, prev;
};

bool rcrypt_available(void) { return true; }

static bool key_init(rkey *k, const unsigned char *key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  memcpy(k->key, key, RCRYPT_KEY_LEN);
  if (!EVP_Digest(key, RCRYPT_KEY_LEN, md, &mdlen, EVP_sha256(), NULL)) return false;
  k->id = md[0];
  k->set = true;
  OPENSSL_cleanse(md, sizeof md);
  return true;
}

rcrypt *rcrypt_new(const unsigned char key[RCRYPT_KEY_LEN], const unsigned char *previous) {
  rcrypt *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (!key_init(&c->cur, key) || (previous && !key_init(&c->prev, previous))) {
    rcrypt_free(c);
    return NULL;
  }
  return c;
}

void rcrypt_free(rcrypt *c) {
  if (!c) return;
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

/* One GCM pass: encrypt (enc=1: in -> out, tag written) or decrypt (enc=0: tag checked). */
static bool gcm(int enc, const rkey *k, const unsigned char *nonce, const char *aad,
                const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag) {
  EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
  int len = 0;
  bool ok = x && n <= (size_t)INT32_MAX &&
            EVP_CipherInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
            EVP_CipherInit_ex(x, NULL, NULL, k->key, nonce, enc) == 1 &&
            EVP_CipherUpdate(x, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
            (n == 0 || EVP_CipherUpdate(x, out, &len, in, (int)n) == 1) &&
            (enc || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
            EVP_CipherFinal_ex(x, out + (n ? len : 0), &len) == 1 &&
            (!enc || EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);
  EVP_CIPHER_CTX_free(x);
  return ok;
}

unsigned char *rcrypt_seal(const rcrypt *c, const char *aad, const void *plain, size_t n,
                           size_t *out_len) {
  unsigned char *v = malloc(n + RCRYPT_OVERHEAD);
  if (!v) return NULL;
  memcpy(v, MAGIC, 4);
  v[4] = FORMAT_AES256GCM;
  v[5] = c->cur.id;
  if (RAND_bytes(v + 6, NONCE_LEN) != 1 ||
      !gcm(1, &c->cur, v + 6, aad, plain, n, v + HEAD_LEN, v + HEAD_LEN + n)) {
    free(v);
    return NULL;
  }
  *out_len = n + RCRYPT_OVERHEAD;
  return v;
}

int rcrypt_open(const rcrypt *c, const char *aad, const void *sealed, size_t n, void **plain,
                size_t *plain_len) {
  const unsigned char *s = sealed;
  if (n < RCRYPT_OVERHEAD || memcmp(s, MAGIC, 4) != 0 || s[4] != FORMAT_AES256GCM) return 0;
  size_t len = n - RCRYPT_OVERHEAD;
  unsigned char tag[TAG_LEN];
  memcpy(tag, s + HEAD_LEN + len, TAG_LEN);
  unsigned char *out = malloc(len ? len : 1);
  if (!out) return -1;
  const rkey *keys[] = {&c->cur, &c->prev};
  for (size_t i = 0; i < 2; i++) {
    /* Two keys may share an id byte (1 in 256): try each key that has it. */
    if (!keys[i]->set || keys[i]->id != s[5]) continue;
    if (gcm(0, keys[i], s + 6, aad, s + HEAD_LEN, len, out, tag)) {
      *plain = out;
      *plain_len = len;
      return 1;
    }
  }
  OPENSSL_cleanse(out, len ? len : 1);
  free(out);
  return 0;
}

#else /* no OpenSSL */

bool rcrypt_available(void) { return false; }
rcrypt *rcrypt_new(const unsigned char key[RCRYPT_KEY_LEN], const unsigned char *previous) {
  (void)key;
  (void)previous;
  return NULL;
}
void rcrypt_free(rcrypt *c) { (void)c; }
unsigned char *rcrypt_seal(const rcrypt *c, const char *aad, const void *plain, size_t n,
                           size_t *out_len) {
  (void)c, (void)aad, (void)plain, (void)n, (void)out_len;
  return NULL;
}
int rcrypt_open(const rcrypt *c, const char *aad, const void *sealed, size_t n, void **plain,
                size_t *plain_len) {
  (void)c, (void)aad, (void)sealed, (void)n, (void)plain, (void)plain_len;
  return 0;
}
#endif
