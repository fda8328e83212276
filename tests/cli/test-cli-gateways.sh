#!/bin/bash
# hb gateways, --gateway-path, the fallback as the user sees it, the plugins' exports, and a
# provider added as a catalog drop-in file (no rebuild).
. "$(dirname "$0")/lib.sh"

FIX="$HB_TEST_BUILDDIR/tests/gateways/.libs"
NOTELF="$HB_TEST_SRCDIR/tests/gateways/notelf"

hb gateways list
expect_out_has "the built-in gateway is listed as built in" "built in"
expect_out_has "the mock plugin is listed with its capabilities" "chat,stream,embed,image,offline"
expect_out_has "with its path" "plugins/mock/.libs/hb-gateway-mock.so"

hb --gateway-path "$FIX" --gateway-path="$NOTELF" gateways list
expect_out_has "--gateway-path adds the fixtures' good plugin" "hb-gateway-good.so"
if grep -q "nosym" "$T/out"; then not_ok "refused files are only listed with --all"; else ok "refused files are only listed with --all"; fi

hb --gateway-path "$FIX" --gateway-path "$NOTELF" gateways list --all
expect_out_has "--all shows a broken file with its stage and reason" "symbol: no symbol hvb_gateway_query"
expect_out_has "and an incompatible one" "abi: ABI major 2, library supports 1"
expect_out_has "and the file that is not ELF" "invalid ELF header"
expect_out_has "and the search path" "search path:"

hb --gateway-path "$FIX" gateways list --all --json
expect_out_has "--json gives each record's state" '"state":"incompatible"'
expect_out_has "and stage" '"stage":"init"'

hb --gateway-path "$FIX" gateways info good
expect_out_has "info shows the version" "1.2.3"
expect_out_has "and the description" "a well-formed test gateway"
hb --gateway-path "$FIX" gateways info initfail
expect_status "info of a refused gateway exits 1" 1
expect_out_has "and says why" "initfail: no licence file (fixture)"
hb gateways info nosuchgw
expect_status "info of an unknown gateway exits 1" 1
expect_err_has "naming the file it looked for" "hb-gateway-nosuchgw.so"

hb gateways check "$FIX/hb-gateway-good.so"
expect_status "check of a good file exits 0" 0
expect_out_has "and says it loaded" "loaded: gateway 'good' 1.2.3 (ABI 1.2)"
hb gateways check "$FIX/hb-gateway-minor.so"
expect_status "check of an incompatible file exits 1" 1
expect_out_has "with state, stage and reason" "incompatible at stage abi: built for ABI 1.3, which needs a newer HeavenBase library"
hb gateways check "$NOTELF/hb-gateway-notelf.so"
expect_status "check of a file that is not ELF exits 1" 1
hb gateways
expect_status "hb gateways without a subcommand is a usage error" 2
hb --gateway-path
expect_status "--gateway-path without a directory is a usage error" 2

# A name nobody knows is an error with a suggestion, never a fallback (before: a warning,
# exit 0, and the provider called directly, bypassing the gateway asked for).
hb chat -p mock -g portky "hi"
expect_status "a misspelt gateway is an error" 1
expect_err_has "with a suggestion" "unknown gateway 'portky' (did you mean 'portkey'?)"
if grep -q "Mock reply\|falling back\|using 'openai'" "$T/out" "$T/err"; then
  not_ok "and no call, no fallback"; else ok "and no call, no fallback"; fi

# The fallback is for a known gateway (here a catalog drop-in names it) whose plugin is not
# there; it is visible: hb spec shows it, hb chat warns.
mkdir -p "$HB_CONFIG_DIR/catalog.d"
echo '{"gateways": {"nosuchgw": {"description": "known, not installed"}}}' \
  > "$HB_CONFIG_DIR/catalog.d/nosuchgw.json"
