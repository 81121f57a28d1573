# tap.sh -- TAP helpers for the shell tests; source it.
tap_n=0 tap_fail=0
ok()     { tap_n=$((tap_n+1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n+1)); tap_fail=$((tap_fail+1)); echo "not ok $tap_n - $*"; }
# check DESC CMD...: a test point that passes when CMD exits 0.
check()  { desc=$1; shift; if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi; }
# is GOT WANT DESC: string equality, both shown on failure.
is()     { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3"; printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; fi; }
diag()   { printf '# %s\n' "$*"; }
done_testing() { echo "1..$tap_n"; [ "$tap_fail" -eq 0 ]; }
