#!/bin/bash
# Routes (docs/routing.md): a route of the catalog, as a drop-in file, tried target after
# target against the fake upstream. A 429 with Retry-After: 30 and a 503 fall through at once
# to the target that answers; --include route shows what was tried; HB_LOG=info tells each
# decision; `hb spec` shows the route; 400 never falls through; a stream falls back only
# before its first delta reaches the caller.
. "$(dirname "$0")/lib.sh"

OK='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"from three\"},\"finish_reason\":\"stop\"}]}'
SSE_HALF='data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial \"}}]}\n\n'
start_upstream "$(cat <<EOF
{"routes": {
  "/t1/v1/chat/completions": [{"repeat": true, "status": 429,
    "headers": {"Retry-After": "30"},
    "body": "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"}],
  "/t2/v1/chat/completions": [{"repeat": true, "status": 503,
    "body": "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"}],
  "/t3/v1/chat/completions": [{"repeat": true, "body": "$OK"}],
  "/bad/v1/chat/completions": [{"repeat": true, "status": 400,
    "body": "{\"error\":{\"message\":\"bad request\",\"type\":\"invalid_request_error\"}}"}],
  "/cut/v1/chat/completions": [{"repeat": true, "content_type": "text/event-stream",
    "chunked": true, "close_after": 1, "chunks": [{"data": "$SSE_HALF"}, {"data": "x"}]}]
}}
EOF
)"
requests_to() { grep -c "\"path\":\"$1\"" "$UP_LOG"; }

mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/50-routes.json" <<EOF
{"routes": {
  "three": {"strategy": "fallback", "deadline": 20, "targets": [
    {"label": "one", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t1/v1"},
    {"label": "two", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t2/v1"},
    {"label": "three", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"}]},
  "bad-first": {"targets": [
    {"label": "bad", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/bad/v1"},
    {"label": "good", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"}]},
  "cut-stream": {"targets": [
    {"label": "cut", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/cut/v1"},
    {"label": "good", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"}]},
  "hedged": {"hedge": true, "hedge_after_ms": 250, "on_limit": "wait", "targets": [
    {"label": "h1", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"},
    {"label": "h2", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"}]},
  "early-fail": {"targets": [
    {"label": "busy", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t2/v1"},
    {"label": "good", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/t3/v1"}]}
},
 "presets": {"myroute": {"model": "three", "description": "a preset naming a route"}}}
EOF

# ---- 429 (Retry-After: 30), 503, success: one request each, well under a second ----
start=$(date +%s)
hb chat -p three -o cache=false --include text,route "hi"
took=$(( $(date +%s) - start ))
expect_status "the routed call succeeds" 0
expect_out_has "with the third target's answer" "from three"
route_ms=$(grep -o '"ms":[0-9.]*}}$' "$T/out" | grep -o '[0-9][0-9.]*' | cut -d. -f1)
expect_true "the routed call took well under a second (${route_ms:-?} ms, bound 1000)" \
  [ -n "$route_ms" ] && [ "$route_ms" -lt 1000 ]
expect_true "hb did not wait for Retry-After: 30 (took ${took} s, bound 15)" [ "$took" -lt 15 ]
expect_true "one request to target 1" [ "$(requests_to /t1/v1/chat/completions)" = 1 ]
expect_true "one request to target 2" [ "$(requests_to /t2/v1/chat/completions)" = 1 ]
expect_true "one request to target 3" [ "$(requests_to /t3/v1/chat/completions)" = 1 ]
expect_out_has "--include route names the route" '"name":"three"'
expect_out_has "target 1's outcome: HTTP 429" '"target":"one","index":0,"outcome":"failed","status":"HTTP","http_status":429'
expect_out_has "target 2's outcome: HTTP 503" '"target":"two","index":1,"outcome":"failed","status":"HTTP","http_status":503'
expect_out_has "target 3 answered" '"target":"three","index":2,"outcome":"answered"'
expect_out_has "the answering target is named" '"answered":"three"'

# ---- a preset naming the route in place of a model; HB_LOG=info, one line per decision ----
HB_LOG=info hb chat -p myroute -o cache=false "hi"
expect_out "a preset whose model is a route works" "from three"
expect_true "HB_LOG=info: one line per target tried" [ "$(grep -c 'route three: trying target' "$T/err")" = 3 ]
expect_err_has "HB_LOG=info: the 429 falls through" "target 1 (one) failed after"
expect_err_has "HB_LOG=info: the answer" "route three: target 3 (three) answered"

# ---- hb spec shows the route ----
hb spec -p myroute --json
expect_status "hb spec of a routed preset" 0
expect_out_has "shows the route" '"route"'
expect_out_has "with its targets" '"label":"two"'
expect_out_has "and what a target at its limit does" '"on_limit":"next"'
expect_nowhere "a route without hedging shows none" '"hedge"'
hb spec -p hedged --json
expect_out_has "hb spec shows a route's hedge" '"hedge":{"delay":"p95","after_ms_until_measured":250}'
expect_out_has "and on_limit wait" '"on_limit":"wait"'

# ---- 400 never falls through ----
hb chat -p bad-first -o cache=false "hi"
expect_status "a 400 fails the routed call" 1
expect_err_has "with the first target's error" "bad request"
expect_true "the second target is not asked" [ "$(requests_to /t3/v1/chat/completions)" = 2 ]

# ---- streams: fall back before the first delta, never after ----
hb chat -p early-fail -o cache=false --stream "hi"
expect_out "a stream whose target fails before the first delta falls back" "from three"
hb chat -p cut-stream -o cache=false --stream "hi"
expect_status "a stream that fails after its first delta does not fall back" 1
expect_out_has "the caller got the first delta" "partial"
expect_true "and the second target was not asked" [ "$(requests_to /t3/v1/chat/completions)" = 3 ]

# ---- hb route status: the targets and their breakers (in this process: all closed) ----
hb route status three
expect_status "hb route status NAME" 0
expect_out_has "names the route and strategy" "route three (fallback)"
expect_out_has "lists target 2 with its breaker" "two"
expect_out_has "breakers of a new process are closed" "closed"
hb route status three --json
expect_out_has "--json gives each target's breaker" '"breaker":{"state":"closed"'
hb route status
expect_out_has "without NAME: every route" "route cut-stream"
hb route status nope
expect_status "an unknown route is an error" 1
expect_err_has "naming it" "unknown route 'nope'"

# ---- routes are checked when loaded ----
cat > "$HB_CONFIG_DIR/catalog.d/60-broken.json" <<EOF
{"routes": {"never": {"fall_through": [400], "targets": ["chat"]}}}
EOF
hb chat -p never "hi"
expect_status "a drop-in whose route lets 400 fall through is refused" 1
expect_err_has "saying why" "may not hold 400"
rm -f "$HB_CONFIG_DIR/catalog.d/60-broken.json"

cat > "$HB_CONFIG_DIR/catalog.d/60-embed.json" <<EOF
{"routes": {"vectors": {"targets": [
  {"label": "small", "model": "text-embedding-3-small", "provider": "openai"},
  {"label": "large", "model": "text-embedding-3-large", "provider": "openai"}]}}}
EOF
hb embed -p vectors "hi"
expect_status "a route whose targets' embeddings differ in size is refused" 1
expect_err_has "naming both targets and sizes" "targets[0] (small) gives embeddings of 1536 dimensions and targets[1] (large) of 3072"
rm -f "$HB_CONFIG_DIR/catalog.d/60-embed.json"

finish
