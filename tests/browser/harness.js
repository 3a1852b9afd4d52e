'use strict';
/* Processes for the browser test, all on 127.0.0.1: a fresh PostgreSQL
 * database, maitred, the test upstream and Debian's headless Chromium.
 * tests/run.sh starts PostgreSQL and Redis and sets MAITRED_TEST_PG_URL and
 * MAITRED_TEST_REDIS_URL. */
const childProcess = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { chromium } = require('playwright-core');

const TOP = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(TOP, 'tests', 'artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];
const READY_TIMEOUT_MS = 30000;
const STOP_TIMEOUT_MS = 40000;

function requireEnv(name) {
	const value = process.env[name];
	if (!value)
		throw new Error(name + ' is not set: run the browser test through tests/run.sh, which starts ' +
			'PostgreSQL and Redis and sets it');
	return value;
}

function sleep(ms) {
	return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

function freePort() {
	return new Promise(function (resolve, reject) {
		const server = net.createServer();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', function () {
			const port = server.address().port;
			server.close(function () { resolve(port); });
		});
	});
}

/* Runs SQL with psql and returns the rows as arrays of strings. */
function psql(url, sql) {
	const env = Object.assign({}, process.env, { PGOPTIONS: '-c client_min_messages=warning' });
	const out = childProcess.execFileSync('psql', [url, '-qtAX', '-F', '\t', '-c', sql], { encoding: 'utf8', env: env });
	return out.split('\n').filter(Boolean).map(function (line) { return line.split('\t'); });
}

/* Drops and creates a database. maitred applies its migrations at start. */
function freshDatabase(name) {
	const base = requireEnv('MAITRED_TEST_PG_URL');
	psql(base + '/postgres', 'DROP DATABASE IF EXISTS ' + name + ' WITH (FORCE)');
	psql(base + '/postgres', 'CREATE DATABASE ' + name);
	return base + '/' + name;
}

/* Sends one request and resolves to {status, headers, body}, the body as text. */
function request(url, options) {
	const opts = options || {};
	const headers = Object.assign({}, opts.headers);
	let body = null;
	if (opts.body !== undefined) {
		body = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
		headers['Content-Length'] = String(body.length);
	}
	return new Promise(function (resolve, reject) {
		const req = http.request(url, { method: opts.method || 'GET', headers: headers,
			timeout: opts.timeoutMs || 10000 }, function (res) {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', function (chunk) { text += chunk; });
			res.on('end', function () { resolve({ status: res.statusCode, headers: res.headers, body: text }); });
		});
		req.on('timeout', function () { req.destroy(new Error('request to ' + url + ' timed out')); });
		req.on('error', reject);
		req.end(body);
	});
}

function waitExit(proc, timeoutMs) {
	return new Promise(function (resolve) {
		if (proc.exitCode !== null || proc.signalCode !== null) {
			resolve(true);
			return;
		}
		const timer = setTimeout(function () { resolve(false); }, timeoutMs);
		proc.once('exit', function () {
			clearTimeout(timer);
			resolve(true);
		});
	});
}

/* One maitred on free ports with its own shared-memory name. Its log goes
 * to tests/artifacts/browser-NAME-PORT.log. */
class Maitred {
	static async start(databaseUrl, name, extraEnv) {
		const server = new Maitred();
		server.port = await freePort();
		server.adminPort = await freePort();
		server.url = 'http://127.0.0.1:' + server.port;
		server.adminUrl = 'http://127.0.0.1:' + server.adminPort;
		server.databaseUrl = databaseUrl;
		fs.mkdirSync(ARTIFACTS, { recursive: true });
		server.logPath = path.join(ARTIFACTS, 'browser-' + name + '-' + server.port + '.log');
		const env = Object.assign({
			PATH: process.env.PATH || '/usr/bin:/bin',
			PORT: String(server.port),
			HOST: '127.0.0.1',
			ADMIN_LISTEN: '127.0.0.1:' + server.adminPort,
			DATABASE_URL: databaseUrl,
			REDIS_URL: requireEnv('MAITRED_TEST_REDIS_URL') + '/2',
			SHM_NAME: '/maitred-browser-' + server.port,
			CHAT_RATE_LIMIT: '0',
			LOG_LEVEL: 'info',
		}, extraEnv || {});
		const log = fs.openSync(server.logPath, 'w');
		server.proc = childProcess.spawn(path.join(TOP, 'maitred'), [], { env: env, stdio: ['ignore', log, log] });
		fs.closeSync(log);
		await server.waitReady();
		return server;
	}

	async waitReady() {
		const deadline = Date.now() + READY_TIMEOUT_MS;
		while (Date.now() < deadline) {
			if (this.proc.exitCode !== null)
				throw new Error('maitred exited with ' + this.proc.exitCode + '; see ' + this.logPath);
			try {
				/* NOTE: /stats is not used here because a worker that gets ready
				 * before the master records its fork can stay "starting" there. */
				const ready = await request(this.url + '/readyz', { timeoutMs: 1000 });
				if (ready.status === 200)
					return;
			} catch (err) {
				/* Not listening yet. */
			}
			await sleep(100);
		}
		throw new Error('maitred did not become ready within ' + READY_TIMEOUT_MS + ' ms; see ' + this.logPath);
	}

