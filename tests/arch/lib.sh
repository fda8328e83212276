# tests/arch/lib.sh: sourced by the tests/arch/test-*.sh scripts. Sets `src` (the source
# tree) and `check` (the checker the caller names in $checker), and the TAP-style reporters.
src=${HB_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
check="$src/tests/arch/$checker"
fails=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }
