#!/bin/bash
# bench.sh -- the relay and an nginx reverse proxy side by side on loopback: throughput, latency, smoke.
#
# usage: tools/bench.sh [--latency | --smoke] [options]
#        make bench [BENCH_ARGS='--latency ...']          (from a configured build directory)
#
#   (default)   Throughput. wrk (-t2 -c8, POST of a 16 KiB application/octet-stream body to
#               /ingest) against nginx (1 worker, proxy_pass to a kept-alive upstream) and
#               against the relay (dev mode), both in front of the same upstream nginx, which
#               reads every body and answers 200. The two run in interleaved slices (nginx,
#               relay, relay, nginx, ...) so that a drift of the machine weighs on both. After
#               each relay slice the relay's queue is drained before its delivered uploads are
#               counted (its /metrics); nginx's delivered uploads are counted at the upstream
#               (its access log). CPU is user+sys of the relay and of nginx's master+worker
#               (/proc/PID/stat). One table: accepted/s, delivered/s, ratio, CPU per delivered
#               upload, wrk's p50/p99, idle and peak RSS.
#   --latency   Latency. One client, sequential uploads on a kept-alive connection
#               (tools/bench/bench-seq): (1) the remote (pyroscope-sink --delay-ms 100)
#               answers after 100 ms: the SDK-visible p50/p99 of the relay, and of nginx in
#               front of the same remote for reference; (2) a remote that answers at once
#               (bench-seq itself): when each upload reaches the remote, p50/p99, and the
#               relay's own upstream request time (its histogram's sum/count).
#   --count     Cost per upload, counted: system calls (strace -c) and instructions in the event
#               loop (valgrind --tool=callgrind) over --uploads sequential uploads; repeatable.
#   --smoke     Both, about 2 s of measuring; checks only that everything ran and that the
#               relay delivered uploads. `tools/run.sh test` runs it.
#
# options:
#   --slices N         slices per system (default 4)
#   --seconds S        seconds per slice, whole seconds (default 5)
#   --threads N        wrk threads (default 2)
#   --connections N    wrk connections (default 8)
#   --uploads N        sequential uploads per latency run (default 200)
#   --delay-ms MS      the slow remote's answer time in the latency mode (default 100)
#   --size BYTES       body size (default 16384)
#   --relay-workers N  PYROSCOPE_NUM_WORKERS of the relay (default 8, as many as wrk's connections)
#   --port-base P      use ports P, P+1, ... instead of picking free ones
#   --keep             keep the scratch directory (logs, configurations) and print its path
#
# Environment: RELAY_BIN, SINK_BIN and BENCH_SEQ_BIN (default: ./build/pyroscope-lambda-extension,
# ./build/pyroscope-sink, ./build/tools/bench/bench-seq; bench-seq is built there if missing).
# Other PYROSCOPE_* variables reach the relay, except those set here (dev mode, the listen and
# remote addresses, the number of workers). nginx and wrk are installed with
# `tools/deps-debian.sh bench` when missing. Every process runs as the invoking user, listens on
# 127.0.0.1 only, keeps its files in one temporary directory, and is stopped at exit.
set -euo pipefail
export LC_ALL=C

top=$(cd "$(dirname "$0")/.." && pwd)
RELAY_BIN=${RELAY_BIN:-./build/pyroscope-lambda-extension}
SINK_BIN=${SINK_BIN:-./build/pyroscope-sink}
BENCH_SEQ_BIN=${BENCH_SEQ_BIN:-./build/tools/bench/bench-seq}

mode=throughput smoke=""
slices=4 seconds=5 threads=2 conns=8 uploads=200 delay_ms=100 size=16384 relay_workers=8
port_base="" keep=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] || { echo "bench: $1 needs a number >= $3, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--latency) mode=latency ;;
	--count) mode=count ;;
	--smoke) smoke=1 ;;
	--slices) num "$1" "${2-}" 1; slices=$2; shift ;;
	--seconds) num "$1" "${2-}" 1; seconds=$2; shift ;;
	--threads) num "$1" "${2-}" 1; threads=$2; shift ;;
	--connections) num "$1" "${2-}" 1; conns=$2; shift ;;
	--uploads) num "$1" "${2-}" 1; uploads=$2; shift ;;
	--delay-ms) num "$1" "${2-}" 0; delay_ms=$2; shift ;;
	--size) num "$1" "${2-}" 1; size=$2; shift ;;
	--relay-workers) num "$1" "${2-}" 1; relay_workers=$2; shift ;;
	--port-base) num "$1" "${2-}" 1024; port_base=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ -n "$smoke" ]; then
	slices=1 seconds=1 uploads=10