	async stop() {
		if (this.proc.exitCode !== null)
			return;
		this.proc.kill('SIGTERM');
		if (!await waitExit(this.proc, STOP_TIMEOUT_MS)) {
			this.proc.kill('SIGKILL');
			await waitExit(this.proc, 5000);
		}
	}
}

/* The test upstream (tests/upstream/upstream.py) on a free port. */
class Upstream {
	static start(args) {
		return new Promise(function (resolve, reject) {
			const upstream = new Upstream();
			upstream.proc = childProcess.spawn('/usr/bin/python3',
				[path.join(TOP, 'tests', 'upstream', 'upstream.py'), '--port', '0', '--quiet'].concat(args || []),
				{ stdio: ['ignore', 'pipe', 'inherit'] });
			let out = '';
			upstream.proc.stdout.setEncoding('utf8');
			upstream.proc.stdout.on('data', function (chunk) {
				out += chunk;
				const match = out.match(/listening on 127\.0\.0\.1:(\d+)/);
				if (match && !upstream.port) {
					upstream.port = Number(match[1]);
					upstream.url = 'http://127.0.0.1:' + upstream.port;
					resolve(upstream);
				}
			});
			upstream.proc.on('exit', function (code) {
				if (!upstream.port)
					reject(new Error('the test upstream exited with ' + code + ' before listening'));
			});
		});
	}

	/* Queues faults, as tests/upstream/README.md describes. */
	async faults(list) {
		const res = await request(this.url + '/_control/faults', { method: 'POST', body: list,
			headers: { 'Content-Type': 'application/json' } });
		if (res.status !== 200)
			throw new Error('the test upstream rejected the faults: ' + res.status + ' ' + res.body);
	}

	async stop() {
		if (this.proc.exitCode !== null)
			return;
		this.proc.kill('SIGTERM');
		await waitExit(this.proc, 10000);
	}
}

/* A TCP proxy on loopback in front of maitred that can cut one chat
 * stream, as a phone losing its connection would. cutNextChat() arms it:
 * the next POST /v1/chat response is passed on up to the end of its
 * `afterDeltas`-th delta event, then the browser's side is closed. With
 * closeServer false the server's side stays open and is read to its end,
 * so the turn on the server does not notice the drop. */
class CuttingProxy {
	static start(targetPort) {
		const proxy = new CuttingProxy();
		proxy.plan = null;
		proxy.cuts = 0;
		proxy.sockets = new Set();
		proxy.server = net.createServer(function (client) { proxy.connect(client, targetPort); });
		return new Promise(function (resolve, reject) {
			proxy.server.on('error', reject);
			proxy.server.listen(0, '127.0.0.1', function () {
				proxy.url = 'http://127.0.0.1:' + proxy.server.address().port;
				resolve(proxy);
			});
		});
	}

	cutNextChat(afterDeltas, closeServer) {
		this.plan = { afterDeltas: afterDeltas, closeServer: closeServer, seen: '', done: false };
	}

	connect(client, targetPort) {
		const proxy = this;
		const server = net.connect(targetPort, '127.0.0.1');
		let cut = null;
		[client, server].forEach(function (socket) {
			proxy.sockets.add(socket);
			socket.on('close', function () { proxy.sockets.delete(socket); });
		});

		client.on('data', function (chunk) {
			if (proxy.plan && !cut && chunk.toString('latin1').startsWith('POST /v1/chat')) {
				cut = proxy.plan;
				proxy.plan = null;
			}
			server.write(chunk);
		});
		server.on('data', function (chunk) {
			if (!cut) {
				client.write(chunk);
				return;
			}
			if (cut.done)
				return;
			const before = cut.seen.length;
			cut.seen += chunk.toString('latin1');
			const end = cutPosition(cut.seen, cut.afterDeltas);
			if (end < 0) {
				client.write(chunk);
				return;
			}
			/* The events before the cut reach the page first; then the line
			 * drops. Ending in the same write would let Chromium discard the
			 * buffered events along with the broken response. */
			client.write(chunk.subarray(0, end - before));
			setTimeout(function () { client.end(); }, 300);
			cut.done = true;
			proxy.cuts++;
			if (cut.closeServer)
				server.destroy();
		});
		client.on('error', function () { server.destroy(); });
		server.on('error', function () { client.destroy(); });
		client.on('close', function () {
			if (!cut || !cut.done || cut.closeServer)
				server.destroy();
		});
		server.on('close', function () { client.destroy(); });
	}

	stop() {
		this.sockets.forEach(function (socket) { socket.destroy(); });
		return new Promise(function (resolve) { this.server.close(resolve); }.bind(this));
	}
}

/* Returns the offset just past the n-th delta event in text, or -1. */
function cutPosition(text, n) {
	let from = 0;
	for (let i = 0; i < n; i++) {
		const at = text.indexOf('event: delta', from);
		if (at < 0)
			return -1;
		from = at + 1;
	}
	const end = text.indexOf('\n\n', from);
	return end < 0 ? -1 : end + 2;
}

/* Launches Debian's Chromium. Playwright gives it a fresh, temporary
 * --user-data-dir of its own, because launch() rejects that argument. */
function launchChromium() {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(CHROMIUM + ' is missing: install it with apt-get install -y chromium');
	return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

module.exports = { ARTIFACTS, CuttingProxy, Maitred, Upstream, freshDatabase, launchChromium, psql, request, sleep };
