// sdk_driver.js -- the real @pyroscope/nodejs SDK, for the relay's integration tests.
//
//   node sdk_driver.js run
//     Runs the SDK against SERVER for RUN_MS (a CPU-busy loop that also allocates), then
//     stops it. Every upload the SDK makes goes through a wrapper around the global fetch
//     (the SDK calls fetch at upload time) that appends one JSON line per request to REQ_LOG:
//     url, method, headers, the body's length and SHA-256 (for a FormData body, each part's),
//     and the answer's status. Env: NPM_DIR (whose node_modules holds @pyroscope/nodejs),
//     SERVER, RUN_MS, FLUSH_MS, BASIC_USER, BASIC_PASS, AUTH_TOKEN, TENANT, REQ_LOG.
//
//   node sdk_driver.js verify
//     Compares what the sink stored (SINK_DIR/req-NNN.head and .body) with REQ_LOG and prints
//     one line per check, "ok DESC" or "not ok DESC", plus "# ..." details. Env: NPM_DIR
//     (for pprof-format), SINK_DIR, REQ_LOG, SDK_VERSION, APP, TAGS (k=v,...), EXPECT_AUTH,
//     EXPECT_TENANT (empty: must be absent), MIN_WALL, MIN_HEAP.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { createRequire } = require('module');

const need = createRequire(path.join(process.env.NPM_DIR || process.cwd(), 'package.json'));
const { parseHead, parseName } = require('./sinkfiles');
const sha256 = b => crypto.createHash('sha256').update(b).digest('hex');

function run() {
	const log = process.env.REQ_LOG;
	const inflight = new Set();
	const realFetch = globalThis.fetch;
	globalThis.fetch = function (url, init = {}) {
		const p = (async () => {
			const rec = { url: String(url), method: init.method || 'GET',
				headers: Object.fromEntries(new Headers(init.headers || {})) };
			const body = init.body;
			if (body instanceof FormData) {
				rec.bodyKind = 'formdata';
				rec.parts = [];
				for (const [name, value] of body) {
					const b = typeof value === 'string' ? Buffer.from(value) : Buffer.from(await value.arrayBuffer());
					rec.parts.push({ name, filename: value.name, length: b.length, sha256: sha256(b) });
				}
			} else if (body != null) {
				const b = Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body)
					: new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
				rec.bodyKind = 'bytes';
				rec.length = b.length;
				rec.sha256 = sha256(b);
			}
			try {
				const res = await realFetch(url, init);
				rec.status = res.status;
				return res;
			} catch (e) {
				rec.error = String(e && e.message);
				throw e;
			} finally {
				fs.appendFileSync(log, JSON.stringify(rec) + '\n');
			}
		})();
		inflight.add(p);
		p.then(() => inflight.delete(p), () => inflight.delete(p));
		return p;
	};

	const Pyroscope = need('@pyroscope/nodejs');
	Pyroscope.init({
		serverAddress: process.env.SERVER,
		appName: 'relay-fixture-app',
		tags: { env: 'test', region: 'local' },
		flushIntervalMs: Number(process.env.FLUSH_MS || 2000),
		basicAuthUser: process.env.BASIC_USER || undefined,
		basicAuthPassword: process.env.BASIC_PASS || undefined,
		authToken: process.env.AUTH_TOKEN || undefined,
		tenantID: process.env.TENANT || undefined,
		wall: { collectCpuTime: true },
		heap: { samplingIntervalBytes: 64 * 1024 },
	});
	Pyroscope.start();
	const runMs = Number(process.env.RUN_MS || 6000);
	// Whatever happens, this process ends.
	setTimeout(() => { console.error('sdk_driver: hard timeout'); process.exit(3); }, runMs + 30000).unref();
	const fib = n => (n < 2 ? n : fib(n - 1) + fib(n - 2));
	const keep = [];
	const end = Date.now() + runMs;
	(function loop() {
		const t = Date.now() + 40;
		while (Date.now() < t) Pyroscope.wrapWithLabels({ handler: 'busy' }, () => {
			keep.push(new Array(2000).fill(fib(22)));
			if (keep.length > 200) keep.shift();
		});
		if (Date.now() < end) { setImmediate(loop); return; }
		Pyroscope.stop()
			.then(() => Promise.allSettled([...inflight]))
			.then(() => { console.log('sdk stopped'); process.exit(0); },
				e => { console.error('sdk_driver: stop failed:', e); process.exit(2); });
	})();
}

// --- verify -------------------------------------------------------------------------------
// The parts of a multipart body: [{ name, filename, head, data }].
function multipartParts(body, boundary) {
	const delim = Buffer.from('--' + boundary), parts = [];
	let pos = body.indexOf(delim);
	while (pos >= 0) {
		const start = pos + delim.length;
		if (body.subarray(start, start + 2).toString() === '--') break;
		const next = body.indexOf(delim, start);
		if (next < 0) break;
		const seg = body.subarray(start + 2, next - 2);		// after CRLF, before CRLF--
		const hsep = seg.indexOf('\r\n\r\n');
		const head = seg.subarray(0, hsep).toString('latin1');
		parts.push({ head, data: seg.subarray(hsep + 4),
			name: (/name="([^"]*)"/.exec(head) || [])[1], filename: (/filename="([^"]*)"/.exec(head) || [])[1] });
		pos = next;
	}
	return parts;
}

