// connect_push.js -- a real Connect client (connect-es) pushing to push.v1.PusherService/Push.
//
//   node connect_push.js push
//     env: NPM_DIR   directory whose node_modules holds @connectrpc/connect(-node),
//                    @bufbuild/protobuf and pprof-format
//          BASE_URL  where to push (the relay)
//          OUT       directory for the expected wire bodies
//          CASES     space-separated cases: proto, proto+gzip, json, json+gzip
//          TENANT    optional X-Scope-OrgID sent by the client
//          AUTH      optional Authorization sent by the client
//     For each case it writes OUT/<case>.wire (the exact request body connect-es puts on the
//     wire: the serialized PushRequest, gzipped as compressionGzip does when compressed) and
//     OUT/<case>.msg.json (the message in canonical JSON), sends the call with the header
//     x-relay-test-case: <case>, and prints "<case> ok <response as JSON>" or
//     "<case> error <code> <message>".
//
//   node connect_push.js decode FILE CONTENT-TYPE [CONTENT-ENCODING]
//     Prints FILE (a request body as the upstream received it) decoded as a PushRequest, in
//     canonical JSON.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { createRequire } = require('module');

const need = createRequire(path.join(process.env.NPM_DIR || process.cwd(), 'package.json'));
const pb = need('@bufbuild/protobuf');
const wkt = need('@bufbuild/protobuf/wkt');

// --- push.v1 descriptors built at run time (api/push/v1/push.proto, api/types/v1/types.proto)
const STRING = 9, MESSAGE = 11, BYTES = 12, OPTIONAL = 1, REPEATED = 3;
const field = (name, number, type, label, jsonName, typeName) =>
	({ name, number, type, label, jsonName, ...(typeName ? { typeName } : {}) });
const typesFile = pb.create(wkt.FileDescriptorProtoSchema, {
	name: 'types/v1/types.proto', package: 'types.v1', syntax: 'proto3',
	messageType: [
		{ name: 'LabelPair', field: [field('name', 1, STRING, OPTIONAL, 'name'), field('value', 2, STRING, OPTIONAL, 'value')] },
		{ name: 'ProfileAnnotation', field: [field('key', 1, STRING, OPTIONAL, 'key'), field('value', 2, STRING, OPTIONAL, 'value')] },
	],
});
const pushFile = pb.create(wkt.FileDescriptorProtoSchema, {
	name: 'push/v1/push.proto', package: 'push.v1', syntax: 'proto3', dependency: ['types/v1/types.proto'],
	messageType: [
		{ name: 'PushResponse' },
		{ name: 'PushRequest', field: [field('series', 1, MESSAGE, REPEATED, 'series', '.push.v1.RawProfileSeries')] },
		{ name: 'RawProfileSeries', field: [
			field('labels', 1, MESSAGE, REPEATED, 'labels', '.types.v1.LabelPair'),
			field('samples', 2, MESSAGE, REPEATED, 'samples', '.push.v1.RawSample'),
			field('annotations', 3, MESSAGE, REPEATED, 'annotations', '.types.v1.ProfileAnnotation'),
		] },
		{ name: 'RawSample', field: [field('raw_profile', 1, BYTES, OPTIONAL, 'rawProfile'), field('ID', 2, STRING, OPTIONAL, 'ID')] },
	],
	service: [{ name: 'PusherService', method: [{ name: 'Push', inputType: '.push.v1.PushRequest', outputType: '.push.v1.PushResponse' }] }],
});
const reg = pb.createFileRegistry(pb.create(wkt.FileDescriptorSetSchema, { file: [typesFile, pushFile] }));
const PushRequest = reg.getMessage('push.v1.PushRequest');
const PusherService = reg.getService('push.v1.PusherService');
// What connect-es's JSON serialization uses (ignoreUnknownFields only matters when parsing).
const JSON_OPTIONS = { ignoreUnknownFields: true };

