"""Tests of the test upstream, run against a real instance on a free port.

    /usr/bin/python3 -m pytest tests/upstream
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk-test"
TTFT_MS = 40
TOKEN_MS = 2

MENU_TOOLS = [
    {"type": "function", "function": {
        "name": "search_menu", "description": "Search the menu.",
        "parameters": {"type": "object", "properties": {
            "q": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "category": {"type": "string"},
            "max_price": {"type": "string"}}}}},
    {"type": "function", "function": {
        "name": "opening_hours", "parameters": {"type": "object", "properties": {
            "date": {"type": "string"}}}}},
]
BOOKING_TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
    for name in ("check_availability", "create_reservation", "find_reservation", "cancel_reservation")
]


class Upstream:
    """A running upstream process and a small client for it."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "upstream.py"), "--port", "0", "--quiet", *args],
            stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Send a request and return (status, headers, raw body bytes)."""
        conn = self.connection(timeout)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        return response.status, response.headers, raw

    def chat(self, body, key=KEY, content_type="application/json", timeout=30):
        headers = {"Content-Type": content_type}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        status, headers, raw = self.request("POST", "/v1/chat/completions", body, headers, timeout)
        return status, headers, raw

    def chat_json(self, body, **kwargs):
        status, headers, raw = self.chat(body, **kwargs)
        return status, headers, json.loads(raw)

    def stream(self, body, timeout=30):
        """Send a streaming request. Return (status, list of event data strings)."""
        status, _, raw = self.chat(dict(body, stream=True), timeout=timeout)
        return status, parse_events(raw.decode())

    def faults(self, faults):
        status, _, raw = self.request("POST", "/_control/faults", faults)
        assert status == 200, raw
        return json.loads(raw)

    def stats(self):
        """Return /_stats once no request is in flight: a handler counts its
        request just after the response's last byte, so a client that has
        read its response may ask before the count is made."""
        deadline = time.monotonic() + 5
        while True:
            stats = json.loads(self.request("GET", "/_stats")[2])
            if stats["in_flight"] == 0 or time.monotonic() > deadline:
                return stats
            time.sleep(0.01)


def parse_events(text):
    """Return the data of each SSE event in text, the data lines joined by newlines."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = [line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            events.append("\n".join(lines))
    return events


def chunks_of(events):
    return [json.loads(e) for e in events if e != "[DONE]"]


def text_of(events):
    return "".join(c["choices"][0]["delta"].get("content") or ""
                   for c in chunks_of(events) if c["choices"])


def tool_calls_of(events):
    """Reassemble streamed tool calls into {index: {"id", "name", "arguments"}}."""
    calls = {}
    for chunk in chunks_of(events):
        for choice in chunk["choices"]:
            for fragment in choice["delta"].get("tool_calls") or []:
                call = calls.setdefault(fragment["index"], {"id": None, "name": None, "arguments": ""})
                if fragment.get("id"):
                    call["id"] = fragment["id"]
                function = fragment.get("function") or {}
                if function.get("name"):
                    call["name"] = function["name"]
                call["arguments"] += function.get("arguments") or ""
    return calls


def user(text):
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def with_tools(text, tools=MENU_TOOLS, **extra):
    return dict(user(text), tools=tools, **extra)


