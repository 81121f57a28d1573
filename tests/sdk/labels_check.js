// labels_check.js -- after a run of lambda_runtime.js with PYROSCOPE_LAMBDA_LABELS=true: each SDK
// upload answered 200 is at the sink (matched by the body's SHA-256) with the query the SDK sent,
// byte for byte except the value of `name`, which is the SDK's name with the LABELS added (keys
// the SDK set win), keys sorted, URL-escaped.
//   node labels_check.js      Env: SINK_DIR, SDK_LOG, LABELS (k=v,...), MIN_PAIRS.
// Prints one line per check, "ok DESC" or "not ok DESC", plus "# ..." details.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { parseHead, parseName } = require('./sinkfiles');

const env = process.env;
const check = (desc, cond, detail) => {
	console.log(`${cond ? 'ok' : 'not ok'} ${desc}`);
	if (!cond && detail) console.log(`# ${String(detail).split('\n').join('\n# ')}`);
};
const kvs = s => (s || '').split(',').filter(Boolean).map(kv => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
const want = kvs(env.LABELS);

// The SDK's record: uploads and their answers.
const uploads = new Map();
for (const l of fs.readFileSync(env.SDK_LOG, 'utf8').split('\n').filter(Boolean)) {
	let e;
	try { e = JSON.parse(l); } catch (err) { continue; }	// a line cut by a SIGKILL
	if (e.ev === 'upload') uploads.set(e.seq, { ...e });
	else if (e.ev === 'answer' && uploads.has(e.seq)) uploads.get(e.seq).status = e.status;
}
const ok200 = [...uploads.values()].filter(u => u.status === 200);

// What the sink stored.
const sink = fs.readdirSync(env.SINK_DIR).filter(f => f.endsWith('.head')).sort().map(f => {
	const base = path.join(env.SINK_DIR, f.slice(0, -5));
	const sha = crypto.createHash('sha256').update(fs.readFileSync(base + '.body')).digest('hex');
	return { id: path.basename(base), ...parseHead(base + '.head'), sha };
});
const pairs = [];
for (const u of ok200) {
	const s = sink.find(x => x.sha === u.sha256 && !x.used);
	if (s) { s.used = true; pairs.push([u, s]); }
}
check(`at least ${env.MIN_PAIRS} uploads answered 200, each found at the sink (${pairs.length}/${ok200.length})`,
	pairs.length === ok200.length && pairs.length >= Number(env.MIN_PAIRS || 1),
	ok200.filter(u => !pairs.some(([p]) => p === u)).map(u => `missing: ${JSON.stringify(u)}`).join('\n'));

// Go's url.QueryUnescape of a raw query value ('+' is a space).
const unescape = v => decodeURIComponent(v.replace(/\+/g, ' '));
// The position of the first name=... pair among the raw '&'-separated pairs.
const nameIndex = pairs_ => pairs_.findIndex(p => p.startsWith('name='));

const fails = {};
const expect = (key, cond, detail) => {
	const f = (fails[key] = fails[key] || { n: 0, bad: [] });
	f.n++;
	if (!cond) f.bad.push(detail);
};
let shown = false;
for (const [u, s] of pairs) {
	const sentQuery = new URL(u.url).search.slice(1);
	const qi = s.target.indexOf('?');
	const gotPath = qi < 0 ? s.target : s.target.slice(0, qi), gotQuery = qi < 0 ? '' : s.target.slice(qi + 1);
	const sent = sentQuery.split('&'), got = gotQuery.split('&');
	const i = nameIndex(sent);
	expect('POST /ingest', s.method === 'POST' && gotPath === '/ingest', `${s.id}: ${s.method} ${gotPath}`);
	expect('the same parameters; every one but name byte for byte the SDK\'s', i >= 0 && got.length === sent.length &&
		sent.every((p, j) => j === i || got[j] === p) && got[i].startsWith('name='),
		`${s.id}:\n  sent ${sentQuery}\n  got  ${gotQuery}`);
	if (i < 0 || !got[i] || !got[i].startsWith('name=')) continue;
	const sentName = parseName(unescape(sent[i].slice(5)));
	const labels = { ...Object.fromEntries(want), ...sentName.labels };	// the SDK's keys win
	const expected = `${sentName.app}{${Object.keys(labels).sort().map(k => `${k}=${labels[k]}`).join(',')}}`;
	const raw = got[i].slice(5), name = unescape(raw);
	expect(`name: the SDK's name with ${env.LABELS} added, keys sorted`, name === expected,
		`${s.id}:\n  sent ${unescape(sent[i].slice(5))}\n  got  ${name}\n  want ${expected}`);
	expect('name: URL-escaped ({ } = , / $ as %XX)', /^[A-Za-z0-9._~%+-]*$/.test(raw) && raw.includes('%7B'), `${s.id}: ${raw}`);
	const gotLabels = parseName(name).labels;
	expect(`the labels arrive: ${env.LABELS}`, want.every(([k, v]) => gotLabels[k] === v), `${s.id}: ${name}`);
	if (!shown) { console.log(`# e.g. ${s.id}: name=${raw}`); shown = true; }
}
for (const [key, f] of Object.entries(fails))
	check(`${key} (${f.n - f.bad.length}/${f.n})`, f.bad.length === 0, f.bad.slice(0, 3).join('\n'));