// A real CPU profile, encoded with pprof-format: enough samples that the request is over
// connect's default compressMinBytes (1024), so sendCompression really compresses it.
function makePprof() {
	const pf = need('pprof-format');
	const st = new pf.StringTable();
	const fns = [], locs = [], samples = [];
	for (let i = 1; i <= 40; i++) {
		fns.push(new pf.Function({ id: i, name: st.dedup(`handler_${i}`), systemName: st.dedup(`handler_${i}`), filename: st.dedup(`src/mod${i % 5}.js`) }));
		locs.push(new pf.Location({ id: i, line: [new pf.Line({ functionId: i, line: 10 + i })] }));
	}
	for (let i = 0; i < 60; i++)
		samples.push(new pf.Sample({ locationId: [1 + (i % 40), 1 + ((i * 7) % 40), 1], value: [1 + (i % 3), 10000000 * (1 + (i % 3))] }));
	return Buffer.from(new pf.Profile({
		sampleType: [new pf.ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }),
			new pf.ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
		sample: samples, location: locs, function: fns, stringTable: st,
		timeNanos: BigInt(Date.now()) * 1000000n, durationNanos: 10000000000n,
		periodType: new pf.ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }), period: 10000000n,
	}).encode());
}

function makeRequest(caseName, rawProfile) {
	const label = (name, value) => ({ name, value });
	return pb.create(PushRequest, {
		series: [{
			labels: [label('__name__', 'process_cpu'), label('service_name', 'connect-app'),
				label('__delta__', 'false'), label('relay_test_case', caseName),
				label('otel.scope.name', 'com.grafana.pyroscope/connect-test')],
			samples: [{ rawProfile, ID: '0f8c8a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f' }],
		}],
	});
}

async function push() {
	const { createClient } = need('@connectrpc/connect');
	const { createConnectTransport, compressionGzip } = need('@connectrpc/connect-node');
	const out = process.env.OUT, cases = (process.env.CASES || '').split(/\s+/).filter(Boolean);
	const pprof = makePprof();
	let failed = 0;
	for (const c of cases) {
		const binary = c.startsWith('proto'), gzip = c.endsWith('+gzip');
		// Binary cases carry an uncompressed pprof (as the Python/Ruby/Rust/.NET SDKs do);
		// JSON cases a gzipped one (as the server's documentation example does).
		const msg = makeRequest(c, binary ? pprof : zlib.gzipSync(pprof));
		let wire = binary ? Buffer.from(pb.toBinary(PushRequest, msg))
			: Buffer.from(pb.toJsonString(PushRequest, msg, JSON_OPTIONS));
		if (wire.length < 1024) throw new Error(`${c}: message of ${wire.length} bytes is under compressMinBytes`);
		if (gzip) wire = zlib.gzipSync(wire, {});
		fs.writeFileSync(path.join(out, `${c}.wire`), wire);
		fs.writeFileSync(path.join(out, `${c}.msg.json`), pb.toJsonString(PushRequest, msg) + '\n');
		const transport = createConnectTransport({
			baseUrl: process.env.BASE_URL, httpVersion: '1.1', useBinaryFormat: binary,
			sendCompression: gzip ? compressionGzip : undefined, compressMinBytes: 1024,
			defaultTimeoutMs: 20000,
		});
		const headers = { 'x-relay-test-case': c };
		if (process.env.TENANT) headers['X-Scope-OrgID'] = process.env.TENANT;
		if (process.env.AUTH) headers['Authorization'] = process.env.AUTH;
		try {
			const res = await createClient(PusherService, transport).push(msg, { headers });
			console.log(`${c} ok ${pb.toJsonString(reg.getMessage('push.v1.PushResponse'), res)}`);
		} catch (e) {
			failed++;
			console.log(`${c} error ${e.code} ${String(e.message).replace(/\s+/g, ' ')}`);
		}
	}
	return failed;
}

function decode(file, ctype, cenc) {
	let body = fs.readFileSync(file);
	if (cenc === 'gzip') body = zlib.gunzipSync(body);
	const msg = /json/.test(ctype) ? pb.fromJsonString(PushRequest, body.toString('utf8'), JSON_OPTIONS)
		: pb.fromBinary(PushRequest, body);
	console.log(pb.toJsonString(PushRequest, msg));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'push') {
	push().then(failed => process.exit(failed ? 1 : 0), e => { console.error(e); process.exit(2); });
} else if (mode === 'decode') {
	decode(args[0], args[1] || '', args[2] || '');
} else {
	console.error('usage: connect_push.js push | decode FILE CONTENT-TYPE [CONTENT-ENCODING]');
	process.exit(2);
}