@pytest.fixture(scope="module")
def upstream():
    server = Upstream("--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def reset(upstream):
    upstream.request("POST", "/_reset")


# ---- Authentication and transport ----

def test_missing_key_rejected(upstream):
    status, _, body = upstream.chat_json(user("hi"), key=None)
    assert status == 401
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["type"] == "invalid_request_error"


def test_wrong_key_rejected(upstream):
    status, _, body = upstream.chat_json(user("hi"), key="sk-wrong-key-123")
    assert status == 401
    assert "Incorrect API key" in body["error"]["message"]
    assert "sk-wrong-key-123" not in body["error"]["message"]


def test_content_type_required(upstream):
    status, _, body = upstream.chat_json(json.dumps(user("hi")), content_type="text/plain")
    assert status == 400
    assert "Content-Type" in body["error"]["message"]


def test_invalid_json_rejected(upstream):
    status, _, body = upstream.chat_json('{"model": ')
    assert status == 400
    assert "could not parse the JSON body" in body["error"]["message"]


def test_error_shape_complete(upstream):
    _, _, body = upstream.chat_json(dict(user("hi"), temperature=3))
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_unknown_path_is_404(upstream):
    status, _, raw = upstream.request("POST", "/v1/completions", "{}")
    assert status == 404
    assert json.loads(raw)["error"]["message"] == "Invalid URL (POST /v1/completions)"


# ---- Request validation ----

@pytest.mark.parametrize("body, param, text", [
    (dict(user("hi"), foo=1), None, "Unrecognized request argument supplied: foo"),
    ({"messages": [{"role": "user", "content": "hi"}]}, None, "you must provide a model parameter"),
    (dict(user("hi"), model=4), "model", "expected a string, but got an integer"),
    ({"model": "gpt-4o-mini"}, "messages", "Missing required parameter: 'messages'"),
    ({"model": "gpt-4o-mini", "messages": []}, "messages", "empty array"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "bot", "content": "hi"}]},
     "messages[0].role", "Invalid value: 'bot'"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": None}]},
     "messages.[0].content", "expected a string, got null"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user"}]},
     "messages[0].content", "Missing required parameter"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 5}]},
     "messages[0].content", "Invalid type"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi", "extra": 1}]},
     "messages[0]", "'extra' was unexpected"),
    (dict(user("hi"), temperature=2.5), "temperature", "Expected a value <= 2"),
    (dict(user("hi"), temperature=-0.1), "temperature", "Expected a value >= 0"),
    (dict(user("hi"), temperature="hot"), "temperature", "expected a decimal"),
    (dict(user("hi"), max_tokens=0), "max_tokens", "Expected a value >= 1"),
    (dict(user("hi"), max_completion_tokens=1.5), "max_completion_tokens", "expected an integer"),
    (dict(user("hi"), n=2), "n", "n must be 1"),
    (dict(user("hi"), stream="yes"), "stream", "expected a boolean"),
    (dict(user("hi"), stream_options={"include_usage": True}), "stream_options",
     "only allowed when 'stream' is enabled"),
    (dict(user("hi"), stream=True, stream_options={"usage": True}), "stream_options",
     "'usage' was unexpected"),
    (dict(user("hi"), tools=[]), "tools", "empty array"),
    (dict(user("hi"), tool_choice="auto"), "tool_choice", "only allowed when 'tools' are specified"),
    (dict(user("hi"), parallel_tool_calls=True), "parallel_tool_calls", "only allowed when 'tools'"),
    (with_tools("hi", tool_choice="always"), "tool_choice", "Invalid value: 'always'"),
    (with_tools("hi", tool_choice={"type": "function", "function": {"name": "nope"}}),
     "tool_choice", "'nope' is not in 'tools'"),
])
def test_request_validation(upstream, body, param, text):
    status, _, response = upstream.chat_json(body)
    assert status == 400
    assert text in response["error"]["message"]
    assert response["error"]["param"] == param


@pytest.mark.parametrize("tool, text", [
    ({"type": "function", "function": {"name": "has space"}}, "does not match pattern"),
    ({"type": "function", "function": {"name": "x" * 65}}, "string too long"),
    ({"type": "function", "function": {"name": "ok", "parameters": {"type": "string"}}},
     "schema must be a JSON Schema of 'type: \"object\"'"),
    ({"type": "function", "function": {"name": "ok", "parameters": {
        "type": "object", "properties": {"a": {"type": "text"}}}}}, "'text' is not a JSON Schema type"),
    ({"type": "function", "function": {"name": "ok", "parameters": {
        "type": "object", "required": "a"}}}, "'required' must be an array"),
    ({"type": "code", "function": {"name": "ok"}}, "Invalid value: 'code'"),
    ({"type": "function"}, "Missing required parameter: 'tools[0].function'"),
])
def test_tool_validation(upstream, tool, text):
    status, _, response = upstream.chat_json(dict(user("hi"), tools=[tool]))
    assert status == 400
    assert text in response["error"]["message"]


def assistant_call(call_id, name="search_menu", arguments="{}"):
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]}


def tool_result(call_id, content):
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(content)}


