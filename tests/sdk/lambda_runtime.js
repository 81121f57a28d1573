// lambda_runtime.js -- a minimal Node.js Lambda runtime with the real @pyroscope/nodejs SDK,
// for the relay's integration tests under pyroscope-lambda-emulator.
//
//   node lambda_runtime.js [run]
//     The function process (the emulator starts it with /bin/sh -c CMD). It loops on the
//     Runtime API (AWS_LAMBDA_RUNTIME_API): GET .../runtime/invocation/next (a long poll
//     without timeout: the sandbox may be frozen meanwhile), runs the handler, POSTs
//     .../runtime/invocation/{id}/response. The handler is CPU-busy for SDK_BUSY_MS (in
//     slices wrapped with Pyroscope.wrapWithLabels, so the event loop, and with it the SDK's
//     flush timers, keeps running during the invoke). Pyroscope.init sends to
//     http://localhost:SDK_RELAY_PORT (the relay), wall + heap, every SDK_FLUSH_MS.
//     Every upload goes through a wrapper around the global fetch (the SDK calls fetch at
//     upload time) that appends to SDK_LOG, as it goes (the process may be SIGKILLed at
//     SHUTDOWN): one JSON line when the upload starts (seq, phase, invoke, url, body length
//     and SHA-256) and one when it ends (status or error); SDK_LOG.counts is rewritten
//     (atomically) after each. Lifecycle events (invoke, response, sigterm, stopped) are
//     logged there too. On SIGTERM (the runtime's 300 ms at SHUTDOWN) Pyroscope.stop() is
//     called and the final uploads are recorded if they end in time.
//     Env: NPM_DIR (whose node_modules holds @pyroscope/nodejs), SDK_RELAY_PORT, SDK_LOG,
//     SDK_APP, SDK_TAGS (k=v,...), SDK_FLUSH_MS, SDK_BUSY_MS.
//
//   node lambda_runtime.js verify
//     Compares what the sink stored (SINK_DIR/req-NNN.head and .body) with SDK_LOG and prints
//     one line per check, "ok DESC" or "not ok DESC", plus "# ..." details. Env: NPM_DIR (for
//     pprof-format), SINK_DIR, SDK_LOG, SDK_VERSION, APP, TAGS (k=v,...), MIN_WALL, MIN_HEAP,
//     MIN_DURING (uploads answered 200 that started during invokes).
'use strict';
const fs = require('fs');
const path = require('path');
const http = require('http');
const zlib = require('zlib');
const crypto = require('crypto');
const { createRequire } = require('module');

const need = createRequire(path.join(process.env.NPM_DIR || process.cwd(), 'package.json'));
const { parseHead, parseName } = require('./sinkfiles');
const sha256 = b => crypto.createHash('sha256').update(b).digest('hex');
const tagsOf = s => Object.fromEntries((s || '').split(',').filter(Boolean).map(kv => {
	const i = kv.indexOf('=');
	return [kv.slice(0, i), kv.slice(i + 1)];
}));

