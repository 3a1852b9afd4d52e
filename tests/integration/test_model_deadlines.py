"""Deadlines of a model call: first token, idle gap, whole call, and the
status notice while the guest waits. Each test's message carries a marker
that its faults match, so no test takes another's fault."""
import pytest

from harness import Upstream
from test_model_support import (StreamReader, metric, online_env, requests_for, slots_in_use,
                                wait_until, wait_upstream_idle)


@pytest.fixture(scope="module")
def upstream():
    up = Upstream("--ttft-ms", "50", "--token-ms", "5")
    yield up
    up.stop()


def start(start_maitred, upstream, **settings):
    upstream.reset()
    return start_maitred(online_env(upstream, **settings))


def chat(maitred, message):
    reader = StreamReader(maitred.url, message)
    reader.read_all()
    assert reader.status == 200
    return reader


def test_first_token_timeout_retries(start_maitred, upstream):
    maitred = start(start_maitred, upstream, OPENAI_FIRST_TOKEN_TIMEOUT=800)
    upstream.faults([{"kind": "stall_before", "seconds": 4, "match": "FIRST1"}])

    reader = chat(maitred, "Hello FIRST1")

    assert reader.names()[-1] == "done"
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "FIRST1")
    assert [c["outcome"] for c in calls] == ["aborted", "completed"]
    assert 0.8 <= calls[1]["time"] - calls[0]["time"] < 2.5
    stats = upstream.stats()
    assert 0.8 <= stats["last_aborts"][-1] - calls[0]["time"] < 2.0

    metrics = maitred.metrics()
    assert metric(metrics, "maitred_timeouts_total", kind="first_token") == 1
    assert metric(metrics, "maitred_timeouts_total", kind="idle") == 0
    assert metric(metrics, "maitred_model_errors_total", kind="timeout") == 1
    assert metric(metrics, "maitred_model_retries_total") == 1
    assert metric(metrics, "maitred_upstream_aborts_total") == 1


def test_first_token_counts_content_not_role_chunk(start_maitred, upstream):
    maitred = start(start_maitred, upstream, OPENAI_FIRST_TOKEN_TIMEOUT=3000, OPENAI_IDLE_TIMEOUT=1000,
                    STATUS_AFTER=1)
    # The upstream sends the role chunk at once and the first text after 2 s:
    # within the first-token timeout, though longer than the idle timeout.
    upstream.faults([{"kind": "slow", "ttft_ms": 2000, "token_ms": 5, "match": "FIRST2"}])

    reader = chat(maitred, "Hello FIRST2")

    assert reader.names()[-1] == "done"
    assert reader.of("status")
    assert wait_upstream_idle(upstream)
    assert [c["outcome"] for c in requests_for(upstream, "FIRST2")] == ["completed"]
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_timeouts_total") == 0
    assert metric(metrics, "maitred_model_retries_total") == 0


def test_idle_timeout_after_text_ends_turn(start_maitred, upstream):
    maitred = start(start_maitred, upstream, OPENAI_IDLE_TIMEOUT=800)
    upstream.faults([{"kind": "stall_mid", "seconds": 4, "match": "IDLE1"}])

    reader = chat(maitred, "Hello IDLE1")

    assert reader.of("delta")
    assert not reader.of("done")
    error = reader.of("error")[0]["error"]
    assert error["code"] == "upstream_timeout"
    assert reader.names()[-1] == "error"

    # Text reached the guest, so the call is not replayed.
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "IDLE1")
    assert [c["outcome"] for c in calls] == ["aborted"]
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_timeouts_total", kind="idle") == 1
    assert metric(metrics, "maitred_timeouts_total", kind="first_token") == 0
    assert metric(metrics, "maitred_model_errors_total", kind="timeout") == 1
    assert metric(metrics, "maitred_model_retries_total") == 0
    assert metric(metrics, "maitred_turns_total", outcome="error") == 1
    assert wait_until(lambda: slots_in_use(maitred) == 0, 2)


def test_idle_timeout_before_text_retries(start_maitred, upstream):
    maitred = start(start_maitred, upstream, OPENAI_IDLE_TIMEOUT=800)
    # The first answer is a tool call: the stall comes within its arguments.
    upstream.faults([{"kind": "stall_mid", "seconds": 4, "match": "IDLE2"}])

    reader = chat(maitred, "Do you have vegan starters? IDLE2")

    assert reader.names()[-1] == "done"
    assert reader.of("tool") == [{"name": "search_menu", "ok": True}]
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "IDLE2")
    assert [c["outcome"] for c in calls] == ["aborted", "completed", "completed"]
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_timeouts_total", kind="idle") == 1
    assert metric(metrics, "maitred_model_retries_total") == 1


def test_whole_call_timeout(start_maitred, upstream):
    maitred = start(start_maitred, upstream, OPENAI_TIMEOUT=1500, OPENAI_FIRST_TOKEN_TIMEOUT=1000,
                    OPENAI_IDLE_TIMEOUT=1000)
    # Each chunk comes within the idle timeout, but the answer takes about 5 s.
    upstream.faults([{"kind": "slow", "ttft_ms": 100, "token_ms": 200, "match": "CALL1"}])

    reader = chat(maitred, "Hello CALL1")

    assert reader.of("delta")
    error = reader.of("error")[0]["error"]
    assert error["code"] == "upstream_timeout"
    assert 1.4 <= reader.times_of("error")[0] < 3
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "CALL1")) == 1
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_timeouts_total", kind="call") == 1
    assert metric(metrics, "maitred_timeouts_total", kind="idle") == 0
    assert metric(metrics, "maitred_model_errors_total", kind="timeout") == 1


def test_status_event_while_no_token(start_maitred, upstream):
    maitred = start(start_maitred, upstream, STATUS_AFTER=1)
    upstream.faults([{"kind": "stall_before", "seconds": 2.5, "match": "STATUS1"}])

    reader = chat(maitred, "Hello STATUS1")

    names = reader.names()
    assert names[-1] == "done"
    assert "status" in names
    assert names.index("status") < names.index("delta")
    assert reader.of("status")[0] == {"text": "Still working on it..."}
    first_status = reader.times_of("status")[0]
    assert 1.0 <= first_status < 2.0
    assert reader.times_of("delta")[0] >= 2.5


def test_no_status_event_when_tokens_flow(start_maitred, upstream):
    maitred = start(start_maitred, upstream, STATUS_AFTER=1)

    reader = chat(maitred, "Hello STATUS2")

    assert reader.names()[-1] == "done"
    assert "status" not in reader.names()