@pytest.mark.parametrize("messages, text", [
    ([{"role": "user", "content": "hi"}, tool_result("call_1", {})],
     "must be a response to a preceding message with 'tool_calls'"),
    ([{"role": "user", "content": "hi"}, assistant_call("call_1"), tool_result("call_2", {})],
     "'call_2' not found in 'tool_calls'"),
    ([{"role": "user", "content": "hi"}, assistant_call("call_1"), {"role": "user", "content": "and?"}],
     "did not have response messages: call_1"),
    ([{"role": "user", "content": "hi"}, assistant_call("call_1")],
     "did not have response messages: call_1"),
    ([{"role": "user", "content": "hi"}, assistant_call("call_1"), tool_result("call_1", {}),
      tool_result("call_1", {})], "already answered"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}],
     "expected a string, got null"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "x"}}]}],
     "Missing required parameter: 'messages[1].tool_calls[0].function.arguments'"),
    ([{"role": "user", "content": "hi"}, assistant_call("call_1"),
      {"role": "tool", "content": "{}"}], "'messages[2].tool_call_id'"),
])
def test_tool_message_pairing(upstream, messages, text):
    status, _, response = upstream.chat_json(dict(user("x"), messages=messages, tools=MENU_TOOLS))
    assert status == 400
    assert text in response["error"]["message"]


def test_valid_tool_round_accepted(upstream):
    messages = [{"role": "system", "content": "You are the food agent."},
                {"role": "user", "content": "vegan?"}, assistant_call("call_1"),
                tool_result("call_1", {"items": []})]
    status, _, _ = upstream.chat(dict(user("x"), messages=messages, tools=MENU_TOOLS))
    assert status == 200


# ---- Streamed answers ----

def test_streamed_text_answer(upstream):
    status, events = upstream.stream(user("hello"))
    chunks = chunks_of(events)
    assert status == 200
    assert events[-1] == "[DONE]"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert text_of(events).startswith("Hello!")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in c for c in chunks)


def test_content_one_word_per_chunk(upstream):
    _, events = upstream.stream(user("hello"))
    contents = [c["choices"][0]["delta"]["content"] for c in chunks_of(events)[1:-1]]
    assert len(contents) > 5
    assert all(len(piece.split()) == 1 for piece in contents)


