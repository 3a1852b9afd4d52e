"""Bookings through the model: a conversation over several turns, a failure
after the reservation was made, invalid arguments, and the guard on codes and
phone numbers the guest never typed."""
import datetime
import json
import re

import pytest

from harness import Upstream, chat_sse, events_of, psql, request, session_of
from test_model_support import online_env, requests_for, tool_results, wait_upstream_idle

CODE = re.compile(r"\bcode ([2-9A-HJKMNP-Z]{9})\b")


@pytest.fixture(scope="module")
def upstream():
    up = Upstream("--ttft-ms", "50", "--token-ms", "5")
    yield up
    up.stop()


@pytest.fixture
def maitred(start_maitred, upstream):
    upstream.reset()
    return start_maitred(online_env(upstream))


def days_ahead(days):
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def database_name(database_url):
    return database_url.rsplit("/", 1)[1]


def reservation_rows(database_url, code):
    return psql(database_name(database_url),
                "SELECT name, phone, party_size, status,"
                " to_char(starts_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD HH24:MI')"
                f" FROM reservations WHERE code = '{code}'")


def turn(maitred, message, session_id=None):
    status, _, events = chat_sse(maitred.url, message, session_id=session_id)
    assert status == 200, events
    return events


def test_booking_over_three_turns_creates_row(maitred, upstream, database_url):
    date = days_ahead(5)

    first = turn(maitred, f"I'd like a table for 4 on {date} at 19:30")
    session = session_of(first)
    assert events_of(first, "meta")[0]["agent"] == "booking"
    assert "your name" in events_of(first, "done")[0]["reply"]
    assert not events_of(first, "tool")

    second = turn(maitred, "My name is Ann Smith", session)
    assert session_of(second) == session
    assert "phone number" in events_of(second, "done")[0]["reply"]
    assert not events_of(second, "tool")

    third = turn(maitred, "my phone is +33 6 12 34 56 78", session)
    assert events_of(third, "tool") == [{"name": "create_reservation", "ok": True}]
    done = events_of(third, "done")[0]
    assert done["agent"] == "booking"
    code = done["reservation"]["code"]
    assert CODE.search(done["reply"]).group(1) == code
    assert "".join(d["text"] for d in events_of(third, "delta")) == done["reply"]

    rows = reservation_rows(database_url, code)
    assert rows == [["Ann Smith", "+33612345678", "4", "confirmed", f"{date} 19:30"]]

    # The model saw the whole conversation and called the tool once.
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "my phone is")
    assert len(calls) == 2
    users = [m["content"] for m in calls[0]["body"]["messages"] if m["role"] == "user"]
    assert users == [f"I'd like a table for 4 on {date} at 19:30", "My name is Ann Smith",
                     "my phone is +33 6 12 34 56 78"]
    assert tool_results(calls[1]["body"])["create_reservation"]["code"] == code


def test_repeated_create_keeps_one_booking(maitred, upstream, database_url):
    date = days_ahead(9)
    first = turn(maitred, f"Book a table for 2 on {date} at 19:00, my name is Eve Twice, phone +33 6 98 76 54 00")
    code = events_of(first, "done")[0]["reservation"]["code"]

    # The history keeps only text, so the test model calls create_reservation
    # again with the same details; the second call must not book a second table.
    second = turn(maitred, "Thank you!", session_of(first))
    done = events_of(second, "done")[0]
    assert events_of(second, "tool") == [{"name": "create_reservation", "ok": True}]
    assert done["reservation"]["code"] == code
    rows = psql(database_name(database_url), "SELECT code FROM reservations WHERE name = 'Eve Twice'")
    assert rows == [[code]]


def test_rebooking_after_cancel_books_again(maitred, database_url):
    date = days_ahead(9)
    booking = f"Book a table for 2 on {date} at 21:00, my name is Fay Again, phone +33 6 98 76 54 11"
    first = turn(maitred, booking)
    session = session_of(first)
    code = events_of(first, "done")[0]["reservation"]["code"]

    cancel = turn(maitred, f"Please cancel my booking, code {code}, phone +33 6 98 76 54 11", session)
    assert events_of(cancel, "tool") == [{"name": "cancel_reservation", "ok": True}]

    again = turn(maitred, booking, session)
    new_code = events_of(again, "done")[0]["reservation"]["code"]
    assert new_code != code
    rows = psql(database_name(database_url),
                "SELECT code, status FROM reservations WHERE name = 'Fay Again' ORDER BY id")
    assert rows == [[code, "cancelled"], [new_code, "confirmed"]]


def test_failure_after_booking_says_it_stands(maitred, upstream, database_url):
    date = days_ahead(6)
    message = f"Book a table for 2 on {date} at 20:00, my name is Bob Stone, phone +33 6 98 76 54 32"
    # The first call (the tool call) passes; the one after the tool result fails.
    upstream.faults([{"kind": "slow", "ttft_ms": 10, "token_ms": 1, "match": "Bob Stone"},
                     {"kind": "500", "count": 5, "match": "Bob Stone"}])

    events = turn(maitred, message)

    assert events_of(events, "tool") == [{"name": "create_reservation", "ok": True}]
    assert not events_of(events, "done")
    error = events_of(events, "error")[0]["error"]
    rows = psql(database_name(database_url),
                "SELECT code FROM reservations WHERE name = 'Bob Stone'")
    assert len(rows) == 1
    code = rows[0][0]
    assert error["code"] == "upstream_error"
    assert f"your reservation is made: code {code}, 2 guests on {date} at 20:00" in error["message"]

    # No replay: one tool call, one failed follow-up call.
    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "Bob Stone")
    assert len(calls) == 2
    assert calls[1]["status"] == 500


def test_party_over_limit_reported_to_model(maitred, upstream, database_url):
    date = days_ahead(7)
    message = f"A table for 40 on {date} at 19:00, my name is Carl Big, phone +33 6 11 22 33 44"

    events = turn(maitred, message)

    assert events_of(events, "tool") == [{"name": "create_reservation", "ok": False}]
    reply = events_of(events, "done")[0]["reply"]
    assert reply.startswith("Sorry, I could not do that")
    assert "party_size 40 is over the maximum of 12" in reply
    assert psql(database_name(database_url), "SELECT count(*) FROM reservations WHERE name = 'Carl Big'") == [["0"]]

    assert wait_upstream_idle(upstream)
    calls = requests_for(upstream, "Carl Big")
    assert len(calls) == 2
    result = tool_results(calls[1]["body"])["create_reservation"]
    assert result["error"]["code"] == "outside_booking_rules"


def test_guest_finds_own_booking_with_typed_code(maitred, upstream, database_url):
    created = request(maitred.url, "POST", "/v1/reservations",
                      {"name": "Dora Finder", "phone": "+33 6 55 44 33 22", "party_size": 2,
                       "date": days_ahead(8), "time": "12:00"})
    assert created[0] == 201, created
    code = json.loads(created[2])["code"]

    events = turn(maitred, f"Can you find my booking? code {code}, phone +33 6 55 44 33 22")

    assert events_of(events, "tool") == [{"name": "find_reservation", "ok": True}]
    done = events_of(events, "done")[0]
    assert done["reservation"]["code"] == code
    assert code in done["reply"]
