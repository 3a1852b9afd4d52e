"""Requests a careless or hostile client sends, each answered with the JSON
error shape and a status, never an empty body, a 5xx or a forged log line."""
import json
import socket

from harness import chat_sse, events_of, request, session_of


def error_of(payload):
    return json.loads(payload)["error"]


def raw_request(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
    return b"".join(chunks)


def test_invalid_utf8_in_path_and_query(offline):
    cases = ["/v1/reservations/%ff?phone=0612345678", "/v1/reservations/ABCDEFGHJ?phone=%ff",
             "/v1/menu?tag=%ff", "/v1/menu?q=%ff%fe", "/v1/menu/%ff", "/static/%ff%fe",
             "/v1/availability?date=2026-12-20&party_size=2&time=%ff"]
    for path in cases:
        status, _, payload = request(offline.url, "GET", path)
        assert status in (400, 404), path
        assert error_of(payload)["message"], path


def test_multibyte_cut_keeps_the_body(offline):
    status, _, payload = request(offline.url, "GET", "/v1/menu/a" + "%C3%A9" * 20)
    assert status == 404
    assert error_of(payload)["code"] == "not_found"


def test_overlong_path_is_refused(offline):
    status, _, payload = request(offline.url, "GET", "/v1/menu/" + "0" * 2000 + "12/x")
    assert status == 414
    assert error_of(payload)["code"] == "uri_too_long"


def test_dish_id_must_be_digits(offline):
    assert request(offline.url, "GET", "/v1/menu/%2012")[0] == 404


def test_two_content_lengths_are_refused(offline):
    reply = raw_request(offline.port, b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                      b"Content-Length: 2\r\nContent-Length: 16\r\n\r\n{}")
    assert reply.startswith(b"HTTP/1.1 400")


def test_idempotency_key_must_be_printable(offline):
    body = {"name": "Key Test", "phone": "+33 6 11 22 33 66", "party_size": 2,
            "date": "2099-01-01", "time": "19:00"}
    for key in ("a b", "x" * 129):
        status, _, payload = request(offline.url, "POST", "/v1/reservations", body, {"Idempotency-Key": key})
        assert status == 400, key
    data = json.dumps(body).encode()
    reply = raw_request(offline.port, b"POST /v1/reservations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Idempotency-Key: k\xffk\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"Idempotency-Key" in reply


def test_idempotency_key_in_body_is_refused(offline):
    status, _, payload = request(offline.url, "POST", "/v1/reservations",
                                 {"name": "A", "phone": "+33611223366", "party_size": 2, "date": "2099-01-01",
                                  "time": "19:00", "idempotency_key": "abc"})
    assert status == 400
    assert "Idempotency-Key header" in error_of(payload)["message"]


def test_rest_errors_name_no_tool(offline):
    status, _, payload = request(offline.url, "POST", "/v1/reservations",
                                 {"name": "A", "phone": "+33611223366", "party_size": 0, "date": "2099-01-01",
                                  "time": "19:00"})
    assert status == 400
    assert not error_of(payload)["message"].startswith("create_reservation")


def test_forged_log_line_is_escaped(offline):
    request(offline.url, "GET", "/x%0a2026-12-04T22:00:00.000Z%20error%201%20master%20worker_exited:%20FAKE")
    request(offline.url, "GET", "/y%1b%5b31mRED")
    log = offline.log_text()
    assert "worker_exited: FAKE" not in log
    assert "\x1b" not in log
    assert "%0A2026-12-04" in log


def test_resume_needs_the_owning_session(offline):
    _, _, events = chat_sse(offline.url, "What time do you open?")
    sid = session_of(events)
    first_id = None
    status, _, payload = request(offline.url, "POST", "/v1/chat", {"message": "What time do you open?"},
                                 {"Accept": "text/event-stream"})
    text = payload.decode()
    for line in text.splitlines():
        if line.startswith("id: "):
            first_id = line[4:]
            break
    owner = next(line for line in text.splitlines() if line.startswith("data: {\"session_id\""))
    owner_sid = json.loads(owner[6:])["session_id"]
    assert first_id and owner_sid != sid

    other = request(offline.url, "POST", "/v1/chat", {"message": "x", "session_id": sid},
                    {"Accept": "text/event-stream", "Last-Event-ID": first_id})
    assert other[0] == 404
    mine = request(offline.url, "POST", "/v1/chat", {"message": "x", "session_id": owner_sid},
                   {"Accept": "text/event-stream", "Last-Event-ID": first_id})
    assert mine[0] == 200
    assert b"event: done" in mine[2]
    missing_session = request(offline.url, "POST", "/v1/chat", {"message": "x"},
                              {"Accept": "text/event-stream", "Last-Event-ID": first_id})
    assert missing_session[0] == 400


def test_resume_past_the_last_event_is_not_found(offline):
    status, _, payload = request(offline.url, "POST", "/v1/chat", {"message": "Hello"},
                                 {"Accept": "text/event-stream"})
    text = payload.decode()
    ids = [line[4:] for line in text.splitlines() if line.startswith("id: ")]
    sid = json.loads(next(line for line in text.splitlines() if line.startswith("data: {\"session_id\""))[6:])["session_id"]
    prefix = ids[0].rsplit("-", 1)[0]
    status, _, _ = request(offline.url, "POST", "/v1/chat", {"message": "x", "session_id": sid},
                           {"Accept": "text/event-stream", "Last-Event-ID": prefix + "-999"})
    assert status == 404


def test_event_ids_ignore_the_client_request_id(offline):
    _, headers, events = chat_sse(offline.url, "Hello", headers={"X-Request-ID": "collide0001"})
    assert headers["x-request-id"] == "collide0001"
    assert events_of(events, "meta")[0]["request_id"] == "collide0001"
