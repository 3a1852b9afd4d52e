"""Menu questions through the model, and the usage and cost each turn reports."""
import json
import sys
import types

import pytest

from harness import Upstream, chat_sse, events_of, psql, reply_of, request
from test_model_support import (UPSTREAM_DIR, StreamReader, metric, online_env, requests_for,
                                wait_upstream_idle)

sys.path.insert(0, UPSTREAM_DIR)
import upstream as upstream_server  # noqa: E402
from upstream_validate import validate_request  # noqa: E402

UPSTREAM_CONFIG = types.SimpleNamespace(tokens=None, ttft_ms=50, token_ms=5)


@pytest.fixture(scope="module")
def upstream():
    up = Upstream("--ttft-ms", str(UPSTREAM_CONFIG.ttft_ms), "--token-ms", str(UPSTREAM_CONFIG.token_ms))
    yield up
    up.stop()


@pytest.fixture
def maitred(start_maitred, upstream):
    upstream.reset()
    return start_maitred(online_env(upstream, OPENAI_PRICE="2:8"))


def database_name(database_url):
    return database_url.rsplit("/", 1)[1]


def starters(database_url, vegan):
    condition = "" if vegan else "NOT"
    rows = psql(database_name(database_url),
                f"SELECT name FROM dishes WHERE category = 'starter' AND {condition} ('vegan' = ANY(tags))")
    return [row[0] for row in rows]


def expected_usage(entries):
    """Returns the usage the upstream reported for these requests, summed: it is
    deterministic, so rebuilding each answer from its request gives the same counts."""
    prompt = completion = 0
    for entry in entries:
        body = entry["body"]
        answer = upstream_server.Answer(body, validate_request(body), UPSTREAM_CONFIG, None)
        usage = answer.usage()
        prompt += usage["prompt_tokens"]
        completion += usage["completion_tokens"]
    return {"prompt_tokens": prompt, "completion_tokens": completion}


def test_vegan_starters_named_from_database(maitred, upstream, database_url):
    reader = StreamReader(maitred.url, "Do you have vegan starters?")
    reader.read_all()

    assert reader.status == 200
    names = reader.names()
    assert names[0] == "meta"
    assert names[-1] == "done"
    assert reader.of("meta")[0]["agent"] == "food"
    assert reader.of("tool") == [{"name": "search_menu", "ok": True}]
    deltas = reader.of("delta")
    assert len(deltas) > 1
    reply = reader.of("done")[0]["reply"]
    assert "".join(d["text"] for d in deltas) == reply

    vegan = starters(database_url, vegan=True)
    others = starters(database_url, vegan=False)
    assert vegan
    assert others
    for name in vegan:
        assert name in reply
    for name in others:
        assert name not in reply

    calls = requests_for(upstream, "Do you have vegan starters?")
    assert len(calls) == 2
    assert calls[0]["body"]["stream"] is True
    assert calls[0]["body"]["stream_options"] == {"include_usage": True}
    assert [t["function"]["name"] for t in calls[0]["body"]["tools"]].count("search_menu") == 1


def test_json_mode_answers_vegan_question(maitred, database_url):
    status, headers, body = request(maitred.url, "POST", "/v1/chat", {"message": "Do you have vegan starters?"})

    assert status == 200
    assert headers["content-type"] == "application/json"
    reply = json.loads(body)["reply"]
    for name in starters(database_url, vegan=True):
        assert name in reply


def test_usage_equals_upstream_usage_chunk(maitred, upstream):
    status, _, events = chat_sse(maitred.url, "Hello there")
    assert status == 200
    assert wait_upstream_idle(upstream)

    calls = requests_for(upstream, "Hello there")
    assert len(calls) == 1
    done = events_of(events, "done")[0]
    assert done["usage"] == expected_usage(calls)
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["completion_tokens"] > 0


def test_usage_sums_tool_rounds_and_prices_them(maitred, upstream):
    before = maitred.metrics()
    status, _, events = chat_sse(maitred.url, "Do you have vegan starters?")
    assert status == 200
    assert wait_upstream_idle(upstream)
    after = maitred.metrics()

    calls = requests_for(upstream, "Do you have vegan starters?")
    assert len(calls) == 2
    usage = expected_usage(calls)
    done = events_of(events, "done")[0]
    assert done["usage"] == usage

    # OPENAI_PRICE=2:8 is USD per million prompt:completion tokens.
    cost = (usage["prompt_tokens"] * 2 + usage["completion_tokens"] * 8) / 1e6
    assert done["cost_usd"] == pytest.approx(cost, rel=1e-9)

    grown_in = metric(after, "maitred_model_tokens_in_total") - metric(before, "maitred_model_tokens_in_total")
    grown_out = metric(after, "maitred_model_tokens_out_total") - metric(before, "maitred_model_tokens_out_total")
    assert grown_in == usage["prompt_tokens"]
    assert grown_out == usage["completion_tokens"]
    grown_cost = (metric(after, "maitred_model_cost_microdollars_total")
                  - metric(before, "maitred_model_cost_microdollars_total"))
    assert grown_cost == pytest.approx(cost * 1e6, abs=1)


def test_offline_turn_reports_no_cost(start_maitred):
    offline = start_maitred()
    status, _, events = chat_sse(offline.url, "Do you have vegan starters?")

    assert status == 200
    done = events_of(events, "done")[0]
    assert "cost_usd" not in done
    assert reply_of(events)
