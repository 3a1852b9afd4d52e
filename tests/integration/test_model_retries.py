"""Retries of failed model calls, the offline fallback when they run out,
no replay once text reached the guest, and malformed streams. Each test's
message carries a marker that its faults match."""
import json

import pytest

from harness import Upstream, psql, request
from test_model_support import (StreamReader, metric, online_env, requests_for, slots_in_use,
                                wait_until, wait_upstream_idle)

FALLBACK_NOTICE = "Our assistant is briefly limited, so the offline assistant is answering."


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


def vegan_starters(database_url):
    rows = psql(database_url.rsplit("/", 1)[1],
                "SELECT name FROM dishes WHERE category = 'starter' AND 'vegan' = ANY(tags)")
    return [row[0] for row in rows]


def test_429_waits_for_retry_after(start_maitred, upstream):
    maitred = start(start_maitred, upstream)
    upstream.faults([{"kind": "429", "retry_after": 1, "match": "R429"}])

    reader = chat(maitred, "Hello R429")

    assert reader.names()[-1] == "done"
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "R429")
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 1.0
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_retries_total") == 1
    assert metric(metrics, "maitred_model_errors_total", kind="rate_limited") == 1
    assert metric(metrics, "maitred_model_calls_total") == 2


def test_500_then_success(start_maitred, upstream):
    maitred = start(start_maitred, upstream)
    upstream.faults([{"kind": "500", "match": "R500"}])

    reader = chat(maitred, "Hello R500")

    assert reader.names()[-1] == "done"
    assert not reader.of("status")
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "R500")
    assert [c["status"] for c in calls] == [500, 200]
    # The first backoff waits at least 250 ms.
    assert calls[1]["time"] - calls[0]["time"] >= 0.25
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_retries_total") == 1
    assert metric(metrics, "maitred_model_errors_total", kind="server") == 1


def test_exhausted_retries_fall_back_offline(start_maitred, upstream, database_url):
    maitred = start(start_maitred, upstream, OPENAI_MAX_RETRIES=2)
    upstream.faults([{"kind": "503", "count": 10, "match": "REXH"}])

    reader = chat(maitred, "Do you have vegan starters? REXH")

    names = reader.names()
    assert names[-1] == "done"
    assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    assert names.index("status") < names.index("delta")
    done = reader.of("done")[0]
    assert "cost_usd" not in done
    assert any(name in done["reply"] for name in vegan_starters(database_url))

    assert wait_upstream_idle(upstream)
    assert [c["status"] for c in requests_for(upstream, "REXH")] == [503, 503, 503]
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_retries_total") == 2
    assert metric(metrics, "maitred_model_errors_total", kind="server") == 3
    assert metric(metrics, "maitred_circuit_fallbacks_total") == 1
    assert metric(metrics, "maitred_offline_turns_total") == 1
    assert wait_until(lambda: slots_in_use(maitred) == 0, 2)


def test_failure_after_tool_round_falls_back(start_maitred, upstream, database_url):
    maitred = start(start_maitred, upstream, OPENAI_MAX_RETRIES=1)
    # The tool call passes; every call after the tool result fails.
    upstream.faults([{"kind": "slow", "ttft_ms": 10, "token_ms": 1, "match": "RTOOL"},
                     {"kind": "500", "count": 10, "match": "RTOOL"}])

    reader = chat(maitred, "Do you have vegan starters? RTOOL")

    assert reader.names()[-1] == "done"
    assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    done = reader.of("done")[0]
    assert any(name in done["reply"] for name in vegan_starters(database_url))
    assert wait_upstream_idle(upstream)
    assert [c["status"] for c in requests_for(upstream, "RTOOL")] == [200, 500, 500]

    # The tool call that succeeded used tokens, so the turn reports their cost
    # at the default OPENAI_PRICE of 0.15:0.60 USD per million tokens.
    usage = done["usage"]
    assert usage["prompt_tokens"] > 0
    cost = (usage["prompt_tokens"] * 0.15 + usage["completion_tokens"] * 0.60) / 1e6
    assert done["cost_usd"] == pytest.approx(cost, rel=1e-9)


