#!/bin/bash
# hb repair: tool-call arguments from stdin, repaired; exit statuses and --json.
. "$(dirname "$0")/lib.sh"

hb_in $'```json\n{"city": "Paris",}\n```' repair
expect_out "a fenced object with a trailing comma prints compact" '{"city":"Paris"}'
hb_in '{"a": [1, 2, {"b": "x' repair
expect_out "a truncated object is closed in nesting order" '{"a":[1,2,{"b":"x"}]}'
hb_in $'{"a": "trunc\n' repair
expect_out "a final newline (as echo adds) is not part of the arguments" '{"a":"trunc"}'
hb_in '  {"ok": true}  ' repair
expect_out "valid arguments print compact" '{"ok":true}'
hb_in "{'q': 'it\"s', 'n': None}" repair --json
expect_out_has "--json names the outcome" '"outcome":"repaired"'
expect_out_has "--json lists the edit codes" '"code":"single_quotes"'
expect_out_has "--json holds the arguments as text" '"arguments":"{\"q\":\"it\\\"s\",\"n\":null}"'

hb_in 'I cannot do that.' repair
expect_status "unfixable arguments exit 1" 1
expect_err_has "the reason is named on stderr" "unfixable: not_json"
hb_in '{"a": 1}{"a": 2}' repair
expect_status "concatenated objects are unfixable without --split" 1
expect_err_has "the reason names concatenation" "concatenated_objects"
hb_in '{"a": 1}{"a": 2}' repair --split
expect_out "--split prints one call per line" $'{"a":1}\n{"a":2}'
hb_in 'nope' repair --strict
expect_status "--strict fails with exit 1" 1
expect_err_has "--strict names the reason" "not_json"

printf '%s' '{"type": "object", "properties": {"unit": {"default": "c"}}, "required": ["city", "unit"]}' \
  > "$T/schema.json"
hb_in '{"city": "Oslo"}' repair --schema "$T/schema.json"
expect_out "--schema fills a required field from its default" '{"city":"Oslo","unit":"c"}'
hb_in '{"unit": "f"}' repair --schema "$T/schema.json"
expect_err_has "a required field without default is named" "missing_required:city"
printf '%s' '[{"type": "function", "function": {"name": "get_weather", "parameters": {"required": ["city"]}}}]' \
  > "$T/tools.json"
hb_in '{"city": "Oslo"}' repair --schema "$T/tools.json" --tool get_wether --json
expect_out_has "a tools array corrects the tool name" '"tool":"get_weather"'
hb_in '{}' repair --tool-names get_weather,search --tool serch --json
expect_out_has "--tool-names corrects the tool name" '"code":"tool_name:serch->search"'
hb_in '{}' repair --tool-names get_weather --tool launch
expect_err_has "an unknown tool is unfixable" "unknown_tool:launch"
hb_in '' repair
expect_out "empty arguments become an empty object" '{}'

hb repair --bogus
expect_status "an unknown option is a usage error" 2
hb repair extra
expect_status "a positional argument is a usage error" 2
hb repair --schema "$T/missing.json"
expect_status "an unreadable schema is a usage error" 2
hb_in '{}' repair --schema "$T/tools.json" --tool-names a
expect_status "a tools array with --tool-names is a usage error" 2
hb help repair
expect_out_has "help repair shows its usage" "usage: hb repair"

finish