// --- the runtime ----------------------------------------------------------------------------
function run() {
	const env = process.env;
	const logFile = env.SDK_LOG;
	const api = env.AWS_LAMBDA_RUNTIME_API;
	if (!api || !logFile || !env.SDK_RELAY_PORT) {
		console.error('lambda_runtime: AWS_LAMBDA_RUNTIME_API, SDK_LOG and SDK_RELAY_PORT are required');
		process.exit(1);
	}
	const colon = api.lastIndexOf(':');
	const apiHost = api.slice(0, colon), apiPort = Number(api.slice(colon + 1));
	const t0 = Date.now();
	const log = rec => fs.appendFileSync(logFile, JSON.stringify({ t: Date.now() - t0, ...rec }) + '\n');
	const say = msg => process.stderr.write(`lambda_runtime: ${msg}\n`);

	let phase = 'init', invoke = 0, seq = 0;
	const counts = { started: 0, ended: 0, ok200: 0, other: 0, errors: 0, byPhase: {} };
	const writeCounts = () => {
		fs.writeFileSync(logFile + '.counts.tmp', JSON.stringify(counts) + '\n');
		fs.renameSync(logFile + '.counts.tmp', logFile + '.counts');
	};
	writeCounts();

	// Every SDK upload, counted and hashed, persisted before and after.
	const inflight = new Set();
	const realFetch = globalThis.fetch;
	globalThis.fetch = function (url, init = {}) {
		const id = ++seq, startPhase = phase, startInvoke = invoke, started = Date.now();
		const rec = { ev: 'upload', seq: id, phase: startPhase, invoke: startInvoke, url: String(url),
			method: init.method || 'GET' };
		const body = init.body;
		if (body != null && typeof body !== 'string') {
			const b = Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body)
				: new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
			rec.length = b.length;
			rec.sha256 = sha256(b);
		} else if (typeof body === 'string') {
			rec.length = Buffer.byteLength(body);
			rec.sha256 = sha256(Buffer.from(body));
		}
		log(rec);
		counts.started++;
		const ph = (counts.byPhase[startPhase] = counts.byPhase[startPhase] || { started: 0, ok200: 0 });
		ph.started++;
		writeCounts();
		const end = (extra) => {
			log({ ev: 'answer', seq: id, phase: startPhase, invoke: startInvoke, endPhase: phase,
				ms: Date.now() - started, ...extra });
			counts.ended++;
			if (extra.status === 200) { counts.ok200++; ph.ok200++; }
			else if (extra.status !== undefined) counts.other++;
			else counts.errors++;
			writeCounts();
		};
		const p = realFetch(url, init).then(res => { end({ status: res.status }); return res; },
			e => { end({ error: String((e && e.cause && e.cause.message) || (e && e.message) || e) }); throw e; });
		inflight.add(p);
		p.then(() => inflight.delete(p), () => inflight.delete(p));
		return p;
	};

	const Pyroscope = need('@pyroscope/nodejs');
	Pyroscope.init({
		serverAddress: `http://localhost:${env.SDK_RELAY_PORT}`,
		appName: env.SDK_APP || 'lambda-node-app',
		tags: tagsOf(env.SDK_TAGS),
		flushIntervalMs: Number(env.SDK_FLUSH_MS || 400),
		wall: { collectCpuTime: true },
		heap: { samplingIntervalBytes: 64 * 1024 },
	});
	Pyroscope.start();
	log({ ev: 'started', pid: process.pid });

	// SHUTDOWN: the runtime gets SIGTERM and a short share of the deadline; flush what it can.
	let stopping = false;
	process.on('SIGTERM', () => {
		if (stopping) return;
		stopping = true;
		phase = 'shutdown';
		const t = Date.now();
		log({ ev: 'sigterm' });
		setTimeout(() => { log({ ev: 'stop-timeout' }); process.exit(0); }, 5000).unref();
		// Not at once: the SDK's flush timer, overdue after the thaw, may already have fired and
		// queued its profiling round with setImmediate, which stop() cannot cancel; that round
		// would then call the stopped wall profiler ("Wall profiler is not started", thrown
		// uncaught: exit 1, the final profiles lost). Our immediate runs after the SDK's.
		setImmediate(() => Pyroscope.stop()
			.then(() => Promise.allSettled([...inflight]))
			.then(() => { log({ ev: 'stopped', ms: Date.now() - t }); say(`stopped in ${Date.now() - t} ms`); process.exit(0); },
				e => { log({ ev: 'stop-failed', error: String(e) }); process.exit(2); }));
	});
	process.on('uncaughtException', e => {
		log({ ev: 'uncaught', phase, error: String((e && e.stack) || e).split('\n').slice(0, 3).join(' | ') });
		say(`uncaught exception: ${(e && e.stack) || e}`);
		process.exit(1);
	});

	// Runtime API calls: plain http, no agent, no timeout on the long poll.
	const request = (method, p, data) => new Promise((resolve, reject) => {
		const req = http.request({ host: apiHost, port: apiPort, method, path: p, agent: false,
			headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
		res => {
			const chunks = [];
			res.on('data', c => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end(data);
	});

	const fib = n => (n < 2 ? n : fib(n - 1) + fib(n - 2));
	const keep = [];
	// handler: CPU-busy (and allocating) for busyMs, in 40 ms slices so timers keep firing.
	const handler = (n, busyMs) => new Promise(resolve => {
		const end = Date.now() + busyMs;
		let slices = 0;
		(function slice() {
			const t = Math.min(end, Date.now() + 40);
			while (Date.now() < t) Pyroscope.wrapWithLabels({ handler: 'busy', invoke: String(n) }, () => {
				keep.push(new Array(2000).fill(fib(20)));
				if (keep.length > 200) keep.shift();
			});
			slices++;
			if (Date.now() < end) setImmediate(slice);
			else resolve(slices);
		})();
	});

	const base = '/2018-06-01/runtime/invocation';
	(async () => {
		for (;;) {
			let next;
			try {
				next = await request('GET', `${base}/next`);
			} catch (e) {
				say(`the Runtime API is gone (${e.message}); exiting`);
				log({ ev: 'api-gone', error: e.message });
				process.exit(0);
			}
			const id = next.headers['lambda-runtime-aws-request-id'];
			if (next.status !== 200 || !id) {
				say(`next answered ${next.status} without a request id; exiting`);
				process.exit(1);
			}
			invoke++;
			phase = 'invoke';
			const deadline = Number(next.headers['lambda-runtime-deadline-ms']) || Date.now() + 3000;
			const busyMs = Math.max(100, Math.min(Number(env.SDK_BUSY_MS || 1200), deadline - Date.now() - 500));
			log({ ev: 'invoke', invoke, id, busyMs, uploadsSoFar: counts.started });
			const t = Date.now();
			const slices = await handler(invoke, busyMs);
			const ran = Date.now() - t;
			const out = JSON.stringify({ invoke, busyMs: ran, slices, uploadsStarted: counts.started, uploadsOk: counts.ok200 });
			phase = 'after';
			log({ ev: 'response', invoke, id, ran });
			try {
				const r = await request('POST', `${base}/${encodeURIComponent(id)}/response`, out);
				if (r.status !== 202) say(`response for ${id} answered ${r.status}`);
			} catch (e) {
				say(`cannot post the response for ${id}: ${e.message}; exiting`);
				process.exit(1);
			}
			say(`invoke ${invoke} (${id}): busy ${ran} ms, uploads so far ${counts.started} (${counts.ok200} answered 200)`);
		}
	})();
}

// --- verify ---------------------------------------------------------------------------------
function verify() {
	const { Profile } = need('pprof-format');
	const env = process.env;
	const check = (desc, cond, detail) => {
		console.log(`${cond ? 'ok' : 'not ok'} ${desc}`);
		if (!cond && detail) console.log(`# ${String(detail).split('\n').join('\n# ')}`);
	};
	// A line cut by a SIGKILL mid-write is not JSON: ignore it (it cannot be an answer to count).
	const lines = fs.existsSync(env.SDK_LOG) ? fs.readFileSync(env.SDK_LOG, 'utf8').split('\n').filter(Boolean) : [];
	const events = [];
	for (const l of lines) { try { events.push(JSON.parse(l)); } catch (e) { console.log(`# unparsable log line: ${l.slice(0, 80)}`); } }
	const uploads = new Map();
	for (const e of events) {
		if (e.ev === 'upload') uploads.set(e.seq, { ...e });
		else if (e.ev === 'answer' && uploads.has(e.seq)) Object.assign(uploads.get(e.seq), { status: e.status, error: e.error, endPhase: e.endPhase, ms: e.ms, tEnd: e.t });
	}
	// The thaws the function saw: each invoke after the first and the SIGTERM come after one.
	const thaws = events.filter(e => (e.ev === 'invoke' && e.invoke > 1) || e.ev === 'sigterm').map(e => e.t);
	const all = [...uploads.values()];
	const ok200 = all.filter(u => u.status === 200);
	const unanswered = all.filter(u => u.status === undefined && u.error === undefined);
	const failed = all.filter(u => (u.status !== undefined && u.status !== 200) || u.error !== undefined);
	const shutdownOnes = all.filter(u => u.phase === 'shutdown');
	const byPhase = {};
	for (const u of all) byPhase[u.phase] = (byPhase[u.phase] || 0) + 1;
	console.log(`# SDK uploads: ${all.length} started (${Object.entries(byPhase).map(([k, v]) => `${k} ${v}`).join(', ')}), ` +
		`${ok200.length} answered 200, ${failed.length} failed, ${unanswered.length} without an answer`);
	const sigterm = events.find(e => e.ev === 'sigterm'), stopped = events.find(e => e.ev === 'stopped');
	const uncaught = events.filter(e => e.ev === 'uncaught');
	for (const e of uncaught) console.log(`# the function threw (${e.phase}): ${e.error}`);
	console.log(`# SIGTERM ${sigterm ? 'received' : 'not seen'}; Pyroscope.stop() ${stopped ? `and the final uploads done in ${stopped.ms} ms` : 'did not finish (SIGKILLed?)'}; ` +
		`final uploads: ${shutdownOnes.length} started, ${shutdownOnes.filter(u => u.status === 200).length} answered 200`);
	const crossed = [...uploads.values()].filter(u => u.tEnd !== undefined && thaws.some(t => u.t < t && t <= u.tEnd));
	console.log(`# uploads started before a freeze and answered after the thaw: ${crossed.length}` +
		`${crossed.length ? ' (' + crossed.map(u => `${u.seq}=${u.status !== undefined ? u.status : 'error'}`).join(' ') + ')' : ''}`);
	const ups = [];
	for (const u of all) ups.push(`${u.seq}:${u.phase}${u.invoke ? '@' + u.invoke : ''}=${u.status !== undefined ? u.status : u.error !== undefined ? 'error' : '?'}` +
		`${u.ms !== undefined ? '/' + u.ms + 'ms' : ''}${u.endPhase && u.endPhase !== u.phase ? '->' + u.endPhase : ''}`);
	console.log(`# timeline (seq:phase@invoke=status/answer time[->phase at the answer]): ${ups.join(' ')}`);

	check(`the SDK made uploads (${all.length})`, all.length > 0);
	check('the function never threw', uncaught.length === 0);
	check(`every upload started before SIGTERM was answered 200 (${all.filter(u => u.phase !== 'shutdown' && u.status === 200).length}/${all.filter(u => u.phase !== 'shutdown').length})`,
		all.every(u => u.phase === 'shutdown' || u.status === 200), all.filter(u => u.phase !== 'shutdown' && u.status !== 200).map(u => JSON.stringify(u)).join('\n'));
	check(`no upload failed, including the final ones (${failed.length} failed)`, failed.length === 0, failed.map(u => JSON.stringify(u)).join('\n'));
	check(`at least ${env.MIN_DURING} uploads answered 200 started during invokes (${ok200.filter(u => u.phase === 'invoke').length})`,
		ok200.filter(u => u.phase === 'invoke').length >= Number(env.MIN_DURING || 2));
	check(`uploads answered 200 after a freeze, in invokes 2 and later (${ok200.filter(u => u.invoke >= 2).length})`,
		ok200.filter(u => u.invoke >= 2).length > 0);

	const sink = fs.readdirSync(env.SINK_DIR).filter(f => f.endsWith('.head')).sort().map(f => {
		const base = path.join(env.SINK_DIR, f.slice(0, -5));
		const body = fs.readFileSync(base + '.body');
		return { id: path.basename(base), ...parseHead(base + '.head'), body, sha: sha256(body) };
	});
	// Match every SDK upload to one distinct stored request, by the body's SHA-256.
	const unmatched = new Set(sink);
	const pairs = [];
	for (const u of all) {
		const s = [...unmatched].find(x => x.sha === u.sha256);
		if (s) { unmatched.delete(s); pairs.push([u, s]); u.stored = s; }
	}
	const lost = ok200.filter(u => !u.stored);
	check(`every upload answered 200 reached the sink byte-exact (${ok200.length - lost.length}/${ok200.length})`,
		ok200.length > 0 && lost.length === 0, lost.map(u => `lost: ${JSON.stringify(u)}`).join('\n'));
	check(`none lost across the freezes: every invoke's uploads arrived (${[...new Set(ok200.map(u => u.invoke))].sort().map(i =>
		`invoke ${i}: ${ok200.filter(u => u.invoke === i && u.stored).length}/${ok200.filter(u => u.invoke === i).length}`).join(', ')})`,
		lost.length === 0);
	check(`the sink holds nothing else: each stored request is one distinct SDK upload (${sink.length - unmatched.size}/${sink.length})`,
		unmatched.size === 0, [...unmatched].map(s => `${s.id}: ${s.target} (${s.body.length} bytes)`).join('\n'));
	const extra = pairs.filter(([u]) => u.status !== 200);
	if (extra.length) console.log(`# stored though their answer was not recorded (SIGKILL after sending): ${extra.map(([u]) => u.seq).join(' ')}`);

	const fails = {};
	const expect = (key, cond, detail) => {
		const f = (fails[key] = fails[key] || { n: 0, bad: [] });
		f.n++;
		if (!cond) f.bad.push(detail);
	};
	const wantTags = tagsOf(env.TAGS);
	let wall = 0, heap = 0, busy = 0;
	for (const [u, s] of pairs) {
		const sent = new URL(u.url);
		const qi = s.target.indexOf('?');
		const spath = qi < 0 ? s.target : s.target.slice(0, qi), squery = qi < 0 ? '' : s.target.slice(qi + 1);
		const params = new URLSearchParams(squery);
		const pn = parseName(params.get('name'));
		expect('POST /ingest, query byte-exact as the SDK sent it', s.method === 'POST' && spath === '/ingest' &&
			squery === sent.search.slice(1), `${s.id}: ${s.method} ${s.target} (sent ${sent.search})`);
		expect('format=pprof, spyName=nodespy, content-type application/octet-stream', params.get('format') === 'pprof' &&
			params.get('spyName') === 'nodespy' && s.get('content-type') === 'application/octet-stream', `${s.id}: ${squery} ${s.get('content-type')}`);
		expect(`name: app ${env.APP}`, pn.app === env.APP, `${s.id}: ${params.get('name')}`);
		expect(`name: tags ${env.TAGS}`, Object.entries(wantTags).every(([k, v]) => pn.labels[k] === v), `${s.id}: ${params.get('name')}`);
		expect(`name: otel.scope.version=${env.SDK_VERSION}, process.runtime.name=nodejs`,
			pn.labels['otel.scope.version'] === env.SDK_VERSION && pn.labels['process.runtime.name'] === 'nodejs', `${s.id}: ${params.get('name')}`);
		let p = null;
		try { p = Profile.decode(s.body[0] === 0x1f && s.body[1] === 0x8b ? zlib.gunzipSync(s.body) : s.body); } catch (e) { p = null; }
		expect('the body decodes as pprof (gunzip + Profile.decode)', p !== null, s.id);
		if (!p) continue;
		const str = i => p.stringTable.strings[Number(i)];
		const types = p.sampleType.map(v => `${str(v.type)}/${str(v.unit)}`).join(',');
		if (types === 'samples/count,wall/nanoseconds,cpu/nanoseconds') {
			wall++;
			expect('wall profiles have samples and sampleRate in the query', p.sample.length > 0 && params.has('sampleRate'), `${s.id}: ${p.sample.length} samples`);
			if (p.sample.some(x => x.label.some(l => str(l.key) === 'handler' && str(l.str) === 'busy'))) busy++;
		} else if (types === 'inuse_objects/count,inuse_space/bytes') {
			heap++;
			expect('heap profiles have no sampleRate in the query', !params.has('sampleRate'), `${s.id}: ${squery}`);
		} else {
			expect('sample types are wall (samples,wall,cpu) or heap (inuse_objects,inuse_space)', false, `${s.id}: ${types}`);
		}
	}
	for (const [key, f] of Object.entries(fails))
		check(`${key} (${f.n - f.bad.length}/${f.n})`, f.bad.length === 0, f.bad.slice(0, 3).join('\n'));
	check(`at least ${env.MIN_WALL} wall profiles (${wall})`, wall >= Number(env.MIN_WALL || 1));
	check(`at least ${env.MIN_HEAP} heap profiles (${heap})`, heap >= Number(env.MIN_HEAP || 1));
	check(`wall profiles with samples labelled handler=busy (wrapWithLabels in the handler) (${busy})`, busy > 0);
	console.log(`# stored: ${pairs.length} (${wall} wall, ${heap} heap)`);
}

const mode = process.argv[2] || 'run';
if (mode === 'run') run();
else if (mode === 'verify') verify();
else { console.error('usage: lambda_runtime.js [run] | verify'); process.exit(2); }
