"""A guest who closes the connection mid-turn: maitred aborts the model call
at once and gives the agent slot back."""
import time

import pytest

from harness import Upstream
from test_model_support import StreamReader, metric, online_env, slots_in_use, wait_until, wait_upstream_idle

# How long after the guest's close the upstream must see its request aborted.
ABORT_WITHIN_S = 0.1


@pytest.fixture(scope="module")
def upstream():
    # 80 tokens, 100 ms apart: each answer streams for about 8 s.
    up = Upstream("--ttft-ms", "50", "--token-ms", "100", "--tokens", "80")
    yield up
    up.stop()


@pytest.fixture
def maitred(start_maitred, upstream):
    upstream.reset()
    return start_maitred(online_env(upstream))


def check_aborted_after_close(maitred, upstream, reader):
    assert wait_upstream_idle(upstream, timeout=5)
    stats = upstream.stats()
    assert stats["aborted"] == 1
    delay = stats["last_aborts"][-1] - reader.closed_at
    assert 0 <= delay < ABORT_WITHIN_S
    assert wait_until(lambda: slots_in_use(maitred) == 0, 2)

    metrics = maitred.metrics()
    assert metric(metrics, "maitred_upstream_aborts_total") == 1
    assert wait_until(lambda: metric(maitred.metrics(), "maitred_turns_total", outcome="guest_gone") == 1, 2)
    assert metric(metrics, "maitred_agent_slots_in_use") == 0


def test_close_mid_stream_aborts_upstream(maitred, upstream):
    reader = StreamReader(maitred.url, "Hello LEAVE1")
    assert reader.status == 200
    assert reader.read_until("delta") is not None
    assert slots_in_use(maitred) == 1
    time.sleep(0.3)

    reader.close()

    check_aborted_after_close(maitred, upstream, reader)
    assert upstream.stats()["requests"] == 1


def test_close_before_first_token_aborts_upstream(maitred, upstream):
    upstream.faults([{"kind": "stall_before", "seconds": 5, "match": "LEAVE2"}])
    reader = StreamReader(maitred.url, "Hello LEAVE2")
    assert reader.read_until("meta") is not None
    assert wait_until(lambda: upstream.stats()["in_flight"] == 1, 2)
    time.sleep(0.3)

    reader.close()

    check_aborted_after_close(maitred, upstream, reader)


def test_slot_reused_after_guest_leaves(start_maitred, upstream):
    upstream.reset()
    maitred = start_maitred(online_env(upstream, MAX_CONCURRENT_CREWS=1))
    leaving = StreamReader(maitred.url, "Hello LEAVE3")
    assert leaving.read_until("delta") is not None

    leaving.close()
    assert wait_until(lambda: slots_in_use(maitred) == 0, 2)

    upstream.faults([{"kind": "slow", "ttft_ms": 10, "token_ms": 1, "match": "STAY3"}])
    staying = StreamReader(maitred.url, "Hello STAY3")
    staying.read_all()
    assert "queued" not in staying.names()
    assert staying.names()[-1] == "done"
