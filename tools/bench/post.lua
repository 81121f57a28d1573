-- post.lua -- wrk script for tools/bench.sh: POST a BENCH_BODY_BYTES body to BENCH_PATH, print one summary line.
local size = tonumber(os.getenv("BENCH_BODY_BYTES") or "16384")
local pattern = "abcdefghijklmnopqrstuvwxyz0123456789"

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/ingest?name=bench.cpu%7B%7D&spyName=gospy&format=pprof"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.sub(string.rep(pattern, math.floor(size / #pattern) + 1), 1, size)

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("bench-wrk requests=%d duration_us=%d status_errors=%d connect_errors=%d " ..
	    "read_errors=%d write_errors=%d timeouts=%d p50_us=%d p99_us=%d\n",
	    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
	    latency:percentile(50), latency:percentile(99)))
end
