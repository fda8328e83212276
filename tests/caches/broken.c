/* tests/caches/broken.c: cache backend fixtures that must be refused, one per build flag
 * (Makefile.am): BROKEN_BADMAGIC, BROKEN_MAJOR, BROKEN_MINOR, BROKEN_NOSYM, BROKEN_INIT, and a
 * descriptor named BROKEN_NAME (file hb-cache-misnamed.so says "othername"). */
#define HVB_CACHE_BACKEND_PLUGIN 1
#include <heavenbase/cache-backend.h>

#include <glib.h>

#ifdef BROKEN_NOSYM
/* Exports something, but not hvb_cache_backend_query. */
HVB_ATTR_VISIBLE int hvb_cache_backend_other(void);
HVB_ATTR_VISIBLE int hvb_cache_backend_other(void) {
  return 1;
}
#else
static void *b_open(json_object *o, hvb_error *e) {
  (void)o;
  (void)e;
  return NULL;
}
static int b_get(void *i, const char *ns, const char *k, void **d, size_t *l, hvb_error *e) {
  (void)i, (void)ns, (void)k, (void)d, (void)l, (void)e;
  return 0;
}
static bool b_put(void *i, const char *ns, const char *k, const void *d, size_t l, int64_t t,
                  hvb_error *e) {
  (void)i, (void)ns, (void)k, (void)d, (void)l, (void)t, (void)e;
  return true;
}
#ifdef BROKEN_INIT
static bool b_init(const hvb_cache_backend_host *host, hvb_error *err) {
  return host->fail(err, HVB_CONFIG, "initfail: refuses to start (test)");
}
#else
#define b_init NULL
#endif

HVB_ATTR_HIDDEN const hvb_cache_backend_host *hvb_cache_backend_host_;
static const hvb_cache_backend_descriptor d = {
#ifdef BROKEN_BADMAGIC
    .magic = 0x12345678u,
#else
    .magic = HVB_CACHE_BACKEND_MAGIC,
#endif
#ifdef BROKEN_MAJOR
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR + 1,
#else
    .abi_major = HVB_CACHE_BACKEND_ABI_MAJOR,
#endif
#ifdef BROKEN_MINOR
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR + 1,
#else
    .abi_minor = HVB_CACHE_BACKEND_ABI_MINOR,
#endif
    .struct_size = (uint32_t)sizeof(hvb_cache_backend_descriptor),
    .name = G_STRINGIFY(BROKEN_NAME),
    .version = "0",
    .caps = HVB_CACHE_BACKEND_CAP_ENTRIES,
    .init = b_init,
    .open = b_open,
    .get = b_get,
    .put = b_put,
    .host_slot = &hvb_cache_backend_host_,
};
HVB_ATTR_VISIBLE const hvb_cache_backend_descriptor *hvb_cache_backend_query(void);
HVB_ATTR_VISIBLE const hvb_cache_backend_descriptor *hvb_cache_backend_query(void) {
  return &d;
}
#endif
