# npm.sh -- node and the npm registry for the tests that run real JavaScript clients; source it
# after lib.sh. Packages go to a cache outside the source tree; when node is missing or too
# old, or the registry cannot be reached, tests SKIP with the reason (never pass, never fail).

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
skip_point() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

NPM_ROOT=${PYROSCOPE_TEST_NPM_CACHE:-${HOME:-/tmp}/.cache/pyroscope-relay-tests}
# node_check: true when node >= 20.19 runs; else SKIP_REASON says why.
node_check() {
	local v major minor
	command -v node >/dev/null 2>&1 || { SKIP_REASON="node not found"; return 1; }
	v=$(timeout 10 node --version 2>/dev/null) || { SKIP_REASON="node --version failed"; return 1; }
	major=${v#v}; major=${major%%.*}; minor=${v#v*.}; minor=${minor%%.*}
	case "$major$minor" in *[!0-9]*|"") SKIP_REASON="cannot read node version '$v'"; return 1 ;; esac
	if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
		SKIP_REASON="node $v is older than 20.19"; return 1
	fi
}
# installed_at DIR PKG@VERSION...: true when each package is installed in DIR at that version.
installed_at() {
	local dir=$1 p; shift
	for p; do
		[ "$(timeout 10 node -p 'require(process.argv[1]).version' "$dir/node_modules/${p%@*}/package.json" 2>/dev/null)" = "${p##*@}" ] || return 1
	done
}
# npm_ready NAME PKG@VERSION...: the packages installed in $NPM_ROOT/NAME (installed there
# once, under a lock, bounded); sets NPM_DIR, or SKIP_REASON and returns 1.
npm_ready() {
	local name=$1; shift
	NPM_DIR=$NPM_ROOT/$name
	installed_at "$NPM_DIR" "$@" && return 0
	command -v npm >/dev/null 2>&1 || { SKIP_REASON="npm not found"; return 1; }
	mkdir -p "$NPM_DIR" 2>/dev/null || { SKIP_REASON="cannot create $NPM_DIR"; return 1; }
	(
		command -v flock >/dev/null 2>&1 && flock -w 60 9
		installed_at "$NPM_DIR" "$@" && exit 0
		cd "$NPM_DIR" || exit 1
		[ -f package.json ] || printf '{"name":"pyroscope-relay-tests-%s","private":true}\n' "$name" >package.json
		timeout 60 npm install --no-audit --no-fund --loglevel=error --ignore-scripts --no-update-notifier \
			--fetch-retries=1 --fetch-timeout=20000 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 "$@"
	) 9>"$NPM_DIR/.lock" >"$T/npm-$name.log" 2>&1
	if ! installed_at "$NPM_DIR" "$@"; then
		tail -5 "$T/npm-$name.log" | sed 's/^/# npm: /'
		SKIP_REASON="npm install of $* into $NPM_DIR failed (npm registry unreachable?)"
		return 1
	fi
}

# sdk_loads: the SDK (and its prebuilt native module) loads from $NPM_DIR.
sdk_loads() {
	NPM_DIR=$NPM_DIR timeout 30 node -e '
		const r = require("module").createRequire(process.env.NPM_DIR + "/package.json");
		r("@pyroscope/nodejs"); r("pprof-format");' >"$T/load.log" 2>&1 && return 0
	SKIP_REASON="@pyroscope/nodejs does not load here: $(grep -m1 -i error "$T/load.log")"
	return 1
}
