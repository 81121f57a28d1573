#!/bin/bash
# ingest_shapes.sh -- every /ingest body shape that current Pyroscope clients send, with real
# bytes, through the relay to the sink: raw and multipart pprof (Node, Go), multipart JFR
# (Java), folded, lines, trie and tree, gzip Content-Encoding (old Python/Ruby), chunked and
# 100-continue uploads, /pyroscope/ingest, unusual query bytes, and the other paths and methods.
# Each case asserts the request line, the body bytes and the content headers at the sink.
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/tap.sh"
. "${TOP_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

# skip_point REASON: a TAP test point that is skipped.
skip_point() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }

# --- a tiny protobuf encoder (hex strings), enough for a real pprof Profile -------
hexof() { od -An -v -tx1 | tr -d ' \n'; }				# stdin bytes -> hex
# shellcheck disable=SC2059 # the format is only \xHH escapes
unhex() { printf "$(sed 's/../\\x&/g')"; }				# stdin hex -> bytes
pb_varint() {
	local n=$1 out=""
	while [ "$n" -ge 128 ]; do out+=$(printf '%02x' $(((n & 127) | 128))); n=$((n >> 7)); done
	printf '%s%02x' "$out" "$n"
}
pb_int() { pb_varint $(($1 << 3)); pb_varint "$2"; }			# FIELD VALUE (varint)
pb_len() { pb_varint $((($1 << 3) | 2)); pb_varint $((${#2} / 2)); printf '%s' "$2"; }	# FIELD HEX
pb_str() { pb_len "$1" "$(printf '%s' "$2" | hexof)"; }		# FIELD STRING
pb_packed() { local f=$1 h="" v; shift; for v; do h+=$(pb_varint "$v"); done; pb_len "$f" "$h"; }

# make_pprof OUT: a small but complete pprof Profile (samples/count + cpu/nanoseconds, two
# frames main -> work), uncompressed.
make_pprof() {
	local p="" s
	p+=$(pb_len 1 "$(pb_int 1 1)$(pb_int 2 2)")			# sample_type samples/count
	p+=$(pb_len 1 "$(pb_int 1 3)$(pb_int 2 4)")			# sample_type cpu/nanoseconds
	p+=$(pb_len 2 "$(pb_packed 1 2 1)$(pb_packed 2 3 30000000)")	# sample work<-main
	p+=$(pb_len 2 "$(pb_packed 1 1)$(pb_packed 2 1 10000000)")	# sample main
	p+=$(pb_len 4 "$(pb_int 1 1)$(pb_len 4 "$(pb_int 1 1)$(pb_int 2 10)")")	# location 1
	p+=$(pb_len 4 "$(pb_int 1 2)$(pb_len 4 "$(pb_int 1 2)$(pb_int 2 20)")")	# location 2
	p+=$(pb_len 5 "$(pb_int 1 1)$(pb_int 2 5)$(pb_int 3 5)$(pb_int 4 7)")	# function main
	p+=$(pb_len 5 "$(pb_int 1 2)$(pb_int 2 6)$(pb_int 3 6)$(pb_int 4 7)")	# function work
	for s in "" samples count cpu nanoseconds main work main.go; do p+=$(pb_str 6 "$s"); done
	p+=$(pb_int 9 "$(date +%s)000000000")$(pb_int 10 10000000000)	# time_nanos, duration_nanos
	p+=$(pb_len 11 "$(pb_int 1 3)$(pb_int 2 4)")$(pb_int 12 10000000)	# period_type, period
	printf '%s' "$p" | unhex >"$1"
}
make_pprof "$T/cpu.pb"
gzip -n -c "$T/cpu.pb" >"$T/cpu.pb.gz"
# A cumulative "previous" profile for Go's prev_profile part: same shape, other values.
make_pprof "$T/prev.pb"
gzip -n -9 -c "$T/prev.pb" >"$T/prev.pb.gz"

NOW=$(date +%s)
FROM=$((NOW - 10)) UNTIL=$NOW

# upload CURL-ARGS... URL: one upload through the relay (curl, bounded); sets CODE, HEAD, BODY.
upload() {
	local n
	n=$(($(count_requests up) + 1))
	CODE=$(curl -s -o "$T/reply" -w '%{http_code}' --max-time $((30 * SLOW)) "$@")
	HEAD=$(printf '%s/up/req-%03d.head' "$T" "$n")
	BODY=${HEAD%.head}.body
	wait_until 10 test -f "$HEAD" || diag "nothing stored as $HEAD"
}

# expect_shape LABEL TARGET BODYFILE [HEADER=VALUE...]: the upload just made reached the sink
# as "POST TARGET" with exactly BODYFILE's bytes and these header values.
expect_shape() {
	local label=$1 target=$2 want=$3 hv; shift 3
	is "$CODE" 200 "$label: the client gets 200"
	is "$(head -1 "$HEAD" 2>/dev/null)" "POST $target" "$label: path and query unchanged"
	is "$(sha "$BODY" 2>/dev/null)" "$(sha "$want")" "$label: body byte-exact ($(stat -c %s "$want") bytes)"
	is "$(head_header "$HEAD" content-length 2>/dev/null)" "$(stat -c %s "$want")" "$label: Content-Length is the body's"
	for hv; do
		is "$(head_header "$HEAD" "${hv%%=*}" 2>/dev/null)" "${hv#*=}" "$label: ${hv%%=*} as sent"
	done
	check "$label: no Transfer-Encoding or Expect upstream" \
		eval "! has_header '$HEAD' transfer-encoding && ! has_header '$HEAD' expect"
}

start_sink up
start_relay PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$SINK_PORT" PYROSCOPE_LOG_LEVEL=debug
R="http://127.0.0.1:$RELAY_PORT"

# --- 1. raw gzipped pprof, format=pprof (Node >= 0.6.2) ------------------------
# A modern name (dotted label keys) is not touched by the session module: byte for byte.
NODE_NAME='relay-fixture-app%7Botel.scope.name%3Dcom.grafana.pyroscope%2Fnodejs%2Cotel.scope.version%3D0.6.4%2Cprocess.runtime.name%3Dnodejs%2Cprocess.runtime.version%3D20.20.2%2Cenv%3Dtest%7D'
q="format=pprof&from=$FROM&name=$NODE_NAME&spyName=nodespy&until=$UNTIL&sampleRate=17"
upload -H 'content-type: application/octet-stream' -H 'user-agent: node' \
	-H 'accept-encoding: gzip, deflate' --data-binary @"$T/cpu.pb.gz" "$R/ingest?$q"
expect_shape "raw gzipped pprof" "/ingest?$q" "$T/cpu.pb.gz" \
	content-type=application/octet-stream user-agent=node "accept-encoding=gzip, deflate"
RAW_PPROF_BODY=$BODY
# The pprof is also accepted uncompressed (the server sniffs gzip).
q="format=pprof&from=$FROM&name=$NODE_NAME&spyName=nodespy&until=$UNTIL"
upload -H 'Content-Type: application/octet-stream' --data-binary @"$T/cpu.pb" "$R/ingest?$q"
expect_shape "raw uncompressed pprof" "/ingest?$q" "$T/cpu.pb" content-type=application/octet-stream

# --- 2. multipart pprof as the Go SDK sends it: profile, prev_profile, sample_type_config
B=$(head -c 30 /dev/urandom | hexof)	# Go's mime/multipart: 30 random bytes in hex
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="profile"; filename="profile.pprof"\r\n' "$B"
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	cat "$T/cpu.pb.gz"
	printf '\r\n--%s\r\nContent-Disposition: form-data; name="prev_profile"; filename="profile.pprof"\r\n' "$B"
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	cat "$T/prev.pb.gz"
	printf '\r\n--%s\r\nContent-Disposition: form-data; name="sample_type_config"; filename="sample_type_config.json"\r\n' "$B"
	printf 'Content-Type: application/octet-stream\r\n\r\n'
	printf '{"alloc_objects":{"units":"objects"},"alloc_space":{"units":"bytes"},"inuse_objects":{"units":"objects","aggregation":"average"},"inuse_space":{"units":"bytes","aggregation":"average"}}'
	printf '\r\n--%s--\r\n' "$B"
} >"$T/go.multipart"
# Go names already carry __session_id__: the relay leaves them alone.
GO_NAME='go-app.cpu%7B__session_id__%3D1f2e3d4c5b6a7980%2Cprocess.runtime.name%3Dgo%2Cservice_git_ref%3Dv1.2.3%7D'
q="aggregationType=sum&from=${FROM}000000000&name=$GO_NAME&sampleRate=100&spyName=gospy&units=samples&until=${UNTIL}000000000"
upload -H "Content-Type: multipart/form-data; boundary=$B" -H 'User-Agent: Go-http-client/1.1' \
	-H 'Authorization: Basic MTIzNDU2OmdsY19kdW1teQ==' -H 'X-Scope-OrgID: tenant-go' \
	-H 'Accept-Encoding: gzip' --data-binary @"$T/go.multipart" "$R/ingest?$q"
expect_shape "Go multipart pprof" "/ingest?$q" "$T/go.multipart" \
	"content-type=multipart/form-data; boundary=$B" user-agent=Go-http-client/1.1 \
	"authorization=Basic MTIzNDU2OmdsY19kdW1teQ==" x-scope-orgid=tenant-go accept-encoding=gzip
for part in 'name="profile"; filename="profile.pprof"' 'name="prev_profile"; filename="profile.pprof"' \
	'name="sample_type_config"; filename="sample_type_config.json"'; do
	check "Go multipart: part $part arrived intact" grep -aqF "Content-Disposition: form-data; $part" "$BODY"
done

# --- 3. multipart JFR as the Java agent sends it: parts jfr and labels, format=jfr --------
B=$(cat /proc/sys/kernel/random/uuid)	# OkHttp: a UUID boundary
{ printf 'FLR\0\0\2\0\1'; head -c 6000 /dev/urandom; } | gzip -n -c >"$T/jfr.gz"
# A LabelsSnapshot: contexts {1: {labels {1: 2}}}, strings {1: "handler", 2: "busy"}
pb_len 1 "$(pb_int 1 1)$(pb_len 2 "$(pb_len 1 "$(pb_int 1 1)$(pb_int 2 2)")")" >"$T/labels.hex"
{ cat "$T/labels.hex"; pb_len 2 "$(pb_int 1 1)$(pb_str 2 handler)"; pb_len 2 "$(pb_int 1 2)$(pb_str 2 busy)"; } |
	unhex | gzip -n -c >"$T/labels.gz"
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="jfr"; filename="jfr"\r\n' "$B"
	printf 'Content-Length: %d\r\n\r\n' "$(stat -c %s "$T/jfr.gz")"
	cat "$T/jfr.gz"
	printf '\r\n--%s\r\nContent-Disposition: form-data; name="labels"; filename="labels"\r\n' "$B"
	printf 'Content-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$T/labels.gz")"
	cat "$T/labels.gz"
	printf '\r\n--%s--\r\n' "$B"
} >"$T/java.multipart"
JAVA_NAME='java-app.itimer%7Botel.scope.name%3Dcom.grafana.pyroscope%2Fjava%2Cservice_name%3Djava-app%7D'
q="name=$JAVA_NAME&units=samples&aggregationType=sum&sampleRate=100&from=$FROM&until=$UNTIL&spyName=javaspy&format=jfr"
upload -H "Content-Type: multipart/form-data; boundary=$B" -H 'User-Agent: okhttp/4.12.0' \
	-H 'Authorization: Bearer java-token' --data-binary @"$T/java.multipart" "$R/ingest?$q"
expect_shape "Java multipart JFR" "/ingest?$q" "$T/java.multipart" \
	"content-type=multipart/form-data; boundary=$B" user-agent=okhttp/4.12.0 "authorization=Bearer java-token"

# --- 4. the text formats: folded (default), lines; the session id goes into name --------
printf 'main;work;compute 30\nmain;work;io 7\nmain;idle 1\n' >"$T/folded.txt"
upload --data-binary @"$T/folded.txt" "$R/ingest?name=text-app.cpu&from=$FROM&until=$UNTIL&spyName=rbspy&sampleRate=100&units=samples&aggregationType=sum"
SID=$(sed -n '1s/.*__session_id__%3D\([0-9a-f]\{16\}\)%7D.*/\1/p' "$HEAD")
check "folded: a 16-hex session id added to name" test -n "$SID"
expect_shape "folded text" \
	"/ingest?name=text-app.cpu%7B__session_id__%3D$SID%7D&from=$FROM&until=$UNTIL&spyName=rbspy&sampleRate=100&units=samples&aggregationType=sum" \
	"$T/folded.txt" content-type=application/x-www-form-urlencoded

printf 'main;work;compute\nmain;work;compute\nmain;idle\n' >"$T/lines.txt"
upload -H 'Content-Type: text/plain' --data-binary @"$T/lines.txt" \
	"$R/ingest?name=text-app.cpu%7Benv%3Dprod%7D&format=lines&from=$FROM&until=$UNTIL"
expect_shape "lines" "/ingest?name=text-app.cpu%7B__session_id__%3D$SID%2Cenv%3Dprod%7D&format=lines&from=$FROM&until=$UNTIL" \
	"$T/lines.txt" content-type=text/plain

# --- 5. trie and tree binaries (old eBPF/PHP agents), chosen by Content-Type ---------------
# transporttrie: root -> "main;wo" -> {"rk 30", "w 2"}, with NUL, CR/LF and high bytes inside.
{
	printf '\0\0\1\7main;wo\0\2'
	printf '\2rk\x1e\0'
	printf '\4w\r\n\xff\2\0'
} >"$T/trie.bin"
upload -H 'Content-Type: binary/octet-stream+trie' --data-binary @"$T/trie.bin" \
	"$R/ingest?name=ebpf-app.cpu%7Bk.a%3D1%7D&from=$FROM&until=$UNTIL&spyName=ebpfspy"
expect_shape "trie (by Content-Type)" "/ingest?name=ebpf-app.cpu%7Bk.a%3D1%7D&from=$FROM&until=$UNTIL&spyName=ebpfspy" \
	"$T/trie.bin" content-type=binary/octet-stream+trie
# tree, no dict: root -> main -> {work 30, idle 2}
printf '\0\0\1\4main\0\2\4work\x1e\0\4idle\2\0' >"$T/tree.bin"
upload -H 'Content-Type: binary/octet-stream+tree' --data-binary @"$T/tree.bin" \
	"$R/ingest?name=ebpf-app.cpu%7Bk.a%3D1%7D&format=tree&from=$FROM&until=$UNTIL"
expect_shape "tree" "/ingest?name=ebpf-app.cpu%7Bk.a%3D1%7D&format=tree&from=$FROM&until=$UNTIL" \
	"$T/tree.bin" content-type=binary/octet-stream+tree

# --- 6. Content-Encoding: gzip passes through, the body is not decompressed (pyroscope-rs <= 0.5)
q="name=py-app.cpu%7Bk.b%3D2%7D&from=$FROM&until=$UNTIL&format=pprof&sampleRate=100&spyName=pyspy"
upload -H 'Content-Type: binary/octet-stream' -H 'Content-Encoding: gzip' \
	-H 'User-Agent: pyroscope-rs/0.5.7 reqwest' -H 'Authorization: Bearer py-token' \
	--data-binary @"$T/cpu.pb.gz" "$R/ingest?$q"
expect_shape "Content-Encoding gzip" "/ingest?$q" "$T/cpu.pb.gz" content-type=binary/octet-stream \
	content-encoding=gzip "user-agent=pyroscope-rs/0.5.7 reqwest" "authorization=Bearer py-token"

# --- 7. /pyroscope/ingest ------------------------------------------------------------
q="format=pprof&name=$NODE_NAME&from=$FROM&until=$UNTIL"
upload -H 'Content-Type: application/octet-stream' --data-binary @"$T/cpu.pb.gz" "$R/pyroscope/ingest?$q"
expect_shape "/pyroscope/ingest" "/pyroscope/ingest?$q" "$T/cpu.pb.gz" content-type=application/octet-stream

# --- 8. chunked uploads: curl's, and a hand-made one with uneven chunks and a trailer ----
head -c 300000 /dev/urandom >"$T/chunked.bin"
q="format=pprof&name=$NODE_NAME"
upload -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
	--data-binary @"$T/chunked.bin" "$R/ingest?$q"
expect_shape "chunked (curl)" "/ingest?$q" "$T/chunked.bin" content-type=application/octet-stream
{
	printf 'POST /ingest?%s HTTP/1.1\r\nHost: localhost:4040\r\nContent-Type: application/octet-stream\r\n' "$q"
	printf 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
	printf '%x\r\n' 100; head -c 100 "$T/cpu.pb.gz"; printf '\r\n'
	printf '%X\r\n' $(($(stat -c %s "$T/cpu.pb.gz") - 100)); tail -c +101 "$T/cpu.pb.gz"; printf '\r\n'
	printf '0\r\nX-Trailer: t\r\n\r\n'
} >"$T/chunked.http"
n=$(($(count_requests up) + 1))
CODE=$(send_raw "$T/chunked.http")
CODE=${CODE#HTTP/1.1 }; CODE=${CODE%% *}
HEAD=$(printf '%s/up/req-%03d.head' "$T" "$n"); BODY=${HEAD%.head}.body
wait_until 10 test -f "$HEAD" || true
expect_shape "chunked (two uneven chunks, upper-case hex, a trailer)" "/ingest?$q" "$T/cpu.pb.gz" \
	content-type=application/octet-stream

# --- 9. Expect: 100-continue on a 4 MiB body ----------------------------------------------
# curl waits --expect100-timeout for "100 Continue" before sending the body. The relay must
# answer it: curl's trace shows it, and the upload does not take the 30 s timeout.
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
q="format=pprof&name=$NODE_NAME&from=$FROM&until=$UNTIL"
start=$(date +%s%N)
upload -v --expect100-timeout 30 -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
	--data-binary @"$T/big.bin" "$R/ingest?$q" 2>"$T/curl-expect.log"
ms=$((($(date +%s%N) - start) / 1000000))
check "100-continue: the relay sent '100 Continue'" grep -q '^< HTTP/1.1 100 Continue' "$T/curl-expect.log"
limit=$((15000 * SLOW)); [ $limit -gt 25000 ] && limit=25000
check "100-continue: answered without the client's 30 s wait (took ${ms} ms)" test "$ms" -lt "$limit"
expect_shape "100-continue, 4 MiB" "/ingest?$q" "$T/big.bin" content-type=application/octet-stream

# --- 10. unusual but valid query bytes, kept byte for byte --------------------------------
# %2F and lower-case %2f, '+', a %-escaped '%', repeated keys, empty values, an empty key, a
# key without '=', sub-delims, ':' '@' '/' '?' inside values, and a second name=.
q='name=odd.app%7Bk.x%3Da%2Fb%7D&a=%2F&b=+x+&c=&c=&c=2&=v&d&e=a%2fb&f=%7e*~!$%27()&g=a:b@c/d?e&h=%252F&i=%20&name=second'
upload -H 'Content-Type: application/octet-stream' --data-binary @"$T/cpu.pb.gz" "$R/ingest?$q"
expect_shape "unusual query bytes" "/ingest?$q" "$T/cpu.pb.gz"
# With a name the session module rewrites, every byte around the name value stays.
q1='x=%2F&y=+&z=&z=&w&name=' q2='&name=app2&v=a%2fb%7e&empty='
upload --data-binary @"$T/folded.txt" "$R/ingest?${q1}odd-app.cpu%7Benv%3Dx%7D$q2"
is "$(head -1 "$HEAD")" "POST /ingest?${q1}odd-app.cpu%7B__session_id__%3D$SID%2Cenv%3Dx%7D$q2" \
	"unusual query with a rewritten name: only the first name value changes"
is "$(sha "$BODY")" "$(sha "$T/folded.txt")" "unusual query with a rewritten name: body byte-exact"
# A name with a '+' (a space) does not parse: left as sent.
q='name=my+app.cpu&from=1'
upload --data-binary @"$T/folded.txt" "$R/ingest?$q"
is "$(head -1 "$HEAD")" "POST /ingest?$q" "a name that does not parse is left as sent"
# No query at all, and a bare '?'.
upload --data-binary @"$T/folded.txt" "$R/ingest"
is "$(head -1 "$HEAD")" "POST /ingest" "no query: none added"

# --- 11. other paths and methods ---------------------------------------------------------
# The relay relays every path (as the original did) with GET, POST, PUT, DELETE, OPTIONS,
# PATCH and HEAD; each is answered 200 at once and forwarded with its body. TRACE and
# CONNECT are refused (501) and never forwarded.
printf '{"resourceProfiles":[]}' >"$T/otlp.json"
upload -H 'Content-Type: application/json' --data-binary @"$T/otlp.json" "$R/v1development/profiles"
expect_shape "OTLP/HTTP path" "/v1development/profiles" "$T/otlp.json" content-type=application/json
upload -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' --data-binary @"$T/labels.gz" \
	"$R/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
expect_shape "OTLP Connect path" "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export" \
	"$T/labels.gz" content-type=application/x-protobuf content-encoding=gzip
for m in GET DELETE OPTIONS; do
	upload -X "$m" "$R/some/other/path?m=$m&x=%2F"
	is "$CODE" 200 "$m: answered 200"
	is "$(head -1 "$HEAD" 2>/dev/null)" "$m /some/other/path?m=$m&x=%2F" "$m: relayed with path and query"
done
for m in PUT PATCH; do
	upload -X "$m" -H 'Content-Type: application/octet-stream' --data-binary @"$T/tree.bin" "$R/api/$m?a=1"
	is "$CODE" 200 "$m: answered 200"
	is "$(head -1 "$HEAD" 2>/dev/null)" "$m /api/$m?a=1" "$m: relayed with path and query"
	is "$(sha "$BODY" 2>/dev/null)" "$(sha "$T/tree.bin")" "$m: body byte-exact"
done
n=$(($(count_requests up) + 1))
CODE=$(curl -s -I -o /dev/null -w '%{http_code}' --max-time $((10 * SLOW)) "$R/ingest?head=1")
HEAD=$(printf '%s/up/req-%03d.head' "$T" "$n")
wait_until 10 test -f "$HEAD" || true
is "$CODE" 200 "HEAD: answered 200"
is "$(head -1 "$HEAD" 2>/dev/null)" "HEAD /ingest?head=1" "HEAD: relayed"
before=$(count_requests up)
for m in TRACE CONNECT; do
	printf '%s /ingest?m=%s HTTP/1.1\r\nHost: localhost:4040\r\nConnection: close\r\n\r\n' "$m" "$m" >"$T/m.http"
	status=$(send_raw "$T/m.http")
	is "${status%% Not Implemented}" "HTTP/1.1 501" "$m: refused with 501"
done
# A later upload on the queue proves the refused ones were never queued before it.
upload --data-binary @"$T/folded.txt" "$R/ingest?name=after.cpu"
is "$(count_requests up)" $((before + 1)) "TRACE and CONNECT never reached the remote"

# --- optional: the pprof the sink got decodes with pprof-format, when the npm tests (push_connect.sh,
# sdk_nodejs.sh) have installed it in their cache; this test never installs anything.
# decode_pprof DIR FILE: "<sample types> samples=N" (exit 0), or exit 3 when pprof-format does
# not load; a shared lock waits out an install in progress (push_connect.sh's npm_ready).
decode_pprof() {
	local lock=$1/.lock
	[ -f "$lock" ] || lock=/dev/null
	{
		command -v flock >/dev/null 2>&1 && { flock -s -w 30 9 || return 3; }
		timeout 30 node -e '
			let Profile;
			try { ({ Profile } = require(process.argv[1] + "/node_modules/pprof-format")); } catch (e) { process.exit(3); }
			try {
				const p = Profile.decode(require("zlib").gunzipSync(require("fs").readFileSync(process.argv[2])));
				const s = i => p.stringTable.strings[Number(i)];
				console.log(p.sampleType.map(v => s(v.type) + "/" + s(v.unit)).join(",") + " samples=" + p.sample.length);
			} catch (e) { console.log("decode failed: " + e.message); }
		' "$1" "$2"
	} 9<"$lock"
}
PF=""
for d in "${PYROSCOPE_TEST_NPM_CACHE:-${HOME:-/tmp}/.cache/pyroscope-relay-tests}"/*/; do
	[ -f "$d/node_modules/pprof-format/package.json" ] && PF=${d%/} && break
done
if [ -n "$PF" ] && command -v node >/dev/null 2>&1 && got=$(decode_pprof "$PF" "$RAW_PPROF_BODY" 2>/dev/null); then
	is "$got" "samples/count,cpu/nanoseconds samples=2" "the raw pprof the sink got decodes with pprof-format"
else
	skip_point "pprof-format is not installed or does not load (the npm tests install it)"
fi

stop_relay
is "$RELAY_STATUS" 0 "SIGTERM: exit 0"
total=$(count_requests up)
check "summary: every accepted upload delivered ($total)" grep -q "received=$total delivered=$total dropped=0" "$T/relay.log"
done_testing
