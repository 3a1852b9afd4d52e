#!/usr/bin/env node
// report.js: the Markdown results of one tests/bench/run.sh run.
//
//   node tests/bench/report.js data/bench/results-20261204T220000Z
//
// Reads the files run.sh wrote, named s<scenario>-<variant>-r<run>.<kind>:
// <variant> is peer (the original design's stand-in), maitred, maitred80
// (80 agent slots), mload (maitred under maitred-load), upstream (the mock
// measured directly) or nginx; <kind> is load.json (chat.js), mload.json
// (maitred-load --json), rss.json and idle.json (rss.js on the server's
// process tree, under load and at rest), pg.json and redis.json (rss.js on
// maitred's PostgreSQL and Redis), stats.jsonl (maitred's admin /stats each
// second), retry.txt (the Retry-After probes), mock.json (the mock's /stats),
// ttft.json (upstream_ttft.js) and wrk.txt.
//
// Each figure is the median over the runs of that figure. A difference or a
// ratio between two servers is worked out per run first, and then its median
// is taken. The ratio column is maitred's figure divided by the original
// design's. Prints the summary table, then every run's figures.
'use strict';

const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir || !fs.existsSync(path.join(dir, 'run.txt'))) {
  console.error('usage: node tests/bench/report.js RESULTS_DIR   (a folder written by tests/bench/run.sh)');
  process.exit(2);
}

// ---- reading ----

const run = Object.fromEntries(fs.readFileSync(path.join(dir, 'run.txt'), 'utf8').trim().split('\n')
  .map((line) => line.split('=')));
const repeat = Number(run.repeat);
const scenarios = run.scenarios.split(' ').map(Number);
const scaled = Number(run.scale) !== 1;

function readText(name) {
  try { return fs.readFileSync(path.join(dir, name), 'utf8'); } catch (e) { return null; }
}

function readJson(name) {
  const text = readText(name);
  if (!text) return null;
  try { return JSON.parse(text.trim().split('\n').filter((l) => l.startsWith('{')).pop()); } catch (e) { return null; }
}

function readJsonLines(name) {
  const text = readText(name);
  if (!text) return [];
  return text.trim().split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch (e) { return []; } });
}

function parseWrk(text) {
  if (!text) return null;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) return null;
  const toMs = (m) => (m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : null);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  return {
    rps: Number(rps[1]),
    p50_ms: toMs(/\s50%\s+([\d.]+)(us|ms|s|m)\b/.exec(text)),
    p99_ms: toMs(/\s99%\s+([\d.]+)(us|ms|s|m)\b/.exec(text)),
    errors: (non2xx ? Number(non2xx[1]) : 0)
      + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0),
  };
}

// The files of one run of one server in one scenario.
function files(scenario, variant, rep) {
  const base = `s${scenario}-${variant}-r${rep}`;
  return {
    load: readJson(`${base}.load.json`),
    mload: readJson(`${base}.mload.json`),
    rss: readJson(`${base}.rss.json`),
    idle: readJson(`${base}.idle.json`),
    pg: readJson(`${base}.pg.json`),
    redis: readJson(`${base}.redis.json`),
    mock: readJson(`${base}.mock.json`),
    ttft: readJson(`${base}.ttft.json`),
    stats: readJsonLines(`${base}.stats.jsonl`),
    retry: (readText(`${base}.retry.txt`) || '').trim().split('\n').filter(Boolean).map((l) => l.split(' ')),
    wrk: parseWrk(readText(`${base}.wrk.txt`)),
  };
}

const reps = Array.from({ length: repeat }, (_, i) => i + 1);

// ---- numbers ----

