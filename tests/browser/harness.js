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
				const health = await request(this.url + '/healthz', { timeoutMs: 1000 });
				const stats = await request(this.adminUrl + '/stats', { timeoutMs: 1000 });
				const workers = JSON.parse(stats.body).workers || [];
				if (health.status === 200 && workers.length && workers.every(function (w) { return w.state === 'ready'; }))
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

/* Launches Debian's Chromium. Playwright gives it a fresh, temporary
 * --user-data-dir of its own, because launch() rejects that argument. */
function launchChromium() {
	if (!fs.existsSync(CHROMIUM))
		throw new Error(CHROMIUM + ' is missing: install it with apt-get install -y chromium');
	return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

module.exports = { ARTIFACTS, Maitred, Upstream, freshDatabase, launchChromium, psql, request, sleep };
