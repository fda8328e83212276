#!/usr/bin/env python3
"""Write openai-request-keys.json: the request fields the official OpenAI spec allows.

Run by hand when the spec changes (the tests never read the spec itself):
    python3 extract-openai-keys.py path/to/openapi.yaml > openai-request-keys.json
The spec is openapi.yaml of GitHub openai/openai-openapi; needs PyYAML.
"""
import hashlib
import json
import sys

import yaml

path = sys.argv[1]
raw = open(path, 'rb').read()
spec = yaml.safe_load(raw)
schemas = spec['components']['schemas']


def resolve(node):
    while '$ref' in node:
        node = schemas[node['$ref'].split('/')[-1]]
    return node


def types(node, depth=0):
    """The JSON types a value may have ("any" when the schema does not say)."""
    node = resolve(node)
    out = set()
    t = node.get('type')
    if isinstance(t, list):
        out |= set(t)
    elif t:
        out.add(t)
    if node.get('nullable'):
        out.add('null')
    for key in ('anyOf', 'oneOf', 'allOf'):
        for sub in node.get(key, []):
            out |= types(sub, depth + 1)
    if 'enum' in node and not t:
        out |= {type_of(v) for v in node['enum']}
    if not out and 'properties' in node:
        out.add('object')
    return out


def type_of(v):
    return {str: 'string', bool: 'boolean', int: 'integer', float: 'number',
            type(None): 'null'}.get(type(v), 'object')


def collect(node):
    node = resolve(node)
    props, required = {}, set()
    for sub in node.get('allOf', []):
        p, r = collect(sub)
        props.update(p)
        required |= r
    # A nullable object is written anyOf [object, null]: its fields are the object's.
    for sub in node.get('anyOf', []):
        if 'properties' in resolve(sub):
            p, _ = collect(sub)
            props.update(p)
    props.update(node.get('properties', {}))
    required |= set(node.get('required', []))
    return props, required


def entry(name):
    props, required = collect(schemas[name])
    fields = {}
    for key in sorted(props):
        t = types(props[key])
        if 'integer' in t:
            t.add('number')  # JSON has one number type; json-c tells int from double
        fields[key] = sorted(t) or ['any']
    return {'schema': name, 'required': sorted(required), 'fields': fields}


out = {
    'source': 'openai/openai-openapi openapi.yaml, info.version %s, sha256 %s'
              % (spec['info']['version'], hashlib.sha256(raw).hexdigest()),
    'chat': entry('CreateChatCompletionRequest'),
    'stream_options': entry('ChatCompletionStreamOptions'),
    'embeddings': entry('CreateEmbeddingRequest'),
    'images': entry('CreateImageRequest'),
}
json.dump(out, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write('\n')
