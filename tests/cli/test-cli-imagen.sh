#!/bin/bash
# hb imagen: against nginx (canned b64_json), the fake upstream (a URL answer) and the mock.
. "$(dirname "$0")/lib.sh"

# The probed size of a PNG file, from its IHDR (independent of hb's own probe).
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d\n", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }

start_nginx
hb imagen -g openai --base-url "$NGINX_URL/json/v1" -m gpt-image-1 -O out.png "a mug"
expect_out "imagen saves the PNG and prints its path and probed size" "out.png 1x1 png"
if [ "$(head -c 8 out.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(png_size out.png)" = 1x1 ]; then
  ok "the file is a PNG of the printed size"
else
  not_ok "the file is a PNG of the printed size"
fi

hb imagen -g mock -m mock-1 -n 2 --output mug.png "a mug"
expect_out "-n 2 numbers the files" "mug-1.png 8x8 png
mug-2.png 8x8 png"
[ "$(png_size mug-2.png)" = 8x8 ] && ok "the mock's PNG is 8x8" || not_ok "the mock's PNG is 8x8"
expect_nowhere "--output warns about nothing" "deprecated"

# The output file of old, -o FILE (-o means KEY=VALUE across hb): one more release, with a
# warning that names the new flag.
hb imagen -g mock -m mock-1 -o old.png "a mug"
expect_out "-o FILE still saves the image" "old.png 8x8 png"
expect_err_has "with a deprecation warning" "'hb imagen -o FILE' is deprecated"
expect_err_has "that names the new flag" "use -O FILE (or --output FILE)"
hb imagen -g mock -m mock-1 -n 2 -oold.png "a mug"
expect_out "-oFILE too, numbered with -n" "old-1.png 8x8 png
old-2.png 8x8 png"
expect_err_has "and warns as well" "deprecated"

PNG1x1=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==
start_upstream "{\"routes\": {\"/img/v1/images/generations\": [{\"repeat\": true, \"body\":
  \"{\\\"data\\\":[{\\\"b64_json\\\":\\\"$PNG1x1\\\"}]}\"}]}}"
hb imagen -g openai --base-url "$UP_URL/img/v1" -m dall-e-3 -o quality=high -o style='"vivid"' \
  -O kv.png "a mug"
expect_out "-o KEY=VALUE is a request argument for hb imagen too" "kv.png 1x1 png"
expect_request_has "it is sent" '"quality":"high"' '"style":"vivid"'
expect_nowhere "without a deprecation warning" "deprecated"
expect_true "and no file named after it" [ ! -e quality=high ]
hb imagen -g openai --base-url "$UP_URL/img/v1" -m dall-e-3 --arg quality=low -O kv.png "a mug"
expect_request_has "--arg KEY=VALUE is the same" '"quality":"low"'
hb imagen -g openai --base-url "$UP_URL/img/v1" -m dall-e-3 --arg include=raw -o cache=false \
  -O kv.png "a mug"
expect_out "--arg include=raw (a library option) still makes the image" "kv.png 1x1 png"
expect_request_lacks "and never reaches the request body" '"include"' '"cache"'

hb imagen -g openai --base-url "$UP_URL/v1" -m dall-e-3 -O url.png "a mug"
expect_status "no scripted route: the upstream's 404 fails the call" 1
expect_err_has "naming the status" "404"

hb imagen -g bifrost --base-url "$UP_URL/v1" -m gpt-image-1 "a mug"
expect_status "bifrost refuses image generation" 1
expect_err_has "saying so" "gateway 'bifrost' does not support image generation"

