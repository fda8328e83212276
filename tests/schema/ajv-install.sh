#!/bin/bash
# Install ajv for the differential test of core/text/jsonschema: ajv-install.sh prints the
# directory whose node_modules holds ajv@8.17.1 and ajv-formats@3.0.1.
#
# Installs once into ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/ajv (outside the build
# tree, shared by build trees), as tests/portkey/start.sh does for Portkey: npm and node get a
# HOME and an npm cache of their own there, one install runs at a time (flock), every step is
# bounded in time, and any failure exits non-zero with the reason on stderr.
set -eu
ajv_version=8.17.1
formats_version=3.0.1
dir="${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/ajv"
peer_home="$dir/home"

die() { echo "ajv-install.sh: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)"
mkdir -p "$dir" "$peer_home" || die "cannot create $dir"
export HOME="$peer_home" npm_config_cache="$dir/npm-cache"

installed() {
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch (e) {}' \
    "$dir/node_modules/$1"
}

install() {
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  cat > "$dir/package.json" <<JSON
{
  "name": "heavenbase-test-ajv",
  "private": true,
  "description": "ajv for HeavenBase's differential JSON Schema test (written by tests/schema/ajv-install.sh)",
  "dependencies": { "ajv": "$ajv_version", "ajv-formats": "$formats_version" },
  "overrides": { "ajv": "$ajv_version" }
}
JSON
  echo "ajv-install.sh: installing ajv@$ajv_version and ajv-formats@$formats_version into $dir" >&2
  (cd "$dir" && timeout 600 npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
     >"$dir/npm-install.log" 2>&1) ||
    die "npm install of ajv@$ajv_version failed; see $dir/npm-install.log: $(tail -n 5 "$dir/npm-install.log")"
}

exec 9>"$dir/.lock"
flock -w 660 9 || die "timed out waiting for another install in $dir"
if [ "$(installed ajv)" != "$ajv_version" ] || [ "$(installed ajv-formats)" != "$formats_version" ]; then
  install
  [ "$(installed ajv)" = "$ajv_version" ] || die "ajv@$ajv_version did not install"
  [ "$(installed ajv-formats)" = "$formats_version" ] || die "ajv-formats@$formats_version did not install"
fi
exec 9>&-
echo "$dir"
