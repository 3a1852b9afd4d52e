"""SIGHUP replaces the workers under traffic, and SIGTERM drains the instance.

Traffic runs all along, into the drain: streamed chat turns on new
connections, /healthz probes on new connections and /v1/menu requests on
one keep-alive connection, while a thread records /stats.
"""
import http.client
import json
import signal
import threading
import time
import urllib.parse

import pytest

from harness import Upstream, request
from test_process_clients import (REALISTIC_UPSTREAM, ChatLoad, Prober, read_stats, run_turns,
                                  summarize, wait_for, worker_exits)


@pytest.fixture
def realistic_upstream():
    up = Upstream(*REALISTIC_UPSTREAM)
    yield up
    up.stop()


class KeepAliveClient:
    """Sends GET path on one keep-alive connection every interval seconds on a thread.

    As browsers do, it sends a request once more on a new connection when a
    reused connection turns out to be closed before any byte of the response
    came. results contains (status or error text, whether it was sent again)."""

    def __init__(self, base, path, interval=0.05):
        self.base = urllib.parse.urlsplit(base)
        self.path = path
        self.interval = interval
        self.results = []
        self._conn = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _send(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=10)
        self._conn.request("GET", self.path)
        resp = self._conn.getresponse()
        resp.read()
        if resp.getheader("Connection", "").lower() == "close":
            self._conn.close()
            self._conn = None
        return resp.status

    def _run(self):
        while not self._stop.is_set():
            reused = self._conn is not None
            try:
                self.results.append((self._send(), False))
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
                self._conn.close()
                self._conn = None
                if not reused:
                    self.results.append((f"{type(exc).__name__}: {exc}", False))
                else:
                    try:
                        self.results.append((self._send(), True))
                    except (OSError, http.client.HTTPException) as again:
                        self.results.append((f"{type(again).__name__}: {again}", True))
            except (OSError, http.client.HTTPException) as exc:
                self.results.append((f"{type(exc).__name__}: {exc}", False))
                self._conn = None
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(15)
        if self._conn:
            self._conn.close()
        return self.results


class GaugeRecorder:
    """Keeps the lowest connections and streams gauge /stats showed, read every 50 ms."""

    def __init__(self, maitred):
        self.maitred = maitred
        self.lowest = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            workers = read_stats(self.maitred)["workers"]
            values = [w["connections"] for w in workers] + [w["streams"] for w in workers]
            self.lowest = min([self.lowest] + values)
            self.samples += 1
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join(15)


def reloaded(m, generation, old_pids):
    stats = read_stats(m)
    fresh = [w for w in stats["workers"]
             if w["generation"] == generation and w["state"] == "ready" and w["pid"] not in old_pids]
    if stats["instance"]["generation"] == generation and len(fresh) == len(stats["workers"]):
        return stats
    return None


def exits_of(m, pids):
    """Returns the master's exit lines of pids once there is one for each, else None."""
    exits = [e for e in worker_exits(m.log_text()) if e[1] in pids]
    return exits if len(exits) == len(pids) else None