@pytest.mark.parametrize("fault, kind", [("disconnect", "connection"), ("error_mid", "server")])
def test_break_after_text_is_not_replayed(start_maitred, upstream, fault, kind):
    maitred = start(start_maitred, upstream)
    marker = f"RBREAK-{fault}"
    upstream.faults([{"kind": fault, "match": marker, "count": 5}])

    reader = chat(maitred, f"Hello {marker}")

    assert reader.of("delta")
    assert not reader.of("done")
    assert reader.names()[-1] == "error"
    error = reader.of("error")[0]["error"]
    assert error["code"] == "upstream_error"
    assert "please ask again" in error["message"]
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, marker)) == 1
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_errors_total", kind=kind) == 1
    assert metric(metrics, "maitred_model_retries_total") == 0


def test_malformed_after_text_is_bad_response(start_maitred, upstream):
    maitred = start(start_maitred, upstream)
    upstream.faults([{"kind": "malformed", "match": "RMAL1", "count": 5}])

    reader = chat(maitred, "Hello RMAL1")

    assert reader.of("delta")
    assert reader.names()[-1] == "error"
    assert reader.of("error")[0]["error"]["code"] == "upstream_error"
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "RMAL1")) == 1
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_errors_total", kind="bad_response") == 1


def test_malformed_before_text_falls_back(start_maitred, upstream, database_url):
    maitred = start(start_maitred, upstream)
    # The first answer is a tool call, cut off within its arguments.
    upstream.faults([{"kind": "malformed", "match": "RMAL2", "count": 5}])

    reader = chat(maitred, "Do you have vegan starters? RMAL2")

    assert reader.names()[-1] == "done"
    assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    assert any(name in reader.of("done")[0]["reply"] for name in vegan_starters(database_url))
    assert wait_upstream_idle(upstream)
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_errors_total", kind="bad_response") >= 1
    assert metric(metrics, "maitred_offline_turns_total") == 1


def test_retry_after_past_deadline_falls_back_at_once(start_maitred, upstream):
    maitred = start(start_maitred, upstream, TURN_TIMEOUT=3000)
    upstream.faults([{"kind": "429", "retry_after": 30, "match": "RLONG"}])

    reader = chat(maitred, "Hello RLONG")

    assert reader.names()[-1] == "done"
    assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    assert reader.times_of("done")[0] < 2
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "RLONG")) == 1
    assert metric(maitred.metrics(), "maitred_model_retries_total") == 0


@pytest.mark.parametrize("fault", ["disconnect", "error_mid"])
def test_json_mode_break_after_text_retries(start_maitred, upstream, fault):
    maitred = start(start_maitred, upstream)
    marker = f"RJSON-{fault}"
    upstream.faults([{"kind": fault, "match": marker}])

    # Without a stream no text reached the guest, so the call may run again.
    status, _, body = request(maitred.url, "POST", "/v1/chat", {"message": f"Hello {marker}"})

    assert status == 200, body
    reply = json.loads(body)["reply"]
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, marker)) == 2
    assert reply.startswith("Hello! I can tell you about our menu")
    assert reply.count("Hello!") == 1
    assert metric(maitred.metrics(), "maitred_model_retries_total") == 1


def test_json_mode_malformed_after_text_falls_back(start_maitred, upstream):
    maitred = start(start_maitred, upstream)
    upstream.faults([{"kind": "malformed", "match": "RJSON2"}])

    status, _, body = request(maitred.url, "POST", "/v1/chat", {"message": "Hello RJSON2"})

    # The offline agent's greeting replaces the model's half answer.
    assert status == 200, body
    reply = json.loads(body)["reply"]
    assert reply.startswith("Hello! I can answer questions about our menu")
    assert "I can tell you about our menu" not in reply
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "RJSON2")) == 1
    assert metric(maitred.metrics(), "maitred_offline_turns_total") == 1