hb spec -p mock -g nosuchgw --json
expect_out_has "hb spec shows the gateway in use" '"gateway":"openai"'
expect_out_has "and the one requested" '"requested_gateway":"nosuchgw"'
expect_out_has "and why it fell back" '"gateway_fallback_reason":"no file hb-gateway-nosuchgw.so'
hb chat -p mock -g nosuchgw "hi"
expect_err_has "hb chat warns about the fallback" "warning: gateway 'nosuchgw' cannot be used"
hb cfg set heavenbase.llm.gateway_fallback false
hb chat -p mock -g nosuchgw "hi"
expect_status "with gateway_fallback false the chat fails" 1
expect_err_has "naming the gateway and the reason" "gateway 'nosuchgw' cannot be used (heavenbase.llm.gateway_fallback is false): no file"
hb chat -p mock "hi"
expect_out "a gateway that loads is unaffected" "Mock reply to: hi"
hb cfg unset heavenbase.llm.gateway_fallback

# Each plugin exports hvb_gateway_query and nothing else.
for so in "$HB_TEST_BUILDDIR"/plugins/*/.libs/hb-gateway-*.so; do
  syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sort -u | tr '\n' ' ')
  if [ "$syms" = "hvb_gateway_query " ]; then ok "$(basename "$so") exports only hvb_gateway_query"
  else rc=0; not_ok "$(basename "$so") exports only hvb_gateway_query (it exports: $syms)"; fi
done

# A provider added as a catalog drop-in file works without a rebuild.
start_upstream '{"routes": {"/acme/v1/chat/completions": [{"repeat": true, "body":
  "{\"id\":\"a1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from Acme\"},\"finish_reason\":\"stop\"}]}"}]}}'
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/acme.json" <<JSON
{"providers": {"acme": {"base_url": "$UP_URL/acme/v1", "api_key_env": "ACME_API_KEY",
  "headers": {"X-Acme-Team": "blue"}, "description": "Acme, from a drop-in file"}}}
JSON
export ACME_API_KEY="sk-acme-0123456789abcdef"
hb chat --provider acme -m acme-large "hi"
expect_out "hb chat --provider uses the drop-in provider" "Hello from Acme"
expect_log_has "the request went to the drop-in's base URL" '"model":"acme-large"'
expect_log_has "with the drop-in's headers" '"x-acme-team":"blue"'
expect_log_has "and the key from its api_key_env" "Bearer $ACME_API_KEY"

# A plugin that group or others can write, or that sits in a directory they can write, is
# refused before any of its code runs. The marker fixture's constructor and init write to
# $HB_TEST_MARKER whenever it is loaded.
export HB_TEST_MARKER="$T/marker.txt"
mkdir -p "$T/wplug"
cp "$HB_TEST_BUILDDIR/tests/gateways/marker/.libs/hb-gateway-marker.so" "$T/wplug/"
chmod 755 "$T/wplug"
chmod 666 "$T/wplug/hb-gateway-marker.so"
hb --gateway-path "$T/wplug" gateways list --all --json
expect_out_has "a world-writable plugin is broken" '"name":"marker","state":"broken","stage":"permissions"'
hb --gateway-path "$T/wplug" gateways list --all
expect_out_has "list --all names the file and why" "permissions: the file $T/wplug/hb-gateway-marker.so is writable by group and others (mode 0666)"
hb --gateway-path "$T/wplug" chat -g marker -p mock "hi"
expect_err_has "a chat asking for it falls back, saying why" "gateway 'marker' cannot be used"
expect_true "and none of the plugin's code ran" test ! -e "$HB_TEST_MARKER"
chmod 644 "$T/wplug/hb-gateway-marker.so"
chmod 777 "$T/wplug"
hb --gateway-path "$T/wplug" gateways list --all
expect_out_has "a plugin in a world-writable directory is refused too" "permissions: the directory $T/wplug is writable by group and others (mode 0777); not loading $T/wplug/hb-gateway-marker.so"
hb --gateway-path "$T/wplug" gateways check "$T/wplug/hb-gateway-marker.so"
expect_status "hb gateways check refuses it" 1
hb --gateway-path "$T/wplug" chat -g marker -p mock "hi"
expect_true "and a chat runs none of its code" test ! -e "$HB_TEST_MARKER"
chmod 755 "$T/wplug"
hb --gateway-path "$T/wplug" chat -g marker -p mock "hi"
expect_out "writable by its owner only, the same file loads" "marker reply"
expect_true "(the marker fixture does mark when it runs)" grep -q init "$HB_TEST_MARKER"
unset HB_TEST_MARKER

finish
