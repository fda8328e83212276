/* plugins/cache-redis/rcrypt.h: the Redis backend's optional encryption of entries at rest,
 * AES-256-GCM through OpenSSL's EVP interface (the library the plugin already links for TLS;
 * GLib has no AES).
 *
 * A sealed value is
 *   "HVBX" | format 0x01 (AES-256-GCM) | key id (1 byte) | nonce (12 random bytes)
 *          | ciphertext | tag (16 bytes)
 * with the Redis key it is stored under as additional authenticated data: a value copied onto
 * another key does not open. The key id is a byte of the key's SHA-256 (nothing to number by
 * hand): a reader picks the current or the previous key by it, so keys can rotate; a value under
 * a key it does not have (or that fails authentication: tampered, truncated, foreign) does not
 * open, and the backend reads it as a miss.
 *
 * Keys are 32 bytes, given as 64 hex digits or as base64 (44 characters with padding). An
 * rcrypt holds its keys until rcrypt_free, which wipes them. Every function is thread-safe on a
 * shared rcrypt (it is read-only after rcrypt_new). Without OpenSSL (configure found none)
 * rcrypt_available is false and rcrypt_new returns NULL.
 */
#ifndef HVB_RCRYPT_H
#define HVB_RCRYPT_H

#include <stdbool.h>
#include <stddef.h>

#define RCRYPT_KEY_LEN 32
#define RCRYPT_OVERHEAD (4 + 1 + 1 + 12 + 16)

typedef struct rcrypt rcrypt;

/* Whether this build can encrypt (OpenSSL was found). */
bool rcrypt_available(void);

/* Parse a key's text (64 hex digits, or base64 of 32 bytes) into key[]; false when it is
 * neither (the text is never copied anywhere else). */
bool rcrypt_parse_key(const char *text, unsigned char key[RCRYPT_KEY_LEN]);

/* Seal with `key`; open with `key` or `previous` (NULL: none). Both are copied. NULL without
 * OpenSSL or when memory runs out. */
rcrypt *rcrypt_new(const unsigned char key[RCRYPT_KEY_LEN],
                   const unsigned char *previous);
void rcrypt_free(rcrypt *c);

/* `plain` sealed for the Redis key `aad`: a new buffer (malloc) of n + RCRYPT_OVERHEAD bytes in
 * *out_len, or NULL when OpenSSL fails (no random bytes, no memory). */
unsigned char *rcrypt_seal(const rcrypt *c, const char *aad, const void *plain, size_t n,
                           size_t *out_len);

/* 1: opened, *plain (malloc, caller frees) and *plain_len set; 0: not a value sealed with one
 * of our keys for this Redis key (foreign, tampered, truncated, another key); -1: no memory. */
int rcrypt_open(const rcrypt *c, const char *aad, const void *sealed, size_t n, void **plain,
                size_t *plain_len);

#endif
