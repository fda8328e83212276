/* heavenbase/registry.h: the gateways the library knows, and why a file was refused.
 *
 * Gateways are the built-in ones (`openai`, and `mock`, also shipped as a plugin file) plus
 * hb-gateway-<name>.so plugin files (see <heavenbase/gateway.h> for writing one). The library
 * searches, in this order:
 *   1. directories added with hvb_gateway_path_add (the CLI's `hb --gateway-path DIR`);
 *   2. $HB_GATEWAY_PATH, colon-separated;
 *   3. ${XDG_DATA_HOME:-$HOME/.local/share}/heavenbase/gateways-1 (the user's own plugins);
 *   4. $(libdir)/heavenbase/gateways-1, where packages install them
 *      (`pkg-config --variable=gatewaydir heavenbase`).
 * Environment variables (2, 3) are ignored in setuid and setgid processes.
 *
 * Loading is lazy. A lookup by name (hvb_gateway_lookup, or a spec asking for a gateway) opens
 * only the first hb-gateway-<name>.so found in those directories; `openai` opens nothing. A
 * built-in gateway other than `openai` serves when no directory has a file of its name (a file
 * wins over it; nothing can replace `openai`). Only a listing (hvb_gateway_count,
 * hvb_gateway_at) opens every file: in each directory the files named hb-gateway-*.so are
 * tried in name order; the first file of a name wins and later files of that name are recorded
 * as duplicates (never loaded). hvb_gateway_path_add after a listing scans again and records
 * the files that are new. A name keeps what it resolved to for the life of the process. Every
 * candidate file gets a record, loaded or not, so that `hb gateways list --all` can say why a
 * gateway is missing.
 *
 * Loading a file: first its permissions ("permissions"): the file, and the directory holding
 * it (and for a symbolic link the directory of its target), must be owned by the user running
 * the program (the effective user) or by root, and writable by their owner only, not by group
 * or others; otherwise someone else could have put code there, and the file is refused before
 * anything of it runs (state broken, the reason naming the file). Then
 * dlopen(RTLD_NOW | RTLD_LOCAL) ("open"; when binding fails, the file is opened RTLD_LAZY
 * just to read its descriptor, so that a plugin of a newer minor is reported at "abi" rather
 * than with the linker's error), look up hvb_gateway_query
 * ("symbol"), check the descriptor's magic ("magic"), ABI major equal and minor not newer
 * than the library's ("abi"), struct_size covering at least the fixed header ("struct"), the
 * descriptor's name equal to the file's <name> ("name"), then call init ("init"). A file that
 * passes is `loaded` and is never unloaded. A file that fails before init is unloaded again.
 * A broken FILE never crashes the host (bad ELF, missing symbols, wrong descriptor are all
 * reported); a plugin whose own code crashes (in its constructor, query or init) takes the
 * process with it, like any shared library: install plugins you trust.
 *
 * Ownership: records returned by hvb_gateway_at and hvb_gateway_lookup belong to the library
 * and stay valid for the life of the process; never free them. hvb_gateway_check returns a
 * record the caller owns (hvb_gateway_record_free). Strings are borrowed from their record.
 *
 * Thread safety: every function here may be called from any thread; the scan runs once under
 * a lock. A plugin's init must not call back into these functions.
 */
#ifndef HEAVENBASE_REGISTRY_H
#define HEAVENBASE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hvb_gateway_state {
  HVB_GATEWAY_STATE_BUILTIN = 0,      /* "builtin": compiled into the library */
  HVB_GATEWAY_STATE_LOADED = 1,       /* "loaded": usable */
  HVB_GATEWAY_STATE_INCOMPATIBLE = 2, /* "incompatible": built for another ABI */
  HVB_GATEWAY_STATE_BROKEN = 3,       /* "broken": cannot be loaded or refused to start */
  HVB_GATEWAY_STATE_DUPLICATE = 4     /* "duplicate": an earlier file (or openai) has the name,
                                         or a built-in gateway a file provides */
} hvb_gateway_state;

