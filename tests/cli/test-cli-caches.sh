#!/bin/bash
# hb caches (the cache backend plugins, listed like gateways) and heavenbase.llm.cache.backend
# as the user sees it: a backend that cannot be loaded falls back to sqlite with a warning, or
# is an error when backend_fallback is false.
. "$(dirname "$0")/lib.sh"

FIX="$HB_TEST_BUILDDIR/tests/caches/.libs"

hb caches list
expect_status "hb caches list exits 0" 0
expect_out_has "sqlite is listed as built in" "built in"
expect_out_has "with its capabilities" "entries"

HB_CACHE_BACKEND_PATH="$FIX" hb caches list
expect_out_has "HB_CACHE_BACKEND_PATH adds the fixtures' good backend" "hb-cache-memory.so"
expect_out_has "with every capability" "entries,lock,counters,kv"
if grep -q "badmagic" "$T/out"; then not_ok "refused files are only listed with --all"; else ok "refused files are only listed with --all"; fi

HB_CACHE_BACKEND_PATH="$FIX" hb caches list --all
expect_out_has "--all shows a bad magic at stage magic" "magic: bad magic 0x12345678"
expect_out_has "and a newer major at stage abi" "abi: cache backend ABI major 2, library supports 1"
expect_out_has "and a missing symbol" "symbol: no symbol hvb_cache_backend_query"
expect_out_has "and the search path" "search path:"

HB_CACHE_BACKEND_PATH="$FIX" hb caches list --all --json
expect_out_has "--json gives each record's state" '"state":"incompatible"'

hb caches check "$FIX/hb-cache-memory.so"
expect_status "check of a good file exits 0" 0
expect_out_has "and says it loaded" "loaded: cache backend 'memory' 1.0.0"
hb caches check "$FIX/hb-cache-initfail.so"
expect_status "check of a refused file exits 1" 1
expect_out_has "and says why" "broken at stage init: initfail: refuses to start (test)"

# A chat through the mock gateway, cached, with a backend that is not installed.
hb cfg set heavenbase.llm.cache.backend '"absent"'
expect_status "the backend key is accepted" 0
HB_LOG=warn hb chat -g mock -m mock-model -o temperature=0 "hello"
expect_status "a missing backend does not fail the call" 0
expect_err_has "it is one warning naming it" "cache backend 'absent' cannot be used"
expect_err_has "and the fallback" "the cache uses sqlite alone"
hb cfg set heavenbase.llm.cache.backend_fallback false
hb chat -g mock -m mock-model -o temperature=0 "hello"
expect_status "with backend_fallback false the call fails" 1
expect_err_has "naming the backend" "cache backend 'absent' cannot be used: no file hb-cache-absent.so"
hb cfg set heavenbase.llm.cache.tiers '"sqlite"'
expect_err_has "tiers must be an array of names" "an array of names"

finish
