/* core/gateway/registry.c: gateway plugins, hb-gateway-<name>.so: the gateway kind of the
 * shared plugin loader (core/base/plugin.c, where the rules and their reasons are).
 *
 * The contract is in <heavenbase/registry.h> (search order, states, stages) and
 * <heavenbase/gateway.h> (the descriptor). What is the gateways' own:
 * - `openai` (core/gateway/openai.c) is built in and no file replaces it; the other built-in
 *   gateways (hvb__builtin_gateways) are examined after the files, and a file of the same
 *   name wins over them.
 * - A file that fails to bind (RTLD_NOW) is opened again RTLD_LAZY to read its descriptor, so
 *   that a plugin of a newer minor that calls host functions this library lacks is refused
 *   at stage "abi", saying it needs a newer library, rather than with a linker error.
 * - ABI 1.1 plugins call the library through the host table (host.c) and need no symbol from
 *   the process, so the library no longer promotes itself to RTLD_GLOBAL. ABI 1.0 plugins
 *   still resolve hvb_* in the global scope: they load in programs linked with libheavenbase
 *   (hb and anything built with `pkg-config --libs heavenbase`), not in a host that dlopen()ed
 *   the library RTLD_LOCAL. Their init takes only the error, and they have no parse_error.
 */
#include "gateway/gateway.h"
#include "base/common.h"
#include "base/plugin.h"

#include <string.h>

#define GATEWAYS_SUBDIR "heavenbase/gateways-" G_STRINGIFY(HVB_GATEWAY_ABI_MAJOR)

typedef hvb_gateway_record record;

/* Copy the descriptor's fields that lie inside its struct_size; the rest stay NULL/0. */
static void copy_descriptor(hvb_plugin_record *pr, const void *desc) {
  record *r = (record *)pr;
  const hvb_gateway_descriptor *d = desc;
  uint32_t size = d->struct_size;
  memset(&r->ops, 0, sizeof r->ops);
#define COPY(f) \
  if (HVB_PLUGIN_FIELD_INSIDE(hvb_gateway_descriptor, f, size)) r->ops.f = d->f
  COPY(magic);
  COPY(abi_major);
  COPY(abi_minor);
  COPY(struct_size);
  COPY(name);
  COPY(version);
  COPY(description);
  COPY(license);
  COPY(caps);
  COPY(init);
  COPY(fini);
  COPY(supports);
  COPY(prepare);
  COPY(parse);
  COPY(stream_begin);
  COPY(stream_end);
  COPY(parse_event);
  COPY(execute);
  COPY(parse_error);
  COPY(host_slot);
#undef COPY
  r->init_1_0 = NULL;
  if (d->abi_minor == 0) {
    /* 1.0's init took only the error; same slot, so convert the pointer, never call it as the
     * 1.1 type. 1.0 had no parse_error: its plugins got the OpenAI reading of error bodies
     * from the transport, and keep it. No host slot either. */
    memcpy(&r->init_1_0, &r->ops.init, sizeof r->init_1_0);
    r->ops.init = NULL;
    r->ops.parse_error = hvb__openai_parse_error;
    r->ops.host_slot = NULL;
  }
}

HVB_PLUGIN_DESCRIPTOR_CALLBACKS(hvb_gateway_descriptor, hvb_gateway_query_fn)

/* Hand a 1.1 plugin the host table and run its init (1.0's takes only the error). */
static bool init(hvb_plugin_record *pr, hvb_error *e) {
  record *r = (record *)pr;
  const hvb_gateway_host *host = hvb__gateway_host();
  if (r->ops.host_slot) *r->ops.host_slot = host;
  return r->ops.init ? r->ops.init(host, e) : r->init_1_0 ? r->init_1_0(e) : true;
}

static bool builtin(size_t i, const void **d) {
  for (size_t j = 0; j <= i; j++)
    if (!hvb__builtin_gateways[j]) return false;
  if (d) *d = hvb__builtin_gateways[i]();
  return true;
}

static const hvb_plugin_cap caps[] = {
    {HVB_GATEWAY_CAP_CHAT, "chat"},   {HVB_GATEWAY_CAP_STREAM, "stream"},
    {HVB_GATEWAY_CAP_EMBED, "embed"}, {HVB_GATEWAY_CAP_IMAGE, "image"},
    {HVB_GATEWAY_CAP_OFFLINE, "offline"}};

static const hvb_plugin_kind kind = {
    HVB_PLUGIN_KIND_LAYOUT(record, hvb_gateway_descriptor),
    .noun = "gateway",
    .file_prefix = "hb-gateway-",
    .subdir = GATEWAYS_SUBDIR,
    .path_env = "HB_GATEWAY_PATH",
    .system_env = "HB_GATEWAY_SYSTEM_DIR",
    .query_symbol = HVB_GATEWAY_QUERY_SYMBOL,
    .magic = HVB_GATEWAY_MAGIC,
    .abi_major = HVB_GATEWAY_ABI_MAJOR,
    .abi_minor = HVB_GATEWAY_ABI_MINOR,
    .abi_word = "ABI",
    .have_word = "ABI ",
    .nameless_message = true,
    .lazy_retry = true,
    .caps = caps,
    .n_caps = G_N_ELEMENTS(caps),
    .core = &hvb__gateway_openai,
    .builtin = builtin,
    .copy = copy_descriptor,
    .init = init,
};

static hvb_plugin_loader loader = {.kind = &kind};

/* ---- internal API ---- */

bool hvb__registry_setid(unsigned long ruid, unsigned long euid, unsigned long rgid,
                         unsigned long egid) {
  return hvb__plugin_setid(ruid, euid, rgid, egid);
}

char **hvb__registry_dirs(const char *const *api, bool secure) {
  return hvb__plugin_dirs(&kind, api, secure);
}

const hvb_gateway_record *hvb__registry_find(const char *name, char **why) {
  return (const record *)hvb__plugin_find(&loader, name, why);
}

void hvb__registry_reset_for_tests(void) {
  hvb__plugin_reset(&loader);
}

void hvb__registry_atfork(hvb_fork_phase phase) {
  hvb__plugin_atfork(&loader, phase);
}

/* ---- public API ---- */

HVB_PLUGIN_PUBLIC_API(hvb_gateway, hvb_gateway_record, loader)
HVB_PLUGIN_GETTER(hvb_gateway_record, hvb_gateway_record, description, const char *,
                  r->ops.description, NULL)
HVB_PLUGIN_GETTER(hvb_gateway_record, hvb_gateway_record, license, const char *, r->ops.license,
                  NULL)
HVB_PLUGIN_GETTER(hvb_gateway_record, hvb_gateway_record, caps, uint32_t, r->ops.caps, 0)
HVB_PLUGIN_GETTER(hvb_gateway_record, hvb_gateway_record, abi_major, unsigned, r->abi_major, 0)
HVB_PLUGIN_GETTER(hvb_gateway_record, hvb_gateway_record, abi_minor, unsigned, r->abi_minor, 0)
