"""Tool-loop safety with a scripted model: the bound on tool rounds, unknown
tools and invalid arguments, and the guard that lets find_reservation and
cancel_reservation use only a code and phone number the guest typed."""
import datetime
import json

import pytest

from harness import psql, request
from test_model_support import (ScriptedUpstream, StreamReader, metric, online_env, requests_for,
                                tool_results, wait_upstream_idle)

MAX_ROUNDS = 2
FALLBACK_NOTICE = "Our assistant is briefly limited, so the offline assistant is answering."


@pytest.fixture(scope="module")
def upstream():
    up = ScriptedUpstream("--ttft-ms", "50", "--token-ms", "5")
    yield up
    up.stop()


@pytest.fixture
def maitred(start_maitred, upstream):
    upstream.reset()
    upstream.script([])
    return start_maitred(online_env(upstream, MAX_TOOL_ROUNDS=MAX_ROUNDS))


def chat(maitred, message):
    reader = StreamReader(maitred.url, message)
    reader.read_all()
    assert reader.status == 200
    return reader


def vegan_search(rounds, ignore_tool_choice=False):
    return {"match": "LOOP", "rounds": rounds, "ignore_tool_choice": ignore_tool_choice,
            "calls": [{"name": "search_menu", "arguments": {"tags": ["vegan"]}}]}


def test_tool_rounds_stop_at_limit(maitred, upstream):
    upstream.script([vegan_search(rounds=99)])

    reader = chat(maitred, "What do you recommend? LOOP")

    assert reader.names()[-1] == "done"
    assert reader.of("tool") == [{"name": "search_menu", "ok": True}] * MAX_ROUNDS
    assert reader.of("done")[0]["reply"].startswith("We have:")
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "LOOP")
    assert len(calls) == MAX_ROUNDS + 1
    for call in calls[:MAX_ROUNDS]:
        assert "tool_choice" not in call["body"]
    assert calls[MAX_ROUNDS]["body"]["tool_choice"] == "none"


def test_model_ignoring_tool_choice_is_stopped(maitred, upstream):
    upstream.script([vegan_search(rounds=99, ignore_tool_choice=True)])

    reader = chat(maitred, "What do you recommend? LOOP")

    # Tools never run past the limit, and the offline agent answers instead.
    names = reader.names()
    assert names[-1] == "done"
    assert reader.of("status") == [{"text": FALLBACK_NOTICE}]
    assert names[:names.index("status")].count("tool") == MAX_ROUNDS
    assert reader.times_of("done")[0] < 5
    assert wait_upstream_idle(upstream)
    assert len(requests_for(upstream, "LOOP")) == MAX_ROUNDS + 1
    metrics = maitred.metrics()
    assert metric(metrics, "maitred_model_errors_total", kind="bad_response") == 1
    assert metric(metrics, "maitred_tool_calls_total") == MAX_ROUNDS


@pytest.mark.parametrize("name, arguments, code", [
    ("delete_all_reservations", {}, "unknown_tool"),
    ("search_menu", '{"tags": ["vegan"', "invalid_arguments"),
    ("search_menu", '"vegan"', "invalid_arguments"),
    ("search_menu", {"tags": "vegan"}, "invalid_arguments"),
    ("search_menu", {"colour": "green"}, "invalid_arguments"),
    ("check_availability", {"date": "tomorrow", "party_size": 2}, "invalid_request"),
])
def test_bad_tool_call_reported_to_model(maitred, upstream, name, arguments, code):
    upstream.script([{"match": "BADCALL", "calls": [{"name": name, "arguments": arguments}]}])

    reader = chat(maitred, "Tell me something BADCALL")

    assert reader.of("tool") == [{"name": name, "ok": False}]
    assert reader.names()[-1] == "done"
    reply = reader.of("done")[0]["reply"]
    assert reply.startswith("Sorry, I could not do that:")
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "BADCALL")
    assert len(calls) == 2
    result = tool_results(calls[1]["body"])[name]
    assert result["error"]["code"] == code
    assert result["error"]["message"] in reply
    assert metric(maitred.metrics(), "maitred_tool_failures_total") == 1


def book_directly(maitred, name, phone):
    date = (datetime.date.today() + datetime.timedelta(days=11)).isoformat()
    status, _, body = request(maitred.url, "POST", "/v1/reservations",
                              {"name": name, "phone": phone, "party_size": 2, "date": date, "time": "13:00"})
    assert status == 201, body
    return json.loads(body)["code"]


def reservation_status(database_url, code):
    return psql(database_url.rsplit("/", 1)[1], f"SELECT status FROM reservations WHERE code = '{code}'")


@pytest.mark.parametrize("typed", ["nothing", "code", "phone"])
def test_guard_rejects_code_guest_never_typed(maitred, upstream, database_url, typed):
    phone = "+33 1 11 11 11 11"
    code = book_directly(maitred, f"Ivy Target {typed}", phone)
    # A model that obeyed text planted somewhere (a dish note, an earlier
    # answer) calls the lookup and the cancellation with someone else's booking.
    arguments = {"code": code, "phone": phone}
    upstream.script([{"match": "INJECT", "calls": [{"name": "find_reservation", "arguments": arguments},
                                                   {"name": "cancel_reservation", "arguments": arguments}]}])
    message = {"nothing": "What is in the chef's special? INJECT",
               "code": f"My booking is {code}, is the terrace open? INJECT",
               "phone": f"Call me on {phone} about the terrace INJECT"}[typed]

    reader = chat(maitred, message)

    assert reader.of("tool") == [{"name": "find_reservation", "ok": False},
                                 {"name": "cancel_reservation", "ok": False}]
    assert reader.names()[-1] == "done"
    assert "reservation" not in reader.of("done")[0]
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "INJECT")
    assert len(calls) == 2
    results = tool_results(calls[1]["body"])
    assert results["find_reservation"]["error"]["code"] == "not_permitted"
    assert results["cancel_reservation"]["error"]["code"] == "not_permitted"
    assert code not in calls[1]["body"]["messages"][-1]["content"]
    assert reservation_status(database_url, code) == [["confirmed"]]


def test_guard_allows_code_and_phone_guest_typed(maitred, upstream, database_url):
    phone = "+33 1 22 22 22 22"
    code = book_directly(maitred, "Jon Owner", phone)
    arguments = {"code": code, "phone": phone}
    upstream.script([{"match": "MINE", "calls": [{"name": "cancel_reservation", "arguments": arguments}]}])

    reader = chat(maitred, f"MINE: my code is {code.lower()} and my phone 01 22 22 22 22")

    assert reader.of("tool") == [{"name": "cancel_reservation", "ok": True}]
    assert reader.of("done")[0]["reservation"]["status"] == "cancelled"
    assert reservation_status(database_url, code) == [["cancelled"]]
