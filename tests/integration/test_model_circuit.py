"""The circuit breaker: after CIRCUIT_FAILURES failed turns in a row the
offline agent answers, /readyz says degraded, and after CIRCUIT_COOLDOWN
seconds turns go to the model again."""
import json
import time

import pytest

from harness import Upstream, request
from test_model_support import StreamReader, metric, online_env, requests_for, wait_upstream_idle

FAILURES = 3
COOLDOWN_S = 3
FALLBACK_NOTICE = "Our assistant is briefly limited, so the offline assistant is answering."


@pytest.fixture(scope="module")
def upstream():
    up = Upstream("--ttft-ms", "50", "--token-ms", "5")
    yield up
    up.stop()


@pytest.fixture
def maitred(start_maitred, upstream):
    upstream.reset()
    return start_maitred(online_env(upstream, CIRCUIT_FAILURES=FAILURES, CIRCUIT_COOLDOWN=COOLDOWN_S,
                                    OPENAI_MAX_RETRIES=0))


def chat(maitred, message):
    reader = StreamReader(maitred.url, message)
    reader.read_all()
    assert reader.status == 200
    assert reader.names()[-1] == "done"
    return reader


def readyz_agent(maitred):
    status, _, body = request(maitred.url, "GET", "/readyz")
    assert status == 200
    return json.loads(body)["agent"]


def test_circuit_opens_and_closes(maitred, upstream):
    upstream.faults([{"kind": "500", "count": FAILURES, "match": "CIRCUIT"}])
    assert readyz_agent(maitred) == "model"

    # Each failed turn falls back on its own; the last one opens the circuit.
    # Each turn is a new connection, so the turns spread over the workers.
    for number in range(FAILURES):
        reader = chat(maitred, f"Hello CIRCUIT {number}")
        assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    opened_at = time.monotonic()
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "CIRCUIT")) == FAILURES

    assert readyz_agent(maitred).startswith("degraded")
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_circuit_open") == 1

    # While open, turns do not reach the model.
    for number in range(4):
        reader = chat(maitred, f"Hello OPEN {number}")
        assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
        assert "cost_usd" not in reader.of("done")[0]
    assert requests_for(upstream, "OPEN") == []
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_circuit_fallbacks_total") == FAILURES + 4
    assert metric(metrics, "maitred_model_calls_total") == FAILURES

    # After the cooldown the model answers again.
    time.sleep(max(0.0, COOLDOWN_S + 0.2 - (time.monotonic() - opened_at)))
    assert readyz_agent(maitred) == "model"
    reader = chat(maitred, "Hello AFTERWARDS")
    assert not reader.of("status")
    assert "cost_usd" in reader.of("done")[0]
    assert len(requests_for(upstream, "AFTERWARDS")) == 1
    assert metric(maitred.metrics(), "maitred_circuit_open") == 0


def test_success_resets_failure_count(maitred, upstream):
    upstream.faults([{"kind": "500", "count": FAILURES - 1, "match": "RESET"}])
    for number in range(FAILURES - 1):
        chat(maitred, f"Hello RESET {number}")
    chat(maitred, "Hello fine")

    upstream.faults([{"kind": "500", "count": FAILURES - 1, "match": "AGAIN"}])
    for number in range(FAILURES - 1):
        chat(maitred, f"Hello AGAIN {number}")

    assert readyz_agent(maitred) == "model"
    reader = chat(maitred, "Hello still model")
    assert not reader.of("status")
    assert len(requests_for(upstream, "still model")) == 1
