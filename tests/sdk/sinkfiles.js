// sinkfiles.js -- reading what pyroscope-sink stored (req-NNN.head) and Pyroscope `name` values.
'use strict';
const fs = require('fs');

// A .head file: first line "METHOD URI", then "Name: value" lines as received.
function parseHead(file) {
	const lines = fs.readFileSync(file, 'latin1').split('\n').filter(l => l !== '');
	const sp = lines[0].indexOf(' ');
	const headers = [];
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		headers.push([l.slice(0, i).toLowerCase(), l.slice(i + 1).replace(/^ /, '')]);
	}
	return { method: lines[0].slice(0, sp), target: lines[0].slice(sp + 1), headers,
		all: n => headers.filter(h => h[0] === n).map(h => h[1]),
		get: n => (headers.find(h => h[0] === n) || [])[1] };
}

// name=app{k=v,...}, the modern grammar: service name up to '{', then k=v pairs.
function parseName(name) {
	const m = /^([^{]*)\{(.*)\}$/.exec(name || '');
	if (!m) return { app: name, labels: {} };
	const labels = {};
	for (const kv of m[2].split(',')) { const i = kv.indexOf('='); if (i > 0) labels[kv.slice(0, i)] = kv.slice(i + 1); }
	return { app: m[1], labels };
}

module.exports = { parseHead, parseName };
