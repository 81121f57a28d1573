#!/bin/bash
# manpage.sh -- owns the docs-in-step check: the man page lints clean, and every variable the code reads is in the man page (with its default), in --help and in README.md.
#
# The variables are extracted from the sources, not listed here: every C string literal
# in src/ and modules/ that is a whole environment-variable name ("PYROSCOPE_TIMEOUT",
# "AWS_LAMBDA_RUNTIME_API", "SSL_CERT_FILE"), which covers the names handed to the
# settings loader (env, load_bool, load_size, dup_or_default, ...) and to getenv,
# whatever helper passes them on. A variable added to the code fails this test, naming
# the variable, the line that reads it and the place that lacks it, until it is
# documented in all three. Names in the man page's ENVIRONMENT section and in --help
# that the code no longer reads fail it too.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

NAME=pyroscope-lambda-extension
MAN=$TOP_SRCDIR/packaging/man/$NAME.8
README=$TOP_SRCDIR/README.md
ENVNAME='[A-Z][A-Z0-9]*(_[A-Z0-9]+)+'

# --- lint --------------------------------------------------------------------------------
check "the man page exists ($MAN)" test -f "$MAN"
if command -v mandoc >/dev/null 2>&1; then
	out=$(mandoc -T lint -W warning "$MAN" 2>&1)
	st=$?
	is "$st:$out" "0:" "mandoc -T lint -W warning: no warning, no error"
else
	ok "mandoc -T lint -W warning: no warning, no error # SKIP mandoc not installed (sh tools/deps-debian.sh packages)"
fi
if command -v groff >/dev/null 2>&1; then
	is "$(LC_ALL=C.UTF-8 groff -man -ww -z "$MAN" 2>&1)" "" "groff -man -ww -z: no warning"
else
	ok "groff -man -ww -z: no warning # SKIP groff not installed"
fi
# What lintian runs on an installed page (its manpage-has-errors-from-man tag).
if command -v man >/dev/null 2>&1; then
	is "$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$MAN" 2>&1 >/dev/null)" "" \
		"man --warnings -l (as lintian runs it): no warning"
else
	ok "man --warnings -l (as lintian runs it): no warning # SKIP man not installed"
fi

# --- the variables the code reads -------------------------------------------------------------
# read_vars: "NAME<TAB>file:line" for the first place each name is read, sorted by name.
read_vars() {
	(cd "$TOP_SRCDIR" && grep -rnoE --include='*.c' --include='*.h' "\"$ENVNAME\"" src modules) |
		awk -F: '{ n = $3; gsub(/"/, "", n); if (!(n in at)) at[n] = $1 ":" $2 }
			END { for (n in at) printf "%s\t%s\n", n, at[n] }' | sort
}
vars=$(read_vars)
nvars=$(printf '%s\n' "$vars" | grep -c .)
# The extraction itself: a change in how the sources name variables must not make
# this test pass by finding nothing.
missing_anchor=""
for anchor in PYROSCOPE_REMOTE_ADDRESS PYROSCOPE_DEV_MODE AWS_LAMBDA_RUNTIME_API; do
	printf '%s\n' "$vars" | cut -f1 | grep -qx "$anchor" || missing_anchor="$missing_anchor $anchor"
done
if [ "$nvars" -ge 20 ] && [ -z "$missing_anchor" ]; then
	ok "the sources name $nvars variables, PYROSCOPE_REMOTE_ADDRESS, PYROSCOPE_DEV_MODE and AWS_LAMBDA_RUNTIME_API among them"
else
	not_ok "the extraction finds the variables the sources read (found $nvars; missing:${missing_anchor:- none})"
	diag "looked for string literals matching \"$ENVNAME\" in $TOP_SRCDIR/src and $TOP_SRCDIR/modules"
	done_testing
	exit
fi
diag "variables read: $(printf '%s\n' "$vars" | cut -f1 | tr '\n' ' ')"

# man_env: "NAME<TAB>default|no-default" for each .TP entry of the ENVIRONMENT section:
# the tag's first word (fonts stripped), and whether its paragraph gives a default.
man_env() {
	awk '
	function flush() {
		if (tag != "") printf "%s\t%s\n", tag, (body ~ /[Dd]efault/ ? "default" : "no-default")
		tag = ""; body = ""
	}
	/^\.SH/ { flush(); insec = ($0 ~ /^\.SH[ \t]+"?ENVIRONMENT"?[ \t]*$/); next }
	!insec { next }
	/^\.TP/ { flush(); want = 1; next }
	want {
		line = $0
		gsub(/\\f[BIRP]|\\f\[[A-Z]*\]/, "", line)
		sub(/^\.[BI]R?[ \t]+/, "", line)
		split(line, w, /[ \t,]+/)
		tag = w[1]; want = 0; next
	}
	/^\.(SS|PP|LP|P)([ \t]|$)/ { flush(); next }
	tag != "" { body = body " " $0 }
	END { flush() }' "$MAN"
}
menv=$(man_env)
"$RELAY_BIN" --help >"$T/help" 2>&1
is "$?" 0 "--help exits 0"

# report PLACE LIST: one test point; LIST holds "NAME (file:line)" entries, one a line.
report() {
	local place=$1 list=$2
	if [ -z "$list" ]; then
		ok "every variable the code reads is in $place"
	else
		not_ok "every variable the code reads is in $place: missing $(printf '%s\n' "$list" | paste -sd ' ' | sed 's/) /), /g')"
		printf '%s\n' "$list" | sed "s|^|#   not in $place: |"
	fi
}
miss_man="" miss_default="" miss_help="" miss_readme=""
while IFS=$'\t' read -r var at; do
	entry="$var (read at $at)"
	state=$(printf '%s\n' "$menv" | awk -F'\t' -v v="$var" '$1 == v { print $2; exit }')
	case $state in
	"") miss_man="$miss_man$entry"$'\n' ;;
	no-default) miss_default="$miss_default$entry"$'\n' ;;
	esac
	grep -qw -- "$var" "$T/help" || miss_help="$miss_help$entry"$'\n'
	grep -qw -- "$var" "$README" || miss_readme="$miss_readme$entry"$'\n'
done <<<"$vars"
report "the man page's ENVIRONMENT section (packaging/man/$NAME.8, a .TP entry each)" "${miss_man%$'\n'}"
if [ -z "$miss_default" ]; then
	ok "each ENVIRONMENT entry of the man page gives the default"
else
	not_ok "each ENVIRONMENT entry of the man page gives the default: no \"Default\" for $(printf '%s' "$miss_default" | cut -d' ' -f1 | paste -sd ' ')"
fi
report "--help ($RELAY_BIN --help; the usage_text in src/main.c)" "${miss_help%$'\n'}"
report "README.md" "${miss_readme%$'\n'}"

# --- and nothing documented that the code no longer reads ---------------------------------
read_names=$(printf '%s\n' "$vars" | cut -f1)
stale_man=$(printf '%s\n' "$menv" | cut -f1 | grep -vxF -- "$read_names")
is "$stale_man" "" "every ENVIRONMENT entry of the man page is read by the code"
stale_help=$(grep -oE "\b$ENVNAME\b" "$T/help" | sort -u | grep -vxF -- "$read_names")
is "$stale_help" "" "every variable --help names is read by the code"
done_testing
