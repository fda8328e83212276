#!/bin/bash
# hb imagen: against nginx (canned b64_json), the fake upstream (a URL answer) and the mock.
. "$(dirname "$0")/lib.sh"

# The probed size of a PNG file, from its IHDR (independent of hb's own probe).
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }

start_nginx
hb imagen -g openai --base-url "$NGINX_URL/json/v1" -m gpt-image-1 -o out.png "a mug"
expect_out "imagen saves the PNG and prints its path and probed size" "out.png 1x1 png"
if [ "$(head -c 8 out.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(png_size out.png)" = 1x1 ]; then
  ok "the file is a PNG of the printed size"
else
  not_ok "the file is a PNG of the printed size"
fi

hb imagen -g mock -m mock-1 -n 2 -o mug.png "a mug"
expect_out "-n 2 numbers the files" "mug-1.png 8x8 png
mug-2.png 8x8 png"
[ "$(png_size mug-2.png)" = 8x8 ] && ok "the mock's PNG is 8x8" || not_ok "the mock's PNG is 8x8"

start_upstream '{"routes": {}}'
hb imagen -g openai --base-url "$UP_URL/v1" -m dall-e-3 -o url.png "a mug"
expect_status "no scripted route: the upstream's 404 fails the call" 1
expect_err_has "naming the status" "404"

hb imagen -g bifrost --base-url "$UP_URL/v1" -m gpt-image-1 "a mug"
expect_status "bifrost refuses image generation" 1
expect_err_has "saying so" "gateway 'bifrost' does not support image generation"

hb chat -p custom "hi"
expect_status "the custom preset without base_url fails" 1
expect_err_has "naming base_url" "base_url"

hb chat -g mock -m mock-1 --image out.png "what is it?"
expect_out "hb chat --image sends the image with the prompt" "Mock reply to: what is it?"
hb chat -g mock -m mock-1 --image nothing-here.png "what is it?"
expect_status "a missing --image file fails" 1
expect_err_has "naming it" "nothing-here.png"

finish