function verify() {
	const { Profile } = need('pprof-format');
	const env = process.env;
	const legacy = env.SDK_VERSION.startsWith('0.4.');	// multipart, no format, names the relay rewrites
	const results = [];
	const check = (desc, cond, detail) => {
		console.log(`${cond ? 'ok' : 'not ok'} ${desc}`);
		if (!cond && detail) console.log(`# ${String(detail).split('\n').join('\n# ')}`);
		results.push(cond);
	};
	const sdk = fs.existsSync(env.REQ_LOG) ? fs.readFileSync(env.REQ_LOG, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)) : [];
	const sink = fs.readdirSync(env.SINK_DIR).filter(f => f.endsWith('.head')).sort().map(f => {
		const base = path.join(env.SINK_DIR, f.slice(0, -5));
		const h = parseHead(base + '.head');
		return { file: base, ...h, body: fs.readFileSync(base + '.body') };
	});
	check(`the SDK made uploads (${sdk.length})`, sdk.length > 0);
	check(`the relay answered every SDK upload 200 (${sdk.filter(r => r.status === 200).length}/${sdk.length})`,
		sdk.length > 0 && sdk.every(r => r.status === 200), sdk.filter(r => r.status !== 200).map(r => JSON.stringify(r)).join('\n'));
	check(`the sink got every upload the SDK made (${sink.length} of ${sdk.length})`, sink.length === sdk.length);

	// Match each SDK upload to the one the sink stored, by the profile bytes.
	const unmatched = new Set(sink);
	const pairs = [];
	for (const rec of sdk) {
		const want = rec.bodyKind === 'formdata' ? (rec.parts.find(p => p.name === 'profile') || {}).sha256 : rec.sha256;
		let found = null;
		for (const s of unmatched) {
			const ct = s.get('content-type') || '';
			let bytes = s.body;
			if (rec.bodyKind === 'formdata') {
				const b = /boundary=(?:"([^"]+)"|([^;]+))/.exec(ct);
				const part = b ? multipartParts(s.body, b[1] || b[2]).find(p => p.name === 'profile') : null;
				bytes = part ? part.data : Buffer.alloc(0);
			}
			if (sha256(bytes) === want) { found = s; break; }
		}
		if (found) { unmatched.delete(found); pairs.push([rec, found]); }
	}
	check(`every SDK upload arrived with its profile bytes unchanged (${pairs.length}/${sdk.length})`,
		pairs.length === sdk.length && sdk.length > 0);

	const fails = {};
	// expect KEY COND DETAIL: one per upload it applies to; reported once per KEY with counts.
	const expect = (key, cond, detail) => {
		const f = (fails[key] = fails[key] || { n: 0, bad: [] });
		f.n++;
		if (!cond) f.bad.push(detail);
	};
	const sessions = new Set();
	let wall = 0, heap = 0;
	const wantTags = Object.fromEntries((env.TAGS || '').split(',').filter(Boolean).map(kv => kv.split('=')));
	for (const [rec, s] of pairs) {
		const id = path.basename(s.file);
		const sent = new URL(rec.url);
		const qi = s.target.indexOf('?');
		const spath = qi < 0 ? s.target : s.target.slice(0, qi), squery = qi < 0 ? '' : s.target.slice(qi + 1);
		const params = new URLSearchParams(squery);
		expect('method and path: POST /ingest', s.method === 'POST' && spath === '/ingest', `${id}: ${s.method} ${spath}`);
		const name = params.get('name');
		const pn = parseName(name);
		if (legacy) {
			// The relay adds __session_id__ to the name (the original's grammar parses it); every
			// other byte of the query is as the SDK sent it.
			const a = sent.search.slice(1).split('&'), b = squery.split('&');
			const same = a.length === b.length && a.every((p, i) => p.startsWith('name=') ? b[i].startsWith('name=') : p === b[i]);
			expect('query as the SDK sent it, apart from the name value', same, `${id}: sent ${sent.search} got ?${squery}`);
			const sid = /^[0-9a-f]{16}$/.test(pn.labels.__session_id__ || '') ? pn.labels.__session_id__ : null;
			expect('name carries one 16-hex __session_id__ added by the relay', sid, `${id}: ${name}`);
			sessions.add(pn.labels.__session_id__);
			expect('no format parameter (multipart is detected by the server)', !params.has('format'), `${id}: ${squery}`);
			expect('content-type multipart/form-data with an undici boundary',
				/^multipart\/form-data; boundary=----formdata-undici-\d+$/.test(s.get('content-type') || ''), `${id}: ${s.get('content-type')}`);
			const boundary = (s.get('content-type') || '').replace(/^.*boundary=/, '');
			const parts = multipartParts(s.body, boundary);
			const rebuilt = parts.length === 1 ? Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="profile"; filename="profile"\r\nContent-Type: application/octet-stream\r\n\r\n`),
				parts[0].data, Buffer.from(`\r\n--${boundary}--\r\n`)]) : null;
			expect('multipart body framed exactly as undici frames it (one part "profile")', rebuilt && rebuilt.equals(s.body), `${id}: ${parts.length} parts`);
		} else {
			expect('query byte-exact as the SDK sent it', squery === sent.search.slice(1), `${id}: sent ${sent.search} got ?${squery}`);
			expect('format=pprof', params.get('format') === 'pprof', `${id}: ${squery}`);
			expect('content-type application/octet-stream', s.get('content-type') === 'application/octet-stream', `${id}: ${s.get('content-type')}`);
			expect('otel scope labels of the SDK version', pn.labels['otel.scope.version'] === env.SDK_VERSION &&
				pn.labels['process.runtime.name'] === 'nodejs', `${id}: ${name}`);
		}
		expect(`app name ${env.APP}`, pn.app === env.APP, `${id}: ${name}`);
		expect(`configured tags ${env.TAGS}`, Object.entries(wantTags).every(([k, v]) => pn.labels[k] === v), `${id}: ${name}`);
		expect('spyName=nodespy, from and until in unix seconds', params.get('spyName') === 'nodespy' &&
			/^\d{10}$/.test(params.get('from') || '') && /^\d{10}$/.test(params.get('until') || ''), `${id}: ${squery}`);
		expect('Content-Length is the body length, no Transfer-Encoding',
			s.get('content-length') === String(s.body.length) && s.all('transfer-encoding').length === 0, `${id}`);
		const auths = s.all('authorization'), tenants = s.all('x-scope-orgid');
		expect(`Authorization ${env.EXPECT_AUTH || '(none)'}`, env.EXPECT_AUTH ? auths.length === 1 && auths[0] === env.EXPECT_AUTH
			: auths.length === 0, `${id}: ${JSON.stringify(auths)}`);
		expect(`X-Scope-OrgID ${env.EXPECT_TENANT || '(none)'}`, env.EXPECT_TENANT ? tenants.length === 1 && tenants[0] === env.EXPECT_TENANT
			: tenants.length === 0, `${id}: ${JSON.stringify(tenants)}`);
		// The profile itself: gunzip + Profile.decode.
		let bytes = s.body;
		if (legacy) bytes = (multipartParts(s.body, (s.get('content-type') || '').replace(/^.*boundary=/, ''))[0] || {}).data || Buffer.alloc(0);
		let p = null;
		try { p = Profile.decode(bytes[0] === 0x1f && bytes[1] === 0x8b ? zlib.gunzipSync(bytes) : bytes); } catch (e) { p = null; }
		expect('the body decodes as pprof (gunzip + Profile.decode)', p !== null, `${id}`);
		if (!p) continue;
		const str = i => p.stringTable.strings[Number(i)];
		const types = p.sampleType.map(v => `${str(v.type)}/${str(v.unit)}`).join(',');
		if (types === 'samples/count,wall/nanoseconds,cpu/nanoseconds') {
			wall++;
			expect('wall profiles have samples, some labelled handler=busy, and sampleRate in the query',
				p.sample.length > 0 && params.has('sampleRate') &&
				p.sample.some(x => x.label.some(l => str(l.key) === 'handler' && str(l.str) === 'busy')), `${id}: ${p.sample.length} samples`);
		} else if (types === 'inuse_objects/count,inuse_space/bytes') {
			heap++;
			expect('heap profiles have no sampleRate in the query', !params.has('sampleRate'), `${id}: ${squery}`);
		} else {
			expect('sample types are wall (samples,wall,cpu) or heap (inuse_objects,inuse_space)', false, `${id}: ${types}`);
		}
	}
	if (legacy) expect('one session id for the whole relay run', sessions.size === 1 && !sessions.has(undefined), [...sessions].join(' '));
	for (const [key, f] of Object.entries(fails))
		check(`${key} (${f.n - f.bad.length}/${f.n})`, f.bad.length === 0, f.bad.slice(0, 3).join('\n'));
	check(`at least ${env.MIN_WALL} wall profiles (${wall})`, wall >= Number(env.MIN_WALL || 1));
	check(`at least ${env.MIN_HEAP} heap profile(s) (${heap})`, heap >= Number(env.MIN_HEAP || 0));
	console.log(`# ${sdk.length} uploads: ${wall} wall, ${heap} heap`);
}

const mode = process.argv[2];
if (mode === 'run') run();
else if (mode === 'verify') verify();
else { console.error('usage: sdk_driver.js run | verify'); process.exit(2); }