/* Where loading stopped (HVB_GATEWAY_STAGE_NONE for built-in, loaded and duplicate). */
typedef enum hvb_gateway_stage {
  HVB_GATEWAY_STAGE_NONE = 0, /* "" */
  HVB_GATEWAY_STAGE_OPEN,     /* "open": dlopen failed (not ELF, undefined symbol...) */
  HVB_GATEWAY_STAGE_SYMBOL,   /* "symbol": no hvb_gateway_query, or it returned NULL */
  HVB_GATEWAY_STAGE_MAGIC,    /* "magic": not a HeavenBase gateway descriptor */
  HVB_GATEWAY_STAGE_ABI,      /* "abi": other major, or newer minor */
  HVB_GATEWAY_STAGE_STRUCT,   /* "struct": struct_size smaller than the fixed header */
  HVB_GATEWAY_STAGE_NAME,     /* "name": descriptor name differs from the file name */
  HVB_GATEWAY_STAGE_INIT,     /* "init": the plugin's init failed */
  HVB_GATEWAY_STAGE_PERMISSIONS /* "permissions": the file or its directory is writable by
                                   others or owned by another user; checked first, before
                                   anything of the file runs */
} hvb_gateway_stage;

typedef struct hvb_gateway_record hvb_gateway_record;

/* "builtin", "loaded", "incompatible", "broken", "duplicate"; "unknown" otherwise. */
const char *hvb_gateway_state_name(hvb_gateway_state state);
/* "", "open", "symbol", "magic", "abi", "struct", "name", "init", "permissions"; "unknown"
 * otherwise. */
const char *hvb_gateway_stage_name(hvb_gateway_stage stage);

/* Search `dir` before the environment's directories (directories added earlier come
 * first). The directory need not exist yet. HVB_EINVAL for NULL or "". */
bool hvb_gateway_path_add(const char *dir, hvb_error *err);

/* The directories searched, in order, as a new JSON array of strings (caller owns). */
json_object *hvb_gateway_search_path(void);

/* Every record: `openai` first, then the files in search order, then the other built-in
 * gateways (state duplicate when a file provides their name). Opens every file on first call.
 * hvb_gateway_at gives NULL past the end. */
size_t hvb_gateway_count(void);
const hvb_gateway_record *hvb_gateway_at(size_t index);

/* The usable gateway called `name` (built in or loaded), NULL when there is none. Opens at
 * most the one file of that name. */
const hvb_gateway_record *hvb_gateway_lookup(const char *name);

/* Load the one file at `path` through the same stages, outside the search path, and report
 * the outcome: a new record the caller frees with hvb_gateway_record_free (its state says
 * whether the file is loadable; a loaded file stays mapped). The file name must still be
 * hb-gateway-<name>.so. NULL with HVB_EINVAL only for a NULL or empty path. */
hvb_gateway_record *hvb_gateway_check(const char *path, hvb_error *err);
/* Free a record from hvb_gateway_check. NULL, and records owned by the library, are ignored. */
void hvb_gateway_record_free(hvb_gateway_record *record);

/* Getters. NULL-safe: for a NULL record the strings are NULL, the numbers 0, the stage
 * HVB_GATEWAY_STAGE_NONE and the state HVB_GATEWAY_STATE_BROKEN (not 0, which is
 * HVB_GATEWAY_STATE_BUILTIN: a missing record must never read as usable). */
const char *hvb_gateway_record_name(const hvb_gateway_record *r);
const char *hvb_gateway_record_path(const hvb_gateway_record *r); /* NULL when built in */
hvb_gateway_state hvb_gateway_record_state(const hvb_gateway_record *r);
hvb_gateway_stage hvb_gateway_record_stage(const hvb_gateway_record *r);
const char *hvb_gateway_record_reason(const hvb_gateway_record *r); /* "" when none */
/* From the descriptor; NULL / 0 for a file that was not loaded. */
const char *hvb_gateway_record_version(const hvb_gateway_record *r);
const char *hvb_gateway_record_description(const hvb_gateway_record *r);
const char *hvb_gateway_record_license(const hvb_gateway_record *r);
uint32_t hvb_gateway_record_caps(const hvb_gateway_record *r); /* HVB_GATEWAY_CAP_* */
/* The ABI the file declares ("1.0"); 0.0 before the magic stage passed. */
unsigned hvb_gateway_record_abi_major(const hvb_gateway_record *r);
unsigned hvb_gateway_record_abi_minor(const hvb_gateway_record *r);

/* The record as a new JSON object (caller owns): name, state, stage, reason, path (null when
 * built in), version, description, license, caps (array of "chat", "stream", "embed",
 * "image", "offline"), abi ("1.0", or null before the magic stage). */
json_object *hvb_gateway_record_to_json(const hvb_gateway_record *r);

#ifdef __cplusplus
}
#endif

#endif
