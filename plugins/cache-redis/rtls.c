/* TLS for rconn. */
#include "rconn.h"

#include <stdlib.h>

struct rtls_ctx { int unused; };
struct rtls { int unused; };
rtls_ctx *rtls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       char **err) {
  if (err && !*err) *err = rclient_strf("redis: TLS is not built in yet");
  return NULL;
}
void rtls_ctx_free(rtls_ctx *t) {}
rtls *rtls_open(rtls_ctx *t, int fd, const char *name, int64_t deadline, char **err) { return NULL; }
void rtls_close(rtls *s) {}
long rtls_read(rtls *s, char *buf, size_t len, short *want) { *want = 0; return -1; }
long rtls_write(rtls *s, const char *buf, size_t len, short *want) { *want = 0; return -1; }
bool rtls_pending(rtls *s) { return false; }
