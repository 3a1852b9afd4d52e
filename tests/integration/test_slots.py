"""Agent slots under load: the cap on model calls, the queue and its order.

Each test starts maitred in front of the test upstream with a real model's
latency (about 1.1 s a turn) and runs a few hundred turns at once.
"""
import threading
import time

import pytest

from harness import Upstream
from test_process_clients import (REALISTIC_UPSTREAM, CountingProxy, Prober, read_stats, run_turns,
                                  summarize)


@pytest.fixture
def realistic_upstream():
    up = Upstream(*REALISTIC_UPSTREAM)
    yield up
    up.stop()


@pytest.fixture
def counted_upstream(realistic_upstream):
    proxy = CountingProxy(realistic_upstream.port)
    yield proxy
    proxy.stop()


def online_env(base_url, **settings):
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": base_url}
    env.update({name: str(value) for name, value in settings.items()})
    return env


class StatsRecorder:
    """Reads /stats every interval seconds on a thread until stop()."""

    def __init__(self, maitred, interval=0.02):
        self.maitred = maitred
        self.interval = interval
        self.snapshots = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.snapshots.append(read_stats(self.maitred))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(15)
        return self.snapshots


def test_200_streams_share_20_slots(start_maitred, realistic_upstream, counted_upstream):
    m = start_maitred(online_env(counted_upstream.base_url, MAX_CONCURRENT_CREWS=20))
    probe = Prober(m.url, "/healthz", interval=0.05)

    started = time.monotonic()
    turns = run_turns(m.url, 200, timeout=120)
    took = time.monotonic() - started
    probes = probe.stop()
    upstream_stats = realistic_upstream.stats()
    outcomes = summarize(turns)
    slowest_probe = max(seconds for _, seconds in probes)
    print(f"200 turns in {took:.1f} s: {outcomes}; model calls {counted_upstream.calls}, "
          f"peak in flight {counted_upstream.peak} (upstream's own count {upstream_stats['peak_in_flight']}); "
          f"{len(probes)} /healthz probes, slowest {slowest_probe * 1000:.0f} ms")

    assert outcomes == {"done": 200}
    assert counted_upstream.calls == 200
    assert counted_upstream.peak <= 20
    # NOTE: the upstream's own peak_in_flight is not asserted, because it can
    # read 21 while maitred runs 20 calls (see CountingProxy).
    assert counted_upstream.peak == 20
    assert len(probes) >= 20
    assert probe.failures() == []
    stats = read_stats(m)
    assert stats["instance"]["slots_in_use"] == 0
    assert stats["instance"]["waiters"] == 0


def queued_positions_grow(turn):
    positions = [data["position"] for data in turn.data_of("queued")]
    return any(later > earlier for earlier, later in zip(positions, positions[1:]))


def admission_order_broken(snapshot):
    """True when a run holds a slot although a run with an earlier ticket still waits."""
    holding = [run["ticket"] for run in snapshot["runs"] if run["state"] != "queued"]
    waiting = [run["ticket"] for run in snapshot["runs"] if run["state"] == "queued"]
    return bool(holding and waiting and max(holding) > min(waiting))


def test_300_turns_queue_then_503(start_maitred, realistic_upstream):
    m = start_maitred(online_env(realistic_upstream.base_url, MAX_CONCURRENT_CREWS=20, MAX_QUEUE=100))
    recorder = StatsRecorder(m)

    started = time.monotonic()
    turns = run_turns(m.url, 300, gap=0.002, id_prefix="queue", timeout=120)
    took = time.monotonic() - started
    snapshots = recorder.stop()
    outcomes = summarize(turns)
    queued = [t for t in turns if t.data_of("queued")]
    max_wait = max(t.ended_at - t.sent_at for t in turns)
    print(f"300 turns in {took:.1f} s: {outcomes}; {len(queued)} were queued; longest turn "
          f"{max_wait:.1f} s; {len(snapshots)} /stats snapshots")

    assert set(outcomes) <= {"done", "http 503 overloaded", "error overloaded"}
    assert outcomes.get("done", 0) >= 120
    rejected = [t for t in turns if t.outcome() != "done"]
    for turn in rejected:
        if turn.status == 503:
            assert turn.headers.get("retry-after") == "5", turn.label
        else:
            assert turn.events[-1][2]["error"]["retry_after"] == 5, turn.label
    assert len(queued) >= 90
    assert [t.label for t in turns if queued_positions_grow(t)] == []
    for turn in queued:
        if turn.outcome() == "done":
            assert turn.names().index("queued") < turn.names().index("delta"), turn.label
    assert [s["runs"] for s in snapshots if admission_order_broken(s)] == []
    assert max(len([r for r in s["runs"] if r["state"] == "queued"]) for s in snapshots) <= 100
    assert max(s["instance"]["slots_in_use"] for s in snapshots) == 20
    final = read_stats(m)
    assert final["instance"]["slots_in_use"] == 0
    assert final["instance"]["waiters"] == 0
    assert [w["streams"] for w in final["workers"]] == [0, 0, 0, 0]
