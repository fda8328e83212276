#!/usr/bin/env python3
"""Extract the wire schemas structured output uses from the official specs, as one JSON file
that tests/cli/structured-check.cjs validates request bodies against (with ajv, draft 2020-12).

Run by hand when the specs change: extract-wire-schemas.py SPECS_DIR > wire-schemas.json
SPECS_DIR holds openai-openapi.yaml (openai/openai-openapi f85dbe2, info.version 2.3.0) and
anthropic-openapi.json (tryAGI/Anthropic 8b42a21), see the team's shared specs README."""
import json, sys, yaml

specs = sys.argv[1]
roots = {
    "openai": (yaml.safe_load(open(specs + "/openai-openapi.yaml")),
               ["ResponseFormatJsonSchema", "ResponseFormatJsonObject"]),
    "anthropic": (json.load(open(specs + "/anthropic-openapi.json")),
                  ["OutputConfig", "Tool", "ToolChoiceTool", "ToolChoiceAny", "ToolChoiceAuto"]),
}

def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/schemas/"):
            out.add(r.rsplit("/", 1)[1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)

def rewrite(node, prefix):
    if isinstance(node, dict):
        return {k: (("#/$defs/" + prefix + v.rsplit("/", 1)[1]) if k == "$ref" and isinstance(v, str)
                    else rewrite(v, prefix)) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v, prefix) for v in node]
    return node

defs = {}
for name, (doc, wanted) in roots.items():
    schemas = doc["components"]["schemas"]
    todo, seen = list(wanted), set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        found = set()
        refs(schemas[n], found)
        todo.extend(found - seen)
    for n in sorted(seen):
        defs[name + "." + n] = rewrite(schemas[n], name + ".")
json.dump({"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}, sys.stdout,
          indent=1, sort_keys=True)
print()
