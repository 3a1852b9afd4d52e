#!/usr/bin/env node
// upstream_ttft.js: time to first token of an OpenAI-compatible upstream,
// measured directly, without maitred in between.
//
//   node tests/bench/upstream_ttft.js --url http://127.0.0.1:8081/v1 --users 20 --calls 5
//
// N clients run at once, each with its own keep-alive connection, and each
// sends M streaming chat completions one after another, reading every stream
// to its end. Time to first token runs from sending the request to reading
// the first chunk whose delta carries content. This is the floor a chat
// server's time to first delta is compared with: the same upstream, the same
// concurrency, measured from a client on the same machine.
// Percentiles are nearest-rank, the method the chat load generators use.
// Output: one JSON line on stdout (and in --json-out), then one human line.
// Node's http module only; loopback targets only.
'use strict';

const fs = require('fs');
const http = require('http');

const USAGE = `usage: node tests/bench/upstream_ttft.js --url URL [flags]
  --url URL         the upstream's base URL, ending in /v1 (loopback only)
  --users N         clients at once, 1..1000 (default 20)
  --calls M         completions per client, one after another, 1..1000 (default 5)
  --duration S      hard stop in seconds, 1..3600 (default 60)
  --json-out FILE   also write the JSON summary to FILE`;

function parseArgs(argv) {
  const opt = { url: null, users: 20, calls: 5, duration: 60, jsonOut: null };
  const integer = (flag, value, min, max) => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`${flag}: invalid value ${JSON.stringify(value)}; give a whole number in ${min}..${max}`);
    }
    return n;
  };
  for (let i = 2; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--url') opt.url = value;
    else if (flag === '--users') opt.users = integer(flag, value, 1, 1000);
    else if (flag === '--calls') opt.calls = integer(flag, value, 1, 1000);
    else if (flag === '--duration') opt.duration = integer(flag, value, 1, 3600);
    else if (flag === '--json-out') opt.jsonOut = value;
    else if (flag === '-h' || flag === '--help') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  if (!opt.url) throw new Error(`--url is required\n${USAGE}`);
  const url = new URL(opt.url.replace(/\/+$/, '') + '/chat/completions');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:' || !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
    throw new Error(`--url: invalid value ${JSON.stringify(opt.url)}; give an http:// URL on a loopback address`);
  }
  opt.host = host;
  opt.port = Number(url.port || 80);
  opt.path = url.pathname;
  return opt;
}

let opt;
try {
  opt = parseArgs(process.argv);
} catch (e) {
  console.error(`upstream_ttft.js: ${e.message}`);
  process.exit(2);
}

const BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [
    { role: 'system', content: 'You answer questions about the restaurant menu.' },
    { role: 'user', content: 'Which starters are vegetarian?' },
  ],
});

const records = [];
const inflight = new Set();
let stopping = false;

// One streaming completion; resolves with { ttft_ms, total_ms, error }.
function call(agent) {
  return new Promise((resolve) => {
    const start = performance.now();
    const rec = { ttft_ms: null, total_ms: null, error: null };
    let settled = false;
    let buffer = '';
    const finish = (error) => {
      if (settled) return;
      settled = true;
      inflight.delete(req);
      rec.error = error;
      rec.total_ms = performance.now() - start;
      resolve(rec);
    };
    const req = http.request({
      host: opt.host, port: opt.port, path: opt.path, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) },
    });
    inflight.add(req);
    req.on('response', (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => finish(`http_${res.statusCode}`));
        return;
      }
      let sawDone = false;
      res.on('data', (text) => {
        buffer += text;
        let end;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, end).trim();
          buffer = buffer.slice(end + 1);
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') { sawDone = true; continue; }
          if (rec.ttft_ms !== null) continue;
          try {
            const chunk = JSON.parse(data);
            const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
            if (delta && delta.content) rec.ttft_ms = performance.now() - start;
          } catch (e) {
            rec.error = rec.error || 'bad_chunk';
          }
        }
      });
      res.on('end', () => finish(rec.error || (sawDone ? null : 'incomplete')));
      res.on('error', () => finish('conn_reset'));
    });
    req.on('error', (e) => finish(stopping ? 'deadline' : `conn_${e.code || 'error'}`));
    req.end(BODY);
  });
}

async function runClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < opt.calls && !stopping; i++) records.push(await call(agent));
  agent.destroy();
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return Math.round(sorted[rank - 1] * 10) / 10;
}

function distribution(values) {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return {
    n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99),
    max: sorted.length ? Math.round(sorted[sorted.length - 1] * 10) / 10 : null,
  };
}

async function main() {
  const t0 = performance.now();
  const deadline = setTimeout(() => {
    stopping = true;
    for (const req of inflight) req.destroy();
  }, opt.duration * 1000);
  const clients = [];
  for (let i = 0; i < opt.users; i++) clients.push(runClient());
  await Promise.all(clients);
  clearTimeout(deadline);

  const ok = records.filter((r) => !r.error);
  const errors = {};
  for (const r of records) if (r.error) errors[r.error] = (errors[r.error] || 0) + 1;
  const summary = {
    tool: 'upstream_ttft.js', url: opt.url, users: opt.users, calls_per_user: opt.calls,
    elapsed_s: Math.round((performance.now() - t0) / 10) / 100,
    calls: { planned: opt.users * opt.calls, ok: ok.length, failed: records.length - ok.length },
    ttft_ms: distribution(ok.map((r) => r.ttft_ms)),
    total_ms: distribution(ok.map((r) => r.total_ms)),
    errors,
  };
  const line = JSON.stringify(summary);
  if (opt.jsonOut) fs.writeFileSync(opt.jsonOut, `${line}\n`);
  console.log(line);
  console.log(`upstream_ttft.js: ${summary.calls.ok}/${summary.calls.planned} calls ok; first token p50 `
    + `${summary.ttft_ms.p50} ms, p99 ${summary.ttft_ms.p99} ms; whole call p50 ${summary.total_ms.p50} ms`);
}

main().catch((e) => {
  console.error(`upstream_ttft.js: ${e.stack || e}`);
  process.exit(1);
});