def test_usage_chunk_last(upstream):
    _, events = upstream.stream(dict(user("hello"), stream_options={"include_usage": True}))
    chunks = chunks_of(events)
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert all(c["usage"] is None for c in chunks[:-1])
    assert usage["completion_tokens"] == len(chunks) - 3
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_streamed_response_headers(upstream):
    conn = upstream.connection()
    conn.request("POST", "/v1/chat/completions", json.dumps(dict(user("hi"), stream=True)),
                 {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Transfer-Encoding"] == "chunked"


def test_keep_alive_between_streams(upstream):
    conn = upstream.connection()
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for _ in range(2):
        conn.request("POST", "/v1/chat/completions", json.dumps(dict(user("hi"), stream=True)), headers)
        events = parse_events(conn.getresponse().read().decode())
        assert events[-1] == "[DONE]"
    conn.close()


def test_first_token_after_ttft(upstream):
    conn = upstream.connection()
    started = time.monotonic()
    conn.request("POST", "/v1/chat/completions", json.dumps(dict(user("hi"), stream=True)),
                 {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.fp.readline()  # chunk size of the role chunk
    response.fp.readline()  # the role chunk's event
    response.fp.readline()
    response.fp.readline()
    response.fp.readline()  # chunk size of the first content chunk
    elapsed = time.monotonic() - started
    conn.close()
    assert elapsed >= TTFT_MS / 1000


def test_streamed_tool_call_reassembles(upstream):
    _, events = upstream.stream(with_tools("Do you have vegan starters?"))
    calls = tool_calls_of(events)
    first = next(c for c in chunks_of(events) if c["choices"][0]["delta"].get("tool_calls"))
    fragment = first["choices"][0]["delta"]["tool_calls"][0]
    argument_chunks = [c for c in chunks_of(events)
                       if (c["choices"][0]["delta"].get("tool_calls") or [{}])[0].get("function", {}).get("arguments")]
    assert fragment["type"] == "function"
    assert fragment["function"]["arguments"] == ""
    assert fragment["id"].startswith("call_")
    assert len(argument_chunks) > 2
    assert calls[0]["name"] == "search_menu"
    assert json.loads(calls[0]["arguments"]) == {"tags": ["vegan"], "category": "starter"}
    assert chunks_of(events)[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_parallel_tool_calls(upstream):
    _, events = upstream.stream(with_tools("When are you open, and what vegan dishes do you have?"))
    calls = tool_calls_of(events)
    assert sorted(calls) == [0, 1]
    assert calls[0]["name"] == "opening_hours"
    assert calls[1]["name"] == "search_menu"
    assert json.loads(calls[1]["arguments"]) == {"tags": ["vegan"]}
    assert calls[0]["id"] != calls[1]["id"]


def test_parallel_calls_can_be_disabled(upstream):
    _, events = upstream.stream(with_tools("Hours and vegan dishes?", parallel_tool_calls=False))
    assert sorted(tool_calls_of(events)) == [0]


def test_menu_price_filter(upstream):
    _, events = upstream.stream(with_tools("Gluten-free mains under 15 euros?"))
    args = json.loads(tool_calls_of(events)[0]["arguments"])
    assert args == {"tags": ["gluten_free"], "category": "main", "max_price": "15.00"}


def test_tool_choice_none_gives_text(upstream):
    _, events = upstream.stream(with_tools("vegan dishes?", tool_choice="none"))
    assert tool_calls_of(events) == {}
    assert text_of(events)


def test_booking_asks_for_missing(upstream):
    _, events = upstream.stream(with_tools("I'd like a table for 4 on 2026-12-24", BOOKING_TOOLS))
    text = text_of(events)
    assert tool_calls_of(events) == {}
    assert "the time" in text
    assert "your name" in text
    assert "phone number" in text
    assert "the date" not in text


def test_booking_collects_all_messages(upstream):
    messages = [
        {"role": "user", "content": "Table for 4 on 2026-12-24 at 19:30 please"},
        {"role": "assistant", "content": "I still need your name and phone."},
        {"role": "user", "content": "My name is Ada Lovelace, phone +33 1 23 45 67 89"},
    ]
    _, events = upstream.stream(dict(user("x"), messages=messages, tools=BOOKING_TOOLS))
    calls = tool_calls_of(events)
    assert calls[0]["name"] == "create_reservation"
    assert json.loads(calls[0]["arguments"]) == {
        "name": "Ada Lovelace", "phone": "+33 1 23 45 67 89", "party_size": 4,
        "date": "2026-12-24", "time": "19:30"}


def test_booking_not_repeated(upstream):
    args = {"name": "Ada Lovelace", "phone": "+33 1 23 45 67 89", "party_size": 2,
            "date": "2026-12-24", "time": "20:00"}
    messages = [
        {"role": "user", "content": "Book for 2 on 2026-12-24 at 20:00, I am Ada Lovelace, +33 1 23 45 67 89"},
        assistant_call("call_1", "create_reservation", json.dumps(args)),
        tool_result("call_1", {"code": "ABC234XYZ", "party_size": 2, "starts_at": "2026-12-24T20:00:00+01:00"}),
        {"role": "assistant", "content": "Booked."},
        {"role": "user", "content": "Thank you!"},
    ]
    _, events = upstream.stream(dict(user("x"), messages=messages, tools=BOOKING_TOOLS))
    assert tool_calls_of(events) == {}


def test_cancel_with_code_and_phone(upstream):
    _, events = upstream.stream(with_tools("Please cancel booking ABC234XYZ, phone +44 20 7946 0958",
                                           BOOKING_TOOLS))
    calls = tool_calls_of(events)
    assert calls[0]["name"] == "cancel_reservation"
    assert json.loads(calls[0]["arguments"]) == {"code": "ABC234XYZ", "phone": "+44 20 7946 0958"}


@pytest.mark.parametrize("name, content, expected", [
    ("search_menu", {"items": [{"name": "Hummus", "price": "6.50", "currency": "EUR"},
                               {"name": "Falafel", "price": "7.00", "currency": "EUR"}]},
     "We have: Hummus (6.50 EUR), Falafel (7.00 EUR)."),
    ("create_reservation", {"code": "ABC234XYZ", "party_size": 4, "starts_at": "2026-12-24T19:00:00+01:00"},
     "Your table is booked: code ABC234XYZ for 4 on 2026-12-24T19:00:00+01:00."),
    ("check_availability", {"date": "2026-12-24", "party_size": 2, "slots": [
        {"starts_at": "2026-12-24T19:00:00+01:00", "available": True},
        {"starts_at": "2026-12-24T19:30:00+01:00", "available": False},
        {"starts_at": "2026-12-24T20:00:00+01:00", "available": True}]},
     "On 2026-12-24 we have a table for 2 at 19:00 and 20:00."),
    ("create_reservation", {"error": {"code": "slot_full", "message": "No table for 4 at 19:00."}},
     "Sorry, I could not do that: No table for 4 at 19:00."),
])
def test_tool_result_summary(upstream, name, content, expected):
    messages = [{"role": "user", "content": "please"}, assistant_call("call_1", name),
                tool_result("call_1", content)]
    _, events = upstream.stream(dict(user("x"), messages=messages, tools=MENU_TOOLS + BOOKING_TOOLS))
    assert text_of(events) == expected


def test_non_stream_completion(upstream):
    status, _, body = upstream.chat_json(with_tools("vegan dishes?"))
    message = body["choices"][0]["message"]
    assert status == 200
    assert body["object"] == "chat.completion"
    assert message["content"] is None
    assert message["tool_calls"][0]["function"]["name"] == "search_menu"
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]


def test_max_tokens_cuts_answer(upstream):
    _, events = upstream.stream(dict(user("hello"), max_tokens=3))
    assert len(text_of(events).split()) == 3
    assert chunks_of(events)[-1]["choices"][0]["finish_reason"] == "length"


def test_tokens_option_exact():
    server = Upstream("--ttft-ms", "0", "--token-ms", "0", "--tokens", "7")
    try:
        short = server.stream(user("hello"))[1]
        long = server.stream(dict(user("hello"), stream_options={"include_usage": True}))[1]
    finally:
        server.stop()
    assert len(chunks_of(short)) == 1 + 7 + 1
    assert chunks_of(long)[-1]["usage"]["completion_tokens"] == 7


def test_utf8_sent_unescaped(upstream):
    messages = [{"role": "user", "content": "dessert?"}, assistant_call("call_1"),
                tool_result("call_1", {"items": [{"name": "Crème brûlée", "price": "8.00", "currency": "EUR"}]})]
    _, _, raw = upstream.chat(dict(user("x"), messages=messages, tools=MENU_TOOLS, stream=True))
    assert "brûlée".encode() in raw
    assert b"\\u00" not in raw


# ---- Faults ----

def test_fault_429(upstream):
    upstream.faults([{"kind": "429", "retry_after": 7}])
    status, headers, body = upstream.chat_json(user("hi"))
    assert status == 429
    assert headers["Retry-After"] == "7"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "7s"
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert upstream.chat(user("hi"))[0] == 200


@pytest.mark.parametrize("kind, status, error_type", [("500", 500, "server_error"),
                                                      ("503", 503, "server_error")])
def test_fault_server_errors(upstream, kind, status, error_type):
    upstream.faults([{"kind": kind}])
    got, _, body = upstream.chat_json(user("hi"))
    assert got == status
    assert body["error"]["type"] == error_type


def test_fault_count_and_order(upstream):
    upstream.faults([{"kind": "500", "count": 2}, {"kind": "503"}])
    statuses = [upstream.chat(user("hi"))[0] for _ in range(4)]
    assert statuses == [500, 500, 503, 200]


def test_fault_match_only(upstream):
    upstream.faults([{"kind": "500", "match": "MARKER-7"}])
    assert upstream.chat(user("an ordinary question"))[0] == 200
    assert upstream.chat(user("question MARKER-7"))[0] == 500
    assert upstream.chat(user("question MARKER-7"))[0] == 200


def test_fault_stall_before(upstream):
    upstream.faults([{"kind": "stall_before", "seconds": 0.6}])
    started = time.monotonic()
    status, events = upstream.stream(user("hi"))
    assert status == 200
    assert time.monotonic() - started >= 0.6
    assert events[-1] == "[DONE]"


def test_fault_stall_mid(upstream):
    upstream.faults([{"kind": "stall_mid", "seconds": 0.6}])
    conn = upstream.connection()
    conn.request("POST", "/v1/chat/completions", json.dumps(dict(user("hi"), stream=True)),
                 {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    response = conn.getresponse()
    arrivals = []
    while True:
        line = response.fp.readline()
        if not line or line == b"0\r\n":
            break
        if line.startswith(b"data:"):
            arrivals.append(time.monotonic())
    conn.close()
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert max(gaps) >= 0.6
    assert len(arrivals) > 5


def test_fault_malformed(upstream):
    upstream.faults([{"kind": "malformed"}])
    _, events = upstream.stream(user("hi"))
    assert "[DONE]" not in events
    with pytest.raises(ValueError):
        json.loads(events[-1])


def test_fault_error_mid(upstream):
    upstream.faults([{"kind": "error_mid"}])
    _, events = upstream.stream(user("hi"))
    last = json.loads(events[-1])
    assert "[DONE]" not in events
    assert last["error"]["type"] == "server_error"
    assert text_of(events[:-1])


def test_fault_disconnect(upstream):
    upstream.faults([{"kind": "disconnect"}])
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        upstream.stream(user("hi"))
    assert upstream.chat(user("hi"))[0] == 200


def test_fault_slow(upstream):
    upstream.faults([{"kind": "slow", "ttft_ms": 500, "token_ms": 1}])
    started = time.monotonic()
    _, events = upstream.stream(user("hi"))
    assert time.monotonic() - started >= 0.5
    assert events[-1] == "[DONE]"


def test_fault_list_validated(upstream):
    for bad in ([{"kind": "teapot"}], [{"kind": "429", "count": 0}], [{"kind": "500", "when": 1}], "x"):
        status, _, raw = upstream.request("POST", "/_control/faults", json.dumps(bad))
        assert status == 400, bad
        assert json.loads(raw)["error"]["message"].startswith("Invalid fault list")


def test_reset_clears_faults(upstream):
    upstream.faults([{"kind": "500", "count": 5}])
    upstream.request("POST", "/_reset")
    assert upstream.chat(user("hi"))[0] == 200
    assert upstream.stats()["faults_pending"] == 0


# ---- Statistics ----

def test_stats_counts_outcomes(upstream):
    upstream.chat(user("hi"))
    upstream.chat(user("hi"), key="bad")
    upstream.faults([{"kind": "500"}])
    upstream.chat(user("hi"))
    stats = upstream.stats()
    assert stats["requests"] == 3
    assert stats["completed"] == 1
    assert stats["rejected"] == 1
    assert stats["failed"] == 1
    assert stats["in_flight"] == 0
    assert sum(stats["requests_by_minute"].values()) == 3


def test_abort_counted(upstream):
    upstream.faults([{"kind": "slow", "ttft_ms": 2000}])
    sock = socket.create_connection(("127.0.0.1", upstream.port))
    body = json.dumps(dict(user("hi"), stream=True)).encode()
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    sock.recv(100)
    closed_at = time.time()
    sock.close()
    deadline = time.monotonic() + 3
    while upstream.stats()["aborted"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = upstream.stats()
    assert stats["aborted"] == 1
    assert stats["completed"] == 0
    assert abs(stats["last_aborts"][0] - closed_at) < 1.0


def test_requests_log_keeps_last_50(upstream):
    for i in range(55):
        upstream.chat(dict(user(f"question {i}"), max_tokens=1))
    log = json.loads(upstream.request("GET", "/_requests")[2])["requests"]
    assert len(log) == 50
    assert log[-1]["body"]["messages"][0]["content"] == "question 54"
    assert log[-1]["status"] == 200


def run_concurrently(upstream, count, body):
    """Stream count requests at once. Return the list of their event lists."""
    results = [None] * count

    def worker(i):
        try:
            results[i] = upstream.stream(body, timeout=60)[1]
        except Exception as error:  # the assertion below shows which failed
            results[i] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


def test_peak_in_flight_exact(upstream):
    upstream.faults([{"kind": "stall_before", "seconds": 1.0, "count": 20}])
    results = run_concurrently(upstream, 20, user("hi"))
    assert all(isinstance(r, list) and r[-1] == "[DONE]" for r in results)
    assert upstream.stats()["peak_in_flight"] == 20


def test_300_concurrent_streams(upstream):
    upstream.faults([{"kind": "stall_before", "seconds": 2.0, "count": 300}])
    results = run_concurrently(upstream, 300, user("hi"))
    failures = [r for r in results if not (isinstance(r, list) and r[-1] == "[DONE]")]
    stats = upstream.stats()
    assert failures == []
    assert stats["completed"] == 300
    assert stats["peak_in_flight"] == 300