function median(values) {
  const xs = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const m = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

// The median over the runs of f(files of that run); f may throw on a missing file.
function med(scenario, variant, f) {
  return median(reps.map((rep) => { try { return f(files(scenario, variant, rep), rep); } catch (e) { return null; } }));
}

// The median over the runs of f(run number), for figures that combine servers.
function medRuns(f) {
  return median(reps.map((rep) => { try { return f(rep); } catch (e) { return null; } }));
}

function fmt(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a, b, digits = 2) {
  return a === null || b === null || !b ? '-' : fmt(a / b, digits);
}

function verdict(ok) {
  if (ok === null || ok === undefined) return 'not run';
  if (scaled) return 'SCALED';
  return ok ? 'PASS' : 'MISS';
}

const sumValues = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
const chatFailed = (l) => l.turns.failed + l.turns.not_started;
const chatOtherErrors = (l) => sumValues(l.errors) - (l.errors.http_503_overloaded || 0);
const mloadOtherErrors = (m) => sumValues(m.errors) - m.errors.http_503;
const maxOf = (xs, key) => (xs.length ? Math.max(...xs.map((x) => x[key])) : null);
const serverCpuMsPerTurn = (f) => (f.rss.cpu_s * 1000) / f.load.turns.ok;
const servicesCpuMsPerTurn = (f) => ((f.rss.cpu_s + f.pg.cpu_s + f.redis.cpu_s) * 1000) / f.load.turns.ok;

// ---- the summary table ----

const rows = [];
const row = (scenario, figure, maitred, original, ratioText, target, result) => {
  rows.push([scenario, figure, maitred, original, ratioText, target, result]);
};

function scenario1() {
  const up50 = med(1, 'upstream', (f) => f.ttft.ttft_ms.p50);
  const up99 = med(1, 'upstream', (f) => f.ttft.ttft_ms.p99);
  const over = (variant, p) => medRuns((rep) => files(1, variant, rep).load.ttft_ms[p] - files(1, 'upstream', rep).ttft.ttft_ms[p]);
  const m50 = med(1, 'maitred', (f) => f.load.ttft_ms.p50);
  const p50 = med(1, 'peer', (f) => f.load.ttft_ms.p50);
  const m99 = med(1, 'maitred', (f) => f.load.ttft_ms.p99);
  const p99 = med(1, 'peer', (f) => f.load.ttft_ms.p99);
  const o50 = over('maitred', 'p50');
  const o99 = over('maitred', 'p99');
  const sign = (x) => (x === null ? '-' : `${x >= 0 ? '+' : ''}${fmt(x, 1)}`);
  row('1: 20 x 5', `first delta p50, ms (upstream's own: ${fmt(up50, 1)})`,
    `${fmt(m50, 1)} (${sign(o50)})`, `${fmt(p50, 1)} (${sign(over('peer', 'p50'))})`, ratio(m50, p50),
    'upstream + 5 ms at most', verdict(o50 === null ? null : o50 <= 5));
  row('1: 20 x 5', `first delta p99, ms (upstream's own: ${fmt(up99, 1)})`,
    `${fmt(m99, 1)} (${sign(o99)})`, `${fmt(p99, 1)} (${sign(over('peer', 'p99'))})`, ratio(m99, p99),
    'upstream + 20 ms at most', verdict(o99 === null ? null : o99 <= 20));
  const failed = med(1, 'maitred', (f) => chatFailed(f.load));
  row('1: 20 x 5', 'failed turns', fmt(failed), fmt(med(1, 'peer', (f) => chatFailed(f.load))), '-', '0',
    verdict(failed === null ? null : failed === 0));
}

function scenario2() {
  const bound = 20 / 1.08;
  const m20 = med(2, 'maitred', (f) => f.load.turns_per_s);
  const m80 = med(2, 'maitred80', (f) => f.load.turns_per_s);
  const peer = med(2, 'peer', (f) => f.load.turns_per_s);
  row('2: 200 x 3', 'turns/s, 20 agent slots', fmt(m20, 1), fmt(peer, 1), ratio(m20, peer),
    `95 % of 20 / 1.08 s = ${fmt(0.95 * bound, 1)} at least`, verdict(m20 === null ? null : m20 >= 0.95 * bound));
  const r80 = medRuns((rep) => files(2, 'maitred80', rep).load.turns_per_s / files(2, 'peer', rep).load.turns_per_s);
  row('2: 200 x 3', 'turns/s, 80 agent slots (the original ran 4 x 20)', fmt(m80, 1), fmt(peer, 1), fmt(r80, 2),
    '1.5 x the original at least', verdict(r80 === null ? null : r80 >= 1.5));
  row('2: 200 x 3', 'model calls at once, peak (20 / 80 slots)',
    `${fmt(med(2, 'maitred', (f) => f.mock.streams_peak))} / ${fmt(med(2, 'maitred80', (f) => f.mock.streams_peak))}`,
    fmt(med(2, 'peer', (f) => f.mock.streams_peak)), '-', '-', '-');
  row('2: 200 x 3', 'first delta p50 / p99, ms, 20 slots',
    `${fmt(med(2, 'maitred', (f) => f.load.ttft_ms.p50))} / ${fmt(med(2, 'maitred', (f) => f.load.ttft_ms.p99))}`,
    `${fmt(med(2, 'peer', (f) => f.load.ttft_ms.p50))} / ${fmt(med(2, 'peer', (f) => f.load.ttft_ms.p99))}`, '-', '-', '-');
  const failed = medRuns((rep) => chatFailed(files(2, 'maitred', rep).load) + chatFailed(files(2, 'maitred80', rep).load));
  row('2: 200 x 3', 'failed turns (20 + 80 slots)', fmt(failed), fmt(med(2, 'peer', (f) => chatFailed(f.load))), '-',
    '0', verdict(failed === null ? null : failed === 0));
}

// How each turn of scenario 3 ended.
function scenario3Outcomes() {
  const planned = (f) => f.load.turns.planned;
  row('3: 1,000 x 2', 'turns done (chat.js)',
    `${fmt(med(3, 'maitred', (f) => f.load.turns.ok))} / ${fmt(med(3, 'maitred', planned))}`,
    `${fmt(med(3, 'peer', (f) => f.load.turns.ok))} / ${fmt(med(3, 'peer', planned))}`, '-', '-', '-');
  row('3: 1,000 x 2', 'turns rejected with 503 (queue full)',
    fmt(med(3, 'maitred', (f) => f.load.errors.http_503_overloaded || 0)),
    fmt(med(3, 'peer', (f) => f.load.errors.http_503_overloaded || 0)), '-', '-', '-');

  const other = medRuns((rep) => chatOtherErrors(files(3, 'maitred', rep).load) + mloadOtherErrors(files(3, 'mload', rep).mload));
  row('3: 1,000 x 2', 'turns cut or failed otherwise (chat.js + maitred-load)', fmt(other),
    fmt(med(3, 'peer', (f) => chatOtherErrors(f.load))), '-', '0', verdict(other === null ? null : other === 0));

  const probes = reps.flatMap((rep) => files(3, 'maitred', rep).retry);
  const rejected = probes.filter(([status]) => status === '503');
  const withRetry = rejected.filter(([, retry]) => /^\d+$/.test(retry));
  row('3: 1,000 x 2', 'probes rejected with 503 that carry Retry-After, all runs',
    probes.length ? `${withRetry.length} of ${rejected.length} (${probes.length} probes)` : '-', '-', '-',
    'every 503', verdict(rejected.length ? withRetry.length === rejected.length : null));

  const waitersPeak = med(3, 'maitred', (f) => maxOf(f.stats, 'waiters'));
  row('3: 1,000 x 2', 'turns waiting for a slot, peak (MAX_QUEUE 500)', fmt(waitersPeak), '-', '-', '500 at most',
    verdict(waitersPeak === null ? null : waitersPeak <= 500));
}

// What the guests of scenario 3 heard while they waited.
function scenario3Waits() {
  row('3: 1,000 x 2', 'turns that got `queued` events (chat.js)', fmt(med(3, 'maitred', (f) => f.load.queued_turns)),
    fmt(med(3, 'peer', (f) => f.load.queued_turns)), '-', '-', '-');

  const queued = med(3, 'mload', (f) => f.mload.events.queued);
  row('3: 1,000 x 2', '`queued` events (maitred-load)', fmt(queued), '-', '-', 'some',
    verdict(queued === null ? null : queued > 0));

  const keepAlive = med(3, 'mload', (f) => f.mload.events.keep_alive);
  row('3: 1,000 x 2', 'keep-alive comments (maitred-load)', fmt(keepAlive), '-', '-', 'some',
    verdict(keepAlive === null ? null : keepAlive > 0));

  const health = med(3, 'mload', (f) => f.mload.healthz.latency_ms.p99);
  row('3: 1,000 x 2', '/healthz p99 under load, ms (maitred-load)', fmt(health, 1), '-', '-', 'under 20',
    verdict(health === null ? null : health < 20));

  row('3: 1,000 x 2', 'first delta p50 / p99 of done turns, ms',
    `${fmt(med(3, 'maitred', (f) => f.load.ttft_ms.p50))} / ${fmt(med(3, 'maitred', (f) => f.load.ttft_ms.p99))}`,
    `${fmt(med(3, 'peer', (f) => f.load.ttft_ms.p50))} / ${fmt(med(3, 'peer', (f) => f.load.ttft_ms.p99))}`, '-', '-', '-');
}

function scenario3() {
  scenario3Outcomes();
  scenario3Waits();
}

function scenario4() {
  const m = med(4, 'maitred', serverCpuMsPerTurn);
  const p = med(4, 'peer', serverCpuMsPerTurn);
  const r = medRuns((rep) => serverCpuMsPerTurn(files(4, 'maitred', rep)) / serverCpuMsPerTurn(files(4, 'peer', rep)));
  row('4: 20 x 100, instant upstream', 'CPU ms per turn, server process tree', fmt(m, 3), fmt(p, 3), fmt(r, 3),
    `1/20 of the original = ${fmt(p === null ? null : p / 20, 3)} at most`, verdict(r === null ? null : r <= 1 / 20));
  const ms = med(4, 'maitred', servicesCpuMsPerTurn);
  row('4: 20 x 100, instant upstream', 'CPU ms per turn, with maitred\'s PostgreSQL and Redis', fmt(ms, 3), fmt(p, 3),
    ratio(ms, p, 3), '-', '-');
  row('4: 20 x 100, instant upstream', 'turns/s',
    fmt(med(4, 'maitred', (f) => f.load.turns_per_s)), fmt(med(4, 'peer', (f) => f.load.turns_per_s)),
    ratio(med(4, 'maitred', (f) => f.load.turns_per_s), med(4, 'peer', (f) => f.load.turns_per_s)), '-', '-');
}

function scenario5() {
  const nginx = med(5, 'nginx', (f) => f.wrk.rps);
  const m = med(5, 'maitred', (f) => f.wrk.rps);
  const p = med(5, 'peer', (f) => f.wrk.rps);
  const r = medRuns((rep) => files(5, 'maitred', rep).wrk.rps / files(5, 'nginx', rep).wrk.rps);
  row('5: wrk /healthz', `requests/s (nginx \`return 200\`: ${fmt(nginx)})`, `${fmt(m)} (${fmt(r, 2)} x nginx)`, fmt(p),
    ratio(m, p), '0.8 x nginx at least', verdict(r === null ? null : r >= 0.8));
  row('5: wrk /healthz', 'latency p99, ms', fmt(med(5, 'maitred', (f) => f.wrk.p99_ms), 2),
    fmt(med(5, 'peer', (f) => f.wrk.p99_ms), 2), '-', '-', '-');
  const errors = med(5, 'maitred', (f) => f.wrk.errors);
  row('5: wrk /healthz', 'non-2xx responses and socket errors', fmt(errors), fmt(med(5, 'peer', (f) => f.wrk.errors)),
    '-', '0', verdict(errors === null ? null : errors === 0));
}

function scenario6() {
  const idle = (variant) => med(3, variant, (f) => f.idle.peak_pss_mib);
  const peak = (variant) => med(3, variant, (f) => f.rss.peak_pss_mib);
  const rIdle = medRuns((rep) => files(3, 'maitred', rep).idle.peak_pss_mib / files(3, 'peer', rep).idle.peak_pss_mib);
  const rPeak = medRuns((rep) => files(3, 'maitred', rep).rss.peak_pss_mib / files(3, 'peer', rep).rss.peak_pss_mib);
  row('6: memory', 'PSS at rest, MiB (after the warm-up)', fmt(idle('maitred'), 1), fmt(idle('peer'), 1), fmt(rIdle, 3),
    '1/10 of the original at most', verdict(rIdle === null ? null : rIdle <= 0.1));
  row('6: memory', 'PSS at the peak of scenario 3, MiB', fmt(peak('maitred'), 1), fmt(peak('peer'), 1), fmt(rPeak, 3),
    '1/10 of the original at most', verdict(rPeak === null ? null : rPeak <= 0.1));
  row('6: memory', 'RSS at the peak of scenario 3, MiB', fmt(med(3, 'maitred', (f) => f.rss.peak_rss_mib), 1),
    fmt(med(3, 'peer', (f) => f.rss.peak_rss_mib), 1),
    ratio(med(3, 'maitred', (f) => f.rss.peak_rss_mib), med(3, 'peer', (f) => f.rss.peak_rss_mib), 3), '-', '-');
  row('6: memory', 'PSS of maitred\'s PostgreSQL + Redis at the peak, MiB',
    fmt(med(3, 'maitred', (f) => f.pg.peak_pss_mib + f.redis.peak_pss_mib), 1), '- (none used)', '-', '-', '-');
}

function scenario7() {
  const streams = med(7, 'mload', (f) => maxOf(f.stats, 'streams'));
  const users = med(7, 'mload', (f) => f.mload.users);
  row('7: capacity', 'open streams at once, peak', fmt(streams), '-', '-', `${fmt(users)} (every guest)`,
    verdict(streams === null ? null : streams >= users));
  const failed = med(7, 'mload', (f) => sumValues(f.mload.errors) - f.mload.errors.deadline);
  row('7: capacity', 'streams cut or failed before the hold ended', fmt(failed), '-', '-', '0',
    verdict(failed === null ? null : failed === 0));
  const perStream = med(7, 'mload', (f) => ((f.rss.peak_pss_mib - f.idle.peak_pss_mib) * 1024) / maxOf(f.stats, 'streams'));
  row('7: capacity', 'PSS per open stream, KiB ((peak - at rest) / streams)', fmt(perStream, 1), '-', '-', '-', '-');
  row('7: capacity', 'PSS at rest / at the peak, MiB',
    `${fmt(med(7, 'mload', (f) => f.idle.peak_pss_mib), 1)} / ${fmt(med(7, 'mload', (f) => f.rss.peak_pss_mib), 1)}`,
    '-', '-', '-', '-');
  row('7: capacity', '/healthz p99 meanwhile, ms', fmt(med(7, 'mload', (f) => f.mload.healthz.latency_ms.p99), 1),
    '-', '-', '-', '-');
}

const builders = { 1: scenario1, 2: scenario2, 3: scenario3, 4: scenario4, 5: scenario5, 6: scenario6, 7: scenario7 };
for (const s of scenarios) builders[s]();

// ---- every run ----

const runRows = [];
for (const s of scenarios) {
  for (const variant of ['upstream', 'peer', 'maitred', 'maitred80', 'mload', 'nginx']) {
    for (const rep of reps) {
      const f = files(s, variant, rep);
      const name = `s${s}-${variant}-r${rep}`;
      if (f.ttft) {
        runRows.push([name, 'upstream_ttft.js', `${f.ttft.calls.ok}/${f.ttft.calls.planned}`, '-',
          `${fmt(f.ttft.ttft_ms.p50, 1)} / ${fmt(f.ttft.ttft_ms.p99, 1)}`, `${fmt(f.ttft.total_ms.p50)} / ${fmt(f.ttft.total_ms.p99)}`,
          '-', '-', Object.entries(f.ttft.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '0']);
      }
      if (f.load) {
        runRows.push([name, 'chat.js', `${f.load.turns.ok}/${f.load.turns.planned}`, fmt(f.load.turns_per_s, 1),
          `${fmt(f.load.ttft_ms.p50, 1)} / ${fmt(f.load.ttft_ms.p99, 1)}`, `${fmt(f.load.total_ms.p50)} / ${fmt(f.load.total_ms.p99)}`,
          f.rss ? `${fmt(f.idle ? f.idle.peak_pss_mib : null, 1)} / ${fmt(f.rss.peak_pss_mib, 1)}` : '-',
          f.rss ? fmt(f.rss.cpu_s, 2) : '-',
          Object.entries(f.load.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '0']);
      }
      if (f.mload) {
        const m = f.mload;
        runRows.push([name, 'maitred-load', `${m.turns.ok}/${m.turns.planned}`, fmt(m.turns_per_s, 1),
          `${fmt(m.first_delta_ms.p50, 1)} / ${fmt(m.first_delta_ms.p99, 1)}`, `${fmt(m.whole_turn_ms.p50)} / ${fmt(m.whole_turn_ms.p99)}`,
          f.rss ? `${fmt(f.idle ? f.idle.peak_pss_mib : null, 1)} / ${fmt(f.rss.peak_pss_mib, 1)}` : '-',
          f.rss ? fmt(f.rss.cpu_s, 2) : '-',
          `${Object.entries(m.errors).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ') || '0'}; `
          + `queued ${m.events.queued}, keep-alive ${m.events.keep_alive}, streams peak ${fmt(maxOf(f.stats, 'streams'))}`]);
      }
      if (f.wrk) {
        runRows.push([name, 'wrk', '-', fmt(f.wrk.rps), `${fmt(f.wrk.p50_ms, 2)} / ${fmt(f.wrk.p99_ms, 2)}`, '-',
          f.rss ? `- / ${fmt(f.rss.peak_pss_mib, 1)}` : '-', f.rss ? fmt(f.rss.cpu_s, 2) : '-', String(f.wrk.errors)]);
      }
    }
  }
}

// ---- output ----

function table(head, body) {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const env = readText('env.txt') || '';
const line = (key) => ((new RegExp(`^${key}: (.*)$`, 'm').exec(env) || [])[1] || 'unknown');
const skipped = (readText('skipped.txt') || '').trim();
const out = [];
out.push(`maitred beside the original design: ${line('date')}, ${line('machine')}.`);
out.push(`maitred ${line('maitred')}; medians of ${repeat} run${repeat > 1 ? 's' : ''}; load average at start ${line('loadavg at start').split(' ').slice(0, 3).join(' ')}.`);
if (scaled) out.push(`\nBENCH_SCALE=${run.scale}: guest counts are scaled down, so the figures do not answer the targets (SCALED).`);
if (skipped) out.push(`\nNot run (BENCH_TIME_LIMIT reached): ${skipped.split('\n').join(', ')}.`);
out.push('');
out.push(table(['scenario', 'figure', 'maitred', 'original design', 'ratio', 'target', 'result'], rows));
out.push('');
out.push('Ratio: maitred\'s figure divided by the original design\'s (median of the per-run ratios where both ran in each run).');
out.push('');
out.push('Every run (PSS: at rest / peak, MiB; CPU: seconds of the server\'s process tree under load):');
out.push('');
out.push(table(['run', 'load generator', 'ok', 'turns/s or req/s', 'first delta p50 / p99 ms (wrk: latency)', 'whole turn p50 / p99 ms',
  'PSS MiB', 'CPU s', 'errors'], runRows));
console.log(out.join('\n'));