# Reference images (issue #13, defect 13): --image and the "images" option go to
# /images/edits as a multipart form for a model whose catalog entry says so, or are refused;
# never dropped. Both routes answer, so only what the upstream received tells.
size_of() { wc -c < "$1" | tr -d ' '; }
# A second upstream in one script: start_upstream waits for the port file, which the first
# one already wrote.
rm -f "$T/port"
start_upstream "{\"routes\": {\"/ed/v1/images/edits\": [{\"repeat\": true, \"body\":
  \"{\\\"data\\\":[{\\\"b64_json\\\":\\\"$PNG1x1\\\"}]}\"}],
  \"/ed/v1/images/generations\": [{\"repeat\": true, \"body\":
  \"{\\\"data\\\":[{\\\"b64_json\\\":\\\"$PNG1x1\\\"}]}\"}]}}"
hb imagen -g openai --base-url "$UP_URL/ed/v1" -m gpt-image-1 --image out.png -O edit.png "make it blue"
expect_out "imagen --image writes the edited image" "edit.png 1x1 png"
expect_request_has "--image goes to /images/edits" '"path":"/ed/v1/images/edits"'
expect_request_has "as a multipart form with the image file and the prompt" \
  "{\"name\":\"image\",\"filename\":\"image-1.png\",\"content_type\":\"image/png\",\"size\":$(size_of out.png)}" \
  '{"name":"prompt","size":12,"value":"make it blue"}' '{"name":"model","size":11,"value":"gpt-image-1"}' \
  'multipart/form-data; boundary='
expect_request_lacks "and no JSON body, no response_format" '"response_format"' '"content-type":"application/json"'
hb imagen -g openai --base-url "$UP_URL/ed/v1" -m gpt-image-1 -o headers='{"Content-Type": "application/json"}' \
  --image out.png -O ct.png "typed"
expect_request_has "a configured JSON Content-Type does not replace the form's" \
  '"content-type":"multipart/form-data; boundary=' '"value":"typed"'
hb imagen -g openai --base-url "$UP_URL/ed/v1" -m gpt-image-1 --image out.png --image mug-1.png \
  -O two.png "both"
expect_out "two --image" "two.png 1x1 png"
expect_request_has "are two image[] files, in order" \
  "{\"name\":\"image[]\",\"filename\":\"image-1.png\",\"content_type\":\"image/png\",\"size\":$(size_of out.png)}" \
  "{\"name\":\"image[]\",\"filename\":\"image-2.png\",\"content_type\":\"image/png\",\"size\":$(size_of mug-1.png)}"
hb imagen -g openai --base-url "$UP_URL/ed/v1" -m gpt-image-1 -o images='["mug-2.png"]' -O opt.png "opt"
expect_out "the images option (-o images=[...])" "opt.png 1x1 png"
expect_request_has "is a reference too" '"path":"/ed/v1/images/edits"' \
  "{\"name\":\"image\",\"filename\":\"image-1.png\",\"content_type\":\"image/png\",\"size\":$(size_of mug-2.png)}"
expect_request_lacks "and not a field" '"name":"images"'
before=$(wc -l < "$UP_LOG")
hb imagen -g openai --base-url "$UP_URL/ed/v1" -m dall-e-3 --image out.png -O no.png "a mug"
expect_status "a model that takes no reference images refuses them" 1
expect_err_has "naming the option and the model" "option 'images': model 'dall-e-3' takes no reference images"
expect_true "sending nothing" [ "$(wc -l < "$UP_LOG")" = "$before" ]
expect_true "and writing no file" [ ! -e no.png ]
hb imagen -g mock -m gpt-image-1 --image out.png "a mug"
expect_status "a gateway that cannot send them refuses them" 1
expect_err_has "naming it" "gateway 'mock' cannot send reference images"

hb chat -p custom "hi"
expect_status "the custom preset without base_url fails" 1
expect_err_has "naming base_url" "base_url"

hb chat -g mock -m mock-1 --image out.png "what is it?"
expect_out "hb chat --image sends the image with the prompt" "Mock reply to: what is it?"
hb chat -g mock -m mock-1 --image nothing-here.png "what is it?"
expect_status "a missing --image file fails" 1
expect_err_has "naming it" "nothing-here.png"

finish
