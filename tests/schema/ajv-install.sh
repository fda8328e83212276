#!/bin/bash
# Install ajv for the differential test of core/text/jsonschema: ajv-install.sh prints the
# directory whose node_modules holds ajv@8.17.1 and ajv-formats@3.0.1, installed once into
# ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/ajv by tests/peers/npm-install.sh.
# ajv is also pinned as an override, so that ajv-formats uses the same ajv.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../peers/npm-install.sh" ajv ajv@8.17.1 ajv-formats@3.0.1 --override ajv@8.17.1
