"""OPENAI_RPM holds across instances: two maitred instances share one budget
of model requests per minute through Redis, and turns wait for room rather
than fail."""
import threading
import time

from harness import Upstream, chat_sse, events_of, redis_cli
from test_model_support import online_env

RPM = 60
TURNS = 75   # more than one minute's budget


def max_in_any_minute(arrivals):
    arrivals = sorted(arrivals)
    best, start = 0, 0
    for end, t in enumerate(arrivals):
        while t - arrivals[start] >= 60.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_rpm_shared_by_two_instances(start_maitred):
    upstream = Upstream("--ttft-ms", "20", "--token-ms", "2", "--tokens", "5")
    try:
        for key in ("maitred:quota:requests", "maitred:quota:tokens", "maitred:quota:pause"):
            redis_cli("-n", "1", "DEL", key)
        env = online_env(upstream, OPENAI_RPM=RPM, TURN_TIMEOUT=120000, QUEUE_TIMEOUT=120, WORKERS=2)
        first = start_maitred(env)
        second = start_maitred(env)
        results = []

        def turn(i):
            base = (first if i % 2 else second).url
            status, _, events = chat_sse(base, f"Hello number {i}", timeout=150)
            results.append((status, events))

        started = time.monotonic()
        threads = [threading.Thread(target=turn, args=(i,)) for i in range(TURNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(170)
        elapsed = time.monotonic() - started
        stats = upstream.stats()
    finally:
        upstream.stop()

    print(f"{TURNS} turns in {elapsed:.1f} s; upstream saw {stats['requests']} requests")
    assert len(results) == TURNS
    assert all(status == 200 for status, _ in results)
    done = [events for _, events in results if events_of(events, "done")]
    assert len(done) == TURNS
    assert stats["requests"] == TURNS
    assert max_in_any_minute(stats["arrivals"]) <= RPM
    # The budget really bound: the last turns waited for the window to move.
    assert elapsed > 55