def test_reload_then_drain_under_traffic(start_maitred, realistic_upstream, tmp_path):
    config = tmp_path / "maitred.conf"
    config.write_text("MAX_CONCURRENT_CREWS=10\nDRAIN_TIMEOUT=20\n")
    m = start_maitred({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": realistic_upstream.base_url,
                       "CONFIG_FILE": str(config)})
    first = read_stats(m)
    old_pids = [w["pid"] for w in first["workers"]]
    load = ChatLoad(m.url, threads=12)
    probe = Prober(m.url, "/healthz", interval=0.05)
    menu = KeepAliveClient(m.url, "/v1/menu")
    gauges = GaugeRecorder(m)
    time.sleep(2)

    config.write_text("MAX_CONCURRENT_CREWS=12\nDRAIN_TIMEOUT=20\n")
    hup_at = time.monotonic()
    m.signal(signal.SIGHUP)
    second = wait_for(lambda: reloaded(m, 2, old_pids), 30)
    reload_seconds = time.monotonic() - hup_at
    old_exits = wait_for(lambda: exits_of(m, old_pids), 30)
    old_gone_seconds = time.monotonic() - hup_at
    time.sleep(1)

    # Slow turns keep streaming after SIGTERM, so the drain has streams to wait for.
    realistic_upstream.faults([{"kind": "slow", "match": "take your time", "count": 3,
                                "ttft_ms": 300, "token_ms": 100}])
    slow = []
    slow_sender = threading.Thread(
        target=lambda: slow.extend(run_turns(m.url, 3, message="Hello, take your time", id_prefix="slow",
                                             timeout=60)),
        daemon=True)
    slow_sender.start()
    assert wait_for(lambda: len([r for r in read_stats(m)["runs"]
                                 if r["turn_id"].startswith("slow-") and r["state"] == "streaming"]) == 3, 10)

    # Traffic goes on for the first second of the drain, as it does while a
    # load balancer has not yet noticed that /readyz fails.
    term_at = time.monotonic()
    m.signal(signal.SIGTERM)
    time.sleep(0.5)
    readyz = request(m.url, "GET", "/readyz", timeout=5)
    time.sleep(0.5)
    load.halt()
    probes = probe.stop()
    menu_results = menu.stop()
    gauges.stop()
    status = m.proc.wait(40)
    drain_seconds = time.monotonic() - term_at
    turns = load.stop()
    slow_sender.join(30)
    # A turn sent just before SIGTERM may reach the server after it.
    started_before_term = [t for t in turns if t.events and t.events[0][0] < term_at]
    during_drain = [t for t in turns if t.sent_at >= term_at]
    in_flight_at_term = [t for t in started_before_term + slow if t.ended_at > term_at]
    log = m.log_text()
    print(f"reload: generation 2 serving after {reload_seconds:.2f} s, old workers gone after "
          f"{old_gone_seconds:.2f} s; all {len(turns)} turns {summarize(turns)}; "
          f"{len(started_before_term)} streams started before SIGTERM {summarize(started_before_term)}, "
          f"slow turns {summarize(slow)}, {len(in_flight_at_term)} of them in flight at SIGTERM; "
          f"{len(during_drain)} turns sent during the drain {summarize(during_drain)}; /readyz during the "
          f"drain {readyz[0]}; drain took {drain_seconds:.2f} s, exit {status}; {len(probes)} probes, "
          f"{len(menu_results)} keep-alive requests ({sum(1 for _, again in menu_results if again)} "
          f"sent again); lowest gauge {gauges.lowest} in {gauges.samples} samples")

    assert first["instance"]["slot_limit"] == 10
    assert second is not None
    assert second["instance"]["slot_limit"] == 12
    assert second["instance"]["generation"] == first["instance"]["generation"] + 1
    assert "reload_done: generation 2 serving" in log
    assert old_exits is not None
    assert all(e[2] == "exited with status 0" for e in old_exits)
    assert status == 0
    assert set(summarize(turns)) <= {"done", "http 503 not_ready"}
    assert summarize(started_before_term) == {"done": len(started_before_term)}
    assert summarize(slow) == {"done": 3}
    assert len(in_flight_at_term) >= 3
    assert len(during_drain) >= 1
    assert summarize(during_drain) == {"http 503 not_ready": len(during_drain)}
    assert {t.headers.get("retry-after") for t in during_drain} == {"1"}
    assert readyz[0] == 503
    assert probe.failures() == []
    assert [r for r in menu_results if r[0] != 200] == []
    assert gauges.lowest >= 0
    assert "master_stopped: all workers stopped" in log


def keep_alive_request(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body else {}
    conn.request(method, path, body, headers)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def test_drain_closes_keep_alive_connections(start_maitred, realistic_upstream):
    m = start_maitred({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": realistic_upstream.base_url,
                       "WORKERS": "1", "DRAIN_TIMEOUT": "20"})
    idle = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
    chatty = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
    before = keep_alive_request(idle, "GET", "/healthz")
    keep_alive_request(chatty, "GET", "/healthz")
    realistic_upstream.faults([{"kind": "slow", "match": "take your time", "ttft_ms": 300, "token_ms": 100}])
    slow = []
    sender = threading.Thread(
        target=lambda: slow.extend(run_turns(m.url, 1, message="Hello, take your time", timeout=60)),
        daemon=True)
    sender.start()
    assert wait_for(lambda: [r for r in read_stats(m)["runs"] if r["state"] == "streaming"], 10)

    m.signal(signal.SIGTERM)
    time.sleep(0.5)
    during = keep_alive_request(idle, "GET", "/healthz")
    chat = keep_alive_request(chatty, "POST", "/v1/chat", b'{"message": "Hello"}')
    idle.close()
    chatty.close()
    status = m.proc.wait(40)
    sender.join(30)
    print(f"during the drain: /healthz on a kept connection {during[0]} with Connection: "
          f"{during[1].get('connection')}; a chat turn {chat[0]} {chat[2]!r}; the slow stream "
          f"{summarize(slow)}; exit {status}")

    assert before[1].get("connection") != "close"
    assert during[0] == 200
    assert during[1]["connection"] == "close"
    assert chat[0] == 503
    assert chat[1]["retry-after"] == "1"
    assert chat[1]["connection"] == "close"
    assert json.loads(chat[2])["error"]["code"] == "not_ready"
    assert summarize(slow) == {"done": 1}
    assert status == 0


def test_invalid_config_is_rejected_on_reload(start_maitred, tmp_path):
    config = tmp_path / "maitred.conf"
    config.write_text("MAX_CONCURRENT_CREWS=10\n")
    m = start_maitred({"CONFIG_FILE": str(config)})
    pids = m.worker_pids()
    config.write_text("MAX_CONCURRENT_CREWS=lots\n")
    m.signal(signal.SIGHUP)
    rejected = wait_for(lambda: [line for line in m.log_text().splitlines() if "reload_rejected" in line], 5)
    stats = read_stats(m)
    print(rejected)

    assert rejected
    assert (f"invalid MAX_CONCURRENT_CREWS=lots from {config} line 1: expected an integer from 1 to 10000; "
            "keeping the running configuration") in rejected[0]
    assert stats["instance"]["generation"] == 1
    assert stats["instance"]["slot_limit"] == 10
    assert [w["pid"] for w in stats["workers"]] == pids
    assert request(m.url, "GET", "/healthz")[0] == 200
