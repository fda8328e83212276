#!/bin/bash
# hb chat against nginx serving canned OpenAI responses: a server nobody on this team wrote.
. "$(dirname "$0")/lib.sh"

start_nginx
hb chat --provider openai --base-url "$NGINX_URL/json/v1" -m gpt-4o-mini "hi"
expect_out "a canned chat completion prints its text" "Hello from the canned upstream."
hb chat --provider openai --base-url "$NGINX_URL/stream/v1" -m gpt-4o-mini --stream --include usage "hi"
expect_out_has "a canned stream prints the text as it arrives" "Hello world"
expect_out_has "and the usage with --include usage" '"total_tokens":11'
hb chat --provider openai --base-url "$NGINX_URL/err401/v1" -m gpt-4o-mini "hi"
expect_status "a canned 401 fails" 1
expect_err_has "with the provider's message" "Incorrect API key provided (canned)"
hb chat --provider openai --base-url "$NGINX_URL/bench10k/v1" -m gpt-4o-mini --include usage "hi"
expect_out_has "a 10 KB response is read whole" '"total_tokens":15'

finish
