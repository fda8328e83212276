/* plugins/builtin.c: the plugins compiled into libheavenbase as well as shipped as files.
 *
 * Kept outside core/ so that the core names no plugin: the registry reads this list through
 * hvb__builtin_gateways (core/gateway/gateway.h). Each plugin here is its own source compiled
 * a second time with its query function and host pointer renamed (Makefile.am, "Built-in
 * gateways"), so that the library exports neither. A file of the same name in the gateway
 * path wins over a built-in one (docs/gateway-abi.md, "Discovery").
 *
 * mock: offline tests, examples and `hb chat -p mock` must work with no plugin file present.
 */
#include <heavenbase/gateway.h>

#include <stddef.h>

const hvb_gateway_descriptor *hvb__builtin_mock_query(void);

/* The declaration the registry uses is in core/gateway/gateway.h; repeated here so that this
 * file needs no core header. */
extern const hvb_gateway_query_fn hvb__builtin_gateways[];
const hvb_gateway_query_fn hvb__builtin_gateways[] = {hvb__builtin_mock_query, NULL};