fi
[ "$conns" -ge "$threads" ] || { echo "bench: --connections must be >= --threads" >&2; exit 2; }

say() { printf '%s\n' "$*"; }
# die REASON [LOG]: the reason and the end of LOG, then exit 1 (everything started is stopped).
die() {
	echo "bench: $1" >&2
	if [ $# -ge 2 ] && [ -s "$2" ]; then
		echo "bench: last lines of $(basename "$2"):" >&2
		tail -n 15 "$2" | sed 's/^/  | /' >&2
	fi
	exit 1
}

# ---- what is needed ----
for b in RELAY_BIN SINK_BIN; do
	[ -x "${!b}" ] || die "$b=${!b} is not an executable; build first (cd build && ../configure && make), or set $b"
done
if [ ! -x "$BENCH_SEQ_BIN" ] && [ -f "$(dirname "$(dirname "$(dirname "$BENCH_SEQ_BIN")")")/Makefile" ]; then
	make -s -C "$(dirname "$(dirname "$(dirname "$BENCH_SEQ_BIN")")")" tools/bench/bench-seq >/dev/null ||
	    die "could not build tools/bench/bench-seq"
fi
[ -x "$BENCH_SEQ_BIN" ] || die "BENCH_SEQ_BIN=$BENCH_SEQ_BIN is not an executable; run 'make tools/bench/bench-seq' in the build directory"
RELAY_BIN=$(cd "$(dirname "$RELAY_BIN")" && pwd)/$(basename "$RELAY_BIN")
SINK_BIN=$(cd "$(dirname "$SINK_BIN")" && pwd)/$(basename "$SINK_BIN")
BENCH_SEQ_BIN=$(cd "$(dirname "$BENCH_SEQ_BIN")" && pwd)/$(basename "$BENCH_SEQ_BIN")

PATH=$PATH:/usr/sbin:/sbin
have_tools() { command -v nginx && command -v wrk && command -v curl && command -v ss && command -v ps; } >/dev/null 2>&1
if ! have_tools; then
	echo "bench: installing nginx and wrk (tools/deps-debian.sh bench)"
	sh "$top/tools/deps-debian.sh" bench || die "tools/deps-debian.sh bench failed; install nginx, wrk, curl, iproute2 and procps"
	hash -r
fi
for t in nginx wrk curl ss ps; do
	command -v "$t" >/dev/null 2>&1 || die "'$t' is missing; run 'sh tools/deps-debian.sh bench' as root (Debian 12), or install it"
done

# ---- processes: every one is stopped at exit ----
work=$(mktemp -d "${TMPDIR:-/tmp}/relay-bench.XXXXXX")
pids=""
children() { ps -o pid= --ppid "$1" | tr -d ' ' | tr '\n' ' ' || true; }
stop() {	# stop PID: SIGTERM, then SIGKILL (and to its children, nginx's workers) after 15 s
	local p=$1 i k kids
	kids=$(children "$p")
	kill -TERM "$p" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.05
	done
	if kill -KILL "$p" 2>/dev/null; then
		for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
	fi
	wait "$p" 2>/dev/null || true
	pids=$(printf '%s\n' $pids | grep -vx "$p" | tr '\n' ' ' || true)
}
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in $pids; do stop "$p"; done
	if [ -n "$keep" ]; then echo "bench: files kept in $work"; else rm -rf "$work"; fi
}
# run OUT CMD...: CMD with its output in OUT, in the background so that a signal stops the
# whole run at once; returns CMD's status.
run() {
	local out=$1 p rc=0
	shift
	"$@" >"$out" 2>&1 &
	p=$!
	pids="$pids $p"
	wait "$p" || rc=$?
	pids=$(printf '%s\n' $pids | grep -vx "$p" | tr '\n' ' ' || true)
	return $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports ----
ports_given=""
port_used() { [ -n "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ] || [[ " $ports_given " == *" $1 "* ]]; }
# pick_port: sets $port to a port below the ephemeral range that nothing uses (or to the next
# one from --port-base).
pick_port() {
	local p lo i
	if [ -n "$port_base" ]; then
		p=$port_base
		while [[ " $ports_given " == *" $p "* ]]; do p=$((p + 1)); done
		[ "$p" -le 65535 ] || die "--port-base $port_base: no ports left"
		port_used "$p" && die "port $p on 127.0.0.1 is taken by another program; pass another --port-base, or none to pick free ports"
	else
		read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
		[ "$lo" -gt 12000 ] || lo=32768
		for ((i = 0; i < 500; i++)); do
			p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
			port_used "$p" || break
		done
		port_used "$p" && die "found no free port on 127.0.0.1"
	fi
	ports_given="$ports_given $p"
	port=$p
}
# wait_listen PORT PID NAME LOG: until something accepts on 127.0.0.1:PORT (10 s at most).
wait_listen() {
	local i
	for ((i = 0; i < 200; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	grep -q 'Address already in use' "$4" 2>/dev/null && die "$3: port $1 on 127.0.0.1 is taken by another program" "$4"
	kill -0 "$2" 2>/dev/null || die "$3 exited at start" "$4"
	die "$3 does not accept connections on 127.0.0.1:$1 after 10 s" "$4"
}

# ---- nginx ----
nginx_user=""
[ "$(id -u)" -eq 0 ] && nginx_user="user root root;"
nginx_conf() {	# nginx_conf NAME: main and http lines shared by every nginx here
	cat <<EOF
$nginx_user
worker_processes 1;
daemon off;
pid $work/$1.pid;
error_log $work/$1.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	default_type application/octet-stream;
	client_body_temp_path $work/$1.tmp-body;
	proxy_temp_path $work/$1.tmp-proxy;
	fastcgi_temp_path $work/$1.tmp-fastcgi;
	uwsgi_temp_path $work/$1.tmp-uwsgi;
	scgi_temp_path $work/$1.tmp-scgi;
	client_max_body_size 64m;
	client_body_buffer_size $(( size > 65536 ? size + 1024 : 65536 ));
	keepalive_requests 1000000;
	keepalive_timeout 300s;
EOF
}
# start_nginx NAME: runs nginx with $work/NAME.conf; sets $started.
start_nginx() {
	nginx -t -q -p "$work" -c "$work/$1.conf" -e "$work/$1.err" >>"$work/$1.err" 2>&1 ||
	    die "nginx rejects the $1 configuration" "$work/$1.err"
	nginx -p "$work" -c "$work/$1.conf" -e "$work/$1.err" >>"$work/$1.err" 2>&1 &
	started=$!
	pids="$pids $started"
}
# The upstream: reads every body (the mirror subrequest needs it in full; nginx counts it in
# $request_length only when read) and answers 200 with no body. One server per proxy, each
# with its own access log: "STATUS REQUEST_LENGTH" per request.
start_upstream() {	# start_upstream PORT_FOR_NGINX PORT_FOR_RELAY
	{
		nginx_conf upstream
		printf '\tlog_format bench "$status $request_length";\n'
		for s in "nginx $1" "relay $2"; do
			set -- $s
			cat <<EOF
	server {
		listen 127.0.0.1:$2;
		access_log $work/upstream-$1.log bench buffer=64k flush=100ms;
		location / {
			mirror /.bench-read-body;
			mirror_request_body on;
			empty_gif;
			error_page 405 =200 @answer;
		}
		location = /.bench-read-body { internal; return 204; }
		location @answer { return 200; }
	}
EOF
		done
		echo "}"
	} >"$work/upstream.conf"
	start_nginx upstream
	upstream_pid=$started
}
start_proxy() {	# start_proxy NAME LISTEN_PORT REMOTE_PORT: nginx as a reverse proxy; sets $proxy_pid
	{
		nginx_conf "$1"
		cat <<EOF
	upstream remote {
		server 127.0.0.1:$3;
		keepalive 32;
		keepalive_requests 1000000;
		keepalive_timeout 300s;
	}
	server {
		listen 127.0.0.1:$2;
		location / {
			proxy_pass http://remote;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
	} >"$work/$1.conf"
	start_nginx "$1"
	proxy_pid=$started
	wait_listen "$2" "$proxy_pid" "nginx ($1)" "$work/$1.err"
}

# ---- the relay ----
start_relay() {	# start_relay NAME REMOTE_PORT: sets $relay_pid and $relay_port
	pick_port
	relay_port=$port
	relay_log=$work/$1.log
	env PYROSCOPE_DEV_MODE=true PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$2" \
	    PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$relay_port" PYROSCOPE_NUM_WORKERS="$relay_workers" \
	    "$RELAY_BIN" 2>"$relay_log" &
	relay_pid=$!
	pids="$pids $relay_pid"
	wait_listen "$relay_port" "$relay_pid" relay "$relay_log"
}
metrics() { curl -fsS --max-time 5 "http://127.0.0.1:$relay_port/metrics"; }
metric() {	# metric TEXT NAME: the value of sample NAME (name with labels, exact)
	awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }' <<<"$1"
}
# drain: waits until the relay has nothing queued or in flight (120 s at most).
drain() {
	local m end=$((SECONDS + 120))
	while [ "$SECONDS" -le "$end" ]; do
		m=$(metrics) || die "the relay's /metrics does not answer" "$relay_log"
		[ "$(metric "$m" pyroscope_relay_queued_profiles)" = 0 ] &&
		    [ "$(metric "$m" pyroscope_relay_in_flight_profiles)" = 0 ] && return 0
		sleep 0.05
	done
	die "the relay's queue did not drain within 120 s"
}

# ---- /proc ----
cpu_ticks() {	# cpu_ticks PID...: user+sys clock ticks, summed
	local p line rest sum=0
	for p; do
		read -r line <"/proc/$p/stat" || continue
		rest=${line##*) }
		set -- $rest
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}
status_kb() {	# status_kb FIELD PID...: a /proc/PID/status field in kB, summed
	local f=$1 p sum=0 v
	shift
	for p; do
		v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || v=0
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
now() { echo "$EPOCHREALTIME"; }
calc() { awk "BEGIN { printf \"$1\n\", ($2) }"; }
hz=$(getconf CLK_TCK)

versions() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	say "machine: $(nproc) cores${cpu:+ ($cpu)}, Linux $(uname -r)"
	say "versions: $("$RELAY_BIN" --version 2>&1 | head -n 1), $(nginx -v 2>&1 | sed 's/^nginx version: //'), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')"
}

# ---- throughput ----
# upstream_count NAME: sets $up_ok and $up_bad to the new lines in upstream-NAME.log since the
# last call: answered 200 with the whole body read, or not. Waits until nginx has written its
# buffered lines.
declare -A log_off
upstream_count() {
	local f=$work/upstream-$1.log a b i r
	b=$(stat -c %s "$f" 2>/dev/null || echo 0)
	for ((i = 0; i < 50; i++)); do
		sleep 0.15
		a=$b
		b=$(stat -c %s "$f" 2>/dev/null || echo 0)
		[ "$a" = "$b" ] && break
	done
	r=$(tail -c +"$(( ${log_off[$1]:-0} + 1 ))" "$f" 2>/dev/null | head -c "$((b - ${log_off[$1]:-0}))" |
	    awk -v min="$size" '$1 == 200 && $2 >= min { ok++; next } { bad++ } END { print ok + 0, bad + 0 }')
	read -r up_ok up_bad <<<"$r"
	log_off[$1]=$b
}
# slice SYSTEM N: one wrk run against SYSTEM; appends a line to $work/slices.
slice() {
	local sys=$1 n=$2 port pids_cpu c0 c1 t1 t2 out wrk_line d0 d1 m0 m1 delivered drain_s ok bad r reason k line
	if [ "$sys" = nginx ]; then
		port=$proxy_port
	else
		port=$relay_port
		m0=$(metrics) || die "the relay's /metrics does not answer" "$relay_log"
	fi
	upstream_count "$sys"
	if [ "$sys" = nginx ]; then pids_cpu="$proxy_pid $(children "$proxy_pid")"; else pids_cpu=$relay_pid; fi
	c0=$(cpu_ticks $pids_cpu)
	out=$work/wrk-$n-$sys.out
	run "$out" env BENCH_BODY_BYTES="$size" timeout $((seconds + 60)) wrk -t"$threads" -c"$conns" \
	    -d"${seconds}s" --timeout 10s --latency -s "$top/tools/bench/post.lua" "http://127.0.0.1:$port/" ||
	    die "wrk failed against $sys" "$out"
	t1=$(now)
	wrk_line=$(grep '^bench-wrk ' "$out") || die "wrk printed no summary" "$out"
	drain_s=0
	if [ "$sys" = relay ]; then
		drain
		t2=$(now)
		drain_s=$(calc %.3f "$t2 - $t1")
	fi
	upstream_count "$sys"
	ok=$up_ok bad=$up_bad
	c1=$(cpu_ticks $pids_cpu)
	if [ "$sys" = relay ]; then
		m1=$(metrics) || die "the relay's /metrics does not answer" "$relay_log"
		d0=$(metric "$m0" pyroscope_relay_delivered_profiles_total)
		d1=$(metric "$m1" pyroscope_relay_delivered_profiles_total)
		delivered=$((d1 - d0))
		r="received=$(( $(metric "$m1" pyroscope_relay_received_profiles_total) - $(metric "$m0" pyroscope_relay_received_profiles_total) ))"
		for reason in queue_full rejected failed unsendable shutdown internal too_large too_old; do
			k="pyroscope_relay_dropped_profiles_total{reason=\"$reason\"}"
			r="$r drop_$reason=$(( $(metric "$m1" "$k") - $(metric "$m0" "$k") ))"
		done
	else
		delivered=$ok
		r=""
	fi
	line="sys=$sys $wrk_line delivered=$delivered drain_s=$drain_s cpu_ticks=$((c1 - c0)) upstream_ok=$ok upstream_bad=$bad $r"
	echo "$line" >>"$work/slices"
	awk -v hz="$hz" -v n="$n" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
	    END { d = v["duration_us"] / 1e6; acc = v["requests"] - v["status_errors"];
		printf "  slice %-3s %-5s accepted/s %9.0f  delivered/s %9.1f  CPU %6.2f s  p50 %6.2f ms  p99 %7.2f ms%s\n",
		    n, v["sys"] == "nginx" ? "nginx" : "relay", acc / d, v["delivered"] / (d + v["drain_s"]),
		    v["cpu_ticks"] / hz, v["p50_us"] / 1000, v["p99_us"] / 1000,
		    (v["drain_s"] > 0 ? sprintf("  (queue drained in %.2f s)", v["drain_s"]) : "") }' <<<"$line"
}
throughput() {
	local up_n up_r i k s order
	pick_port; up_n=$port
	pick_port; up_r=$port
	start_upstream "$up_n" "$up_r"
	wait_listen "$up_n" "$upstream_pid" "upstream nginx" "$work/upstream.err"
	wait_listen "$up_r" "$upstream_pid" "upstream nginx" "$work/upstream.err"
	pick_port; proxy_port=$port
	start_proxy proxy "$proxy_port" "$up_n"
	start_relay relay "$up_r"
	sleep 0.5
	idle_nginx=$(status_kb VmRSS "$proxy_pid" $(children "$proxy_pid"))
	idle_relay=$(status_kb VmRSS "$relay_pid")

	say "Throughput: wrk -t$threads -c$conns, POST of $size-byte bodies; $slices slices of ${seconds} s per system"
	say "nginx: 1 worker, proxy_pass to a kept-alive upstream; relay: dev mode, PYROSCOPE_NUM_WORKERS=$relay_workers;"
	say "both in front of the same upstream nginx (1 worker) that reads every body and answers 200"
	: >"$work/slices"
	k=0
	for ((i = 0; i < slices; i++)); do
		if [ $((i % 2)) -eq 0 ]; then order="nginx relay"; else order="relay nginx"; fi
		for s in $order; do
			k=$((k + 1))
			slice "$s" "$k"
		done
	done
	peak_nginx=$(status_kb VmHWM "$proxy_pid" $(children "$proxy_pid"))
	peak_relay=$(status_kb VmHWM "$relay_pid")
	awk -v hz="$hz" -v inr="$idle_relay" -v inn="$idle_nginx" -v pr="$peak_relay" -v pn="$peak_nginx" '
	function med(a, n,   i, j, t) {	# median of a[1..n]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		delete v
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		s = v["sys"]; n[s]++
		dur[s] += v["duration_us"] / 1e6; tot[s] += v["duration_us"] / 1e6 + v["drain_s"]
		acc[s] += v["requests"] - v["status_errors"]; del[s] += v["delivered"]; cpu[s] += v["cpu_ticks"]
		err[s] += v["connect_errors"] + v["read_errors"] + v["write_errors"] + v["timeouts"] + v["status_errors"]
		p50[s, n[s]] = v["p50_us"] / 1000; p99[s, n[s]] = v["p99_us"] / 1000
		upbad[s] += v["upstream_bad"]; upok[s] += v["upstream_ok"]
		for (k in v) if (k ~ /^drop_/ || k == "received") rel[k] += v[k]
	}
	END {
		for (s in n) {
			for (i = 1; i <= n[s]; i++) { a[i] = p50[s, i]; b[i] = p99[s, i] }
			m50[s] = med(a, n[s]); m99[s] = med(b, n[s])
			ds[s] = del[s] / tot[s]
		}
		printf "\n%-34s %16s %16s\n", "", "nginx", "relay"
		printf "%-34s %16.0f %16.0f\n", "accepted/s", acc["nginx"] / dur["nginx"], acc["relay"] / dur["relay"]
		printf "%-34s %16.1f %16.1f\n", "delivered/s", ds["nginx"], ds["relay"]
		printf "%-34s %16s %16.3f\n", "delivered ratio relay/nginx", "", (ds["nginx"] > 0 ? ds["relay"] / ds["nginx"] : 0)
		printf "%-34s %16.1f %16.1f\n", "CPU us per delivered upload",
		    (del["nginx"] ? cpu["nginx"] * 1e6 / hz / del["nginx"] : 0), (del["relay"] ? cpu["relay"] * 1e6 / hz / del["relay"] : 0)
		printf "%-34s %16.1f %16.1f\n", "CPU us per accepted upload",
		    (acc["nginx"] ? cpu["nginx"] * 1e6 / hz / acc["nginx"] : 0), (acc["relay"] ? cpu["relay"] * 1e6 / hz / acc["relay"] : 0)
		printf "%-34s %16s %16s\n", "latency p50 / p99 (ms, wrk)",
		    sprintf("%.2f / %.2f", m50["nginx"], m99["nginx"]), sprintf("%.2f / %.2f", m50["relay"], m99["relay"])
		printf "%-34s %16.1f %16.1f\n", "idle RSS (MiB)", inn / 1024, inr / 1024
		printf "%-34s %16.1f %16.1f\n", "peak RSS (MiB)", pn / 1024, pr / 1024
		printf "%-34s %16d %16d\n", "uploads delivered (total)", del["nginx"], del["relay"]
		printf "%-34s %16d %16d\n", "client errors (wrk)", err["nginx"], err["relay"]
		printf "\nnginx RSS and CPU: master + worker. Delivered/s: the relay'"'"'s time includes draining its queue.\n"
		printf "Latency: median over the slices of wrk'"'"'s per-slice p50 and p99.\n"
		d = ""
		for (k in rel) if (k ~ /^drop_/ && rel[k] > 0) d = d sprintf(" %s=%d", substr(k, 6), rel[k])
		printf "relay drops:%s\n", (d == "" ? " none" : d)
		printf "upstream saw: %d from nginx, %d from the relay", upok["nginx"], upok["relay"]
		if (upbad["nginx"] + upbad["relay"] > 0)
			printf " (and %d requests not answered 200 or not read in full)", upbad["nginx"] + upbad["relay"]
		printf "\n"
	}' "$work/slices" | tee "$work/table"
	relay_delivered_total=$(awk '$1 == "sys=relay" { for (i = 1; i <= NF; i++) if ($i ~ /^delivered=/) { sub(/.*=/, "", $i); s += $i } } END { print s + 0 }' "$work/slices")
	stop "$relay_pid"
	stop "$proxy_pid"
	stop "$upstream_pid"
}

# ---- latency ----
# seq_run NAME ARGS...: bench-seq, its output in $work/seq-NAME.out
seq_run() {
	local name=$1
	shift
	run "$work/seq-$name.out" timeout $((uploads * (delay_ms + 1000) / 1000 + 120)) \
	    "$BENCH_SEQ_BIN" --size "$size" --count "$uploads" --warmup 3 "$@" ||
	    die "bench-seq failed ($name)" "$work/seq-$name.out"
}
seq_get() {	# seq_get NAME SERIES FIELD: e.g. seq_get relay-slow sdk p50_us, in ms
	awk -v s="$2" -v f="$3" '$1 == s { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) printf "%.2f", kv[2] / 1000 } }' "$work/seq-$1.out"
}
latency() {
	local sink_pid sink_port remote_port m d dropped hsum hcount hp50 i
	say "Latency: $uploads sequential uploads of $size bytes, one client connection (kept alive, TCP_NODELAY)"

	# 1. The remote answers after $delay_ms ms.
	"$SINK_BIN" --listen 127.0.0.1:0 --port-file "$work/sink.port" --delay-ms "$delay_ms" --quiet \
	    >"$work/sink.log" 2>&1 &
	sink_pid=$!
	pids="$pids $sink_pid"
	for ((i = 0; i < 200; i++)); do
		[ -s "$work/sink.port" ] && break
		kill -0 "$sink_pid" 2>/dev/null || die "the sink exited at start" "$work/sink.log"
		sleep 0.05
	done
	[ -s "$work/sink.port" ] || die "the sink did not report its port in 10 s" "$work/sink.log"
	sink_port=$(cat "$work/sink.port")
	start_relay relay-slow "$sink_port"
	seq_run relay-slow --target "127.0.0.1:$relay_port"
	drain
	m=$(metrics) || die "the relay's /metrics does not answer" "$relay_log"
	d=$(metric "$m" pyroscope_relay_delivered_profiles_total)
	dropped=$(awk '$1 ~ /^pyroscope_relay_dropped_profiles_total\{/ { s += $2 } END { print s + 0 }' <<<"$m")
	relay_delivered_total=$(( ${relay_delivered_total:-0} + d ))
	stop "$relay_pid"
	pick_port; proxy_port=$port
	start_proxy proxy-slow "$proxy_port" "$sink_port"
	seq_run nginx-slow --target "127.0.0.1:$proxy_port"
	stop "$proxy_pid"
	stop "$sink_pid"

	# 2. The remote answers at once: bench-seq is the remote and sees each upload arrive.
	pick_port; remote_port=$port
	start_relay relay-fast "$remote_port"
	seq_run relay-fast --target "127.0.0.1:$relay_port" --remote "127.0.0.1:$remote_port"
	drain
	m=$(metrics) || die "the relay's /metrics does not answer" "$relay_log"
	hsum=$(metric "$m" pyroscope_relay_upstream_request_duration_seconds_sum)
	hcount=$(metric "$m" pyroscope_relay_upstream_request_duration_seconds_count)
	# the smallest histogram bound that holds half of the requests
	hp50=$(awk -v c="$hcount" '$1 ~ /^pyroscope_relay_upstream_request_duration_seconds_bucket\{le="[0-9.e+-]*"\}$/ &&
	    $2 * 2 >= c && c > 0 { sub(/.*le="/, "", $1); sub(/".*/, "", $1); print $1 * 1000; exit }' <<<"$m")
	relay_delivered_total=$(( relay_delivered_total + $(metric "$m" pyroscope_relay_delivered_profiles_total) ))
	stop "$relay_pid"
	pick_port; proxy_port=$port
	start_proxy proxy-fast "$proxy_port" "$remote_port"
	seq_run nginx-fast --target "127.0.0.1:$proxy_port" --remote "127.0.0.1:$remote_port"
	stop "$proxy_pid"

	{
		printf "\n%-52s %16s %16s\n" "" "nginx" "relay"
		printf "remote answering after %d ms:\n" "$delay_ms"
		printf "%-52s %16s %16s\n" "  SDK-visible p50 / p99 (ms)" \
		    "$(seq_get nginx-slow sdk p50_us) / $(seq_get nginx-slow sdk p99_us)" \
		    "$(seq_get relay-slow sdk p50_us) / $(seq_get relay-slow sdk p99_us)"
		printf "%-52s %16s %16s\n" "  delivered / dropped (relay, after draining)" "" "$d / $dropped"
		printf "remote answering at once:\n"
		printf "%-52s %16s %16s\n" "  upload reaches the remote p50 / p99 (ms)" \
		    "$(seq_get nginx-fast delivery p50_us) / $(seq_get nginx-fast delivery p99_us)" \
		    "$(seq_get relay-fast delivery p50_us) / $(seq_get relay-fast delivery p99_us)"
		printf "%-52s %16s %16s\n" "  SDK-visible p50 / p99 (ms)" \
		    "$(seq_get nginx-fast sdk p50_us) / $(seq_get nginx-fast sdk p99_us)" \
		    "$(seq_get relay-fast sdk p50_us) / $(seq_get relay-fast sdk p99_us)"
		printf "%-52s %16s %16s\n" "  relay upstream request, mean (histogram sum/count)" "" \
		    "$(calc %.2f "$hcount > 0 ? $hsum * 1000 / $hcount : 0") ms"
		printf "%-52s %16s %16s\n" "  relay upstream request p50, histogram bucket" "" "<= ${hp50:-?} ms"
		printf "\n'reaches the remote': from the client's first byte to the remote's last body byte read.\n"
	} | tee -a "$work/table"
}

# The relay's cost per upload, counted rather than timed: sequential uploads on a kept-alive
# connection, the relay run once under `strace -c` (system calls) and once under valgrind's
# callgrind (instructions in the event loop, startup excluded). Repeatable on a busy machine.
count_run() {	# count_run NAME WRAPPER...: the relay under WRAPPER, $uploads uploads through it
	local name=$1 remote_port i
	shift
	pick_port; remote_port=$port
	pick_port; relay_port=$port
	relay_log=$work/$name.log
	env PYROSCOPE_DEV_MODE=true PYROSCOPE_REMOTE_ADDRESS="http://127.0.0.1:$remote_port" \
	    PYROSCOPE_LISTEN_ADDRESS="127.0.0.1:$relay_port" "$@" "$RELAY_BIN" 2>"$relay_log" &
	relay_pid=$!
	pids="$pids $relay_pid"
	wait_listen "$relay_port" "$relay_pid" relay "$relay_log"
	seq_run "$name" --target "127.0.0.1:$relay_port" --remote "127.0.0.1:$remote_port"
	# The relay is the wrapper's child: stopping it lets the wrapper write its report and end.
	pkill -TERM -P "$relay_pid" 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do kill -0 "$relay_pid" 2>/dev/null || break; sleep 0.05; done
	stop "$relay_pid"
	wait "$relay_pid" 2>/dev/null || true
}
count() {
	local calls instr
	command -v strace >/dev/null && command -v callgrind_annotate >/dev/null ||
	    die "--count needs strace and valgrind (tools/deps-debian.sh test installs both)"
	say "Count: $uploads sequential uploads of $size bytes on one kept-alive connection, to a remote answering at once"
	count_run strace strace -f -c -o "$work/strace.txt"
	calls=$(awk -v n="$uploads" '$NF != "total" && $4 ~ /^[0-9]+$/ && $4 >= n / 2 { t += $4; printf "%s %.1f\n", $NF, $4 / n > "/dev/stderr" } END { printf "%.1f", t / n }' \
	    "$work/strace.txt" 2>"$work/calls")
	count_run callgrind valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out"
	instr=$(callgrind_annotate --inclusive=yes "$work/callgrind.out" 2>/dev/null |
	    awk -v n="$uploads" '/event_base_loop/ && !done { gsub(",", "", $1); printf "%.0f", $1 / n; done = 1 }')
	{
		printf "\n%-40s %s\n" "system calls per upload" "$calls ($(sort -k2 -rn "$work/calls" | tr '\n' ' ' | sed 's/ $//'))"
		printf "%-40s %s\n" "instructions per upload (event loop)" "${instr:-?}"
	} | tee -a "$work/table"
}

relay_delivered_total=0
versions
echo
if [ -n "$smoke" ]; then
	throughput
	echo
	latency
	grep -q 'delivered/s' "$work/table" && grep -q 'SDK-visible' "$work/table" || die "the tables were not printed"
	[ "$relay_delivered_total" -gt 0 ] || die "the relay delivered nothing"
	say "smoke: ok (every process started, tables printed, the relay delivered $relay_delivered_total uploads)"
elif [ "$mode" = latency ]; then
	latency
elif [ "$mode" = count ]; then
	count
else
	throughput
fi
