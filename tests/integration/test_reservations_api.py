"""The REST routes over the restaurant's data, through a running maitred."""
import datetime
import json
import threading

from harness import psql, redis_cli, request

PHONE = "+33 6 55 44 33 22"


def body_of(payload):
    return json.loads(payload)


def future_date(days):
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def book(base, starts_at=None, date=None, time="19:30", party=2, phone=PHONE, name="Rest Tester", key=None):
    body = {"name": name, "phone": phone, "party_size": party}
    if starts_at:
        body["starts_at"] = starts_at
    else:
        body["date"], body["time"] = date, time
    headers = {"Idempotency-Key": key} if key else None
    status, _, payload = request(base, "POST", "/v1/reservations", body, headers)
    return status, body_of(payload)


def test_menu_filters_by_tag_and_category(offline):
    status, headers, payload = request(offline.url, "GET", "/v1/menu?tag=vegan&category=starter")
    assert status == 200
    items = body_of(payload)["items"]
    assert items
    assert all("vegan" in d["tags"] and d["category"] == "starter" for d in items)
    assert headers["cache-control"] == "public, max-age=60"


def test_menu_etag_gives_304(offline):
    _, headers, _ = request(offline.url, "GET", "/v1/menu")
    status, _, payload = request(offline.url, "GET", "/v1/menu", headers={"If-None-Match": headers["etag"]})
    assert status == 304
    assert payload == b""


def test_menu_rejects_unknown_tag(offline):
    status, _, payload = request(offline.url, "GET", "/v1/menu?tag=paleo")
    assert status == 400
    error = body_of(payload)["error"]
    assert error["code"] == "invalid_request"
    assert "paleo" in error["message"]


def test_menu_max_price_bounds_prices(offline):
    status, _, payload = request(offline.url, "GET", "/v1/menu?max_price=8.00")
    assert status == 200
    assert all(float(d["price"]) <= 8.0 for d in body_of(payload)["items"])


def test_dish_by_id_and_unknown(offline):
    status, _, payload = request(offline.url, "GET", "/v1/menu/1")
    assert status == 200
    assert body_of(payload)["id"] == 1
    assert request(offline.url, "GET", "/v1/menu/999999")[0] == 404
    assert request(offline.url, "GET", "/v1/menu/abc")[0] == 404


def test_availability_lists_local_slots(offline):
    status, _, payload = request(offline.url, "GET", f"/v1/availability?date={future_date(10)}&party_size=4")
    assert status == 200
    reply = body_of(payload)
    assert reply["timezone"] == "Europe/Paris"
    assert reply["slots"]
    assert all(s["starts_at"][-6] in "+-" for s in reply["slots"])


def test_availability_needs_party_size(offline):
    status, _, payload = request(offline.url, "GET", f"/v1/availability?date={future_date(3)}&party_size=two")
    assert status == 400
    assert "party_size" in body_of(payload)["error"]["message"]


def test_create_find_cancel_cycle(offline, database_url):
    status, reservation = book(offline.url, date=future_date(12), time="12:30")
    assert status == 201
    code = reservation["code"]
    assert len(code) == 9
    assert "phone" not in reservation
    assert reservation["phone_last4"] == "3322"

    found = request(offline.url, "GET", f"/v1/reservations/{code.lower()}?phone=+33655443322")
    assert found[0] == 200
    wrong = request(offline.url, "GET", f"/v1/reservations/{code}?phone=+33600000000")
    unknown = request(offline.url, "GET", f"/v1/reservations/ZZZZZZZZZ?phone=+33655443322")
    assert wrong[0] == 404
    assert body_of(wrong[2]) == body_of(unknown[2])

    cancelled = request(offline.url, "DELETE", f"/v1/reservations/{code}?phone={PHONE.replace(' ', '%20').replace('+', '%2B')}")
    assert cancelled[0] == 200
    assert body_of(cancelled[2])["status"] == "cancelled"
    again = request(offline.url, "DELETE", f"/v1/reservations/{code}?phone=%2B33655443322")
    assert again[0] == 409
    assert body_of(again[2])["error"]["code"] == "already_cancelled"
    rows = psql("maitred_it", f"SELECT status FROM reservations WHERE code = '{code}'")
    assert rows == [["cancelled"]]


def test_idempotency_key_books_once(offline):
    date = future_date(13)
    first = book(offline.url, date=date, time="13:00", key="retry-key-0001")
    second = book(offline.url, date=date, time="13:00", key="retry-key-0001")
    assert first[0] == 201
    assert second[0] == 201
    assert second[1]["code"] == first[1]["code"]
    assert second[1].get("idempotent_replay") is True
    rows = psql("maitred_it", "SELECT count(*) FROM reservations WHERE idempotency_key = 'retry-key-0001'")
    assert rows == [["1"]]
    other = book(offline.url, date=date, time="13:15", key="retry-key-0001")
    assert other[0] == 409
    assert other[1]["error"]["code"] == "idempotency_key_reused"


def test_concurrent_retries_with_one_key_book_once(offline):
    date = future_date(14)
    results = []

    def attempt():
        results.append(book(offline.url, date=date, time="14:00", key="retry-key-race"))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = {r[1]["code"] for r in results if r[0] == 201}
    assert len(codes) == 1
    rows = psql("maitred_it", "SELECT count(*) FROM reservations WHERE idempotency_key = 'retry-key-race'")
    assert rows == [["1"]]


def test_time_off_the_slot_grid_gets_nearest_slots(offline):
    status, reply = book(offline.url, date=future_date(15), time="19:07")
    assert status == 400
    assert reply["error"]["code"] == "outside_booking_rules"
    assert reply["error"]["reason"] == "not_on_slot"
    assert reply["error"]["nearest_slots"]


def test_invalid_phone_is_explained(offline):
    status, reply = book(offline.url, date=future_date(15), time="19:00", phone="call me")
    assert status == 400
    assert "phone" in reply["error"]["message"]


def test_lookups_are_rate_limited(start_maitred):
    for key in redis_cli("-n", "1", "--scan", "--pattern", "maitred:rl:lookup:*").split():
        redis_cli("-n", "1", "DEL", key)
    m = start_maitred({"LOOKUP_RATE_LIMIT": "3"})
    statuses = [request(m.url, "GET", "/v1/reservations/ABCDEFGHJ?phone=%2B33611111111")[0] for _ in range(5)]
    assert statuses[:3] == [404, 404, 404]
    assert statuses[3] == 429
    status, headers, _ = request(m.url, "GET", "/v1/reservations/ABCDEFGHJ?phone=%2B33611111111")
    assert int(headers["retry-after"]) > 0


def test_request_checks(offline):
    assert request(offline.url, "PUT", "/v1/menu")[0] == 405
    status, headers, _ = request(offline.url, "PATCH", "/v1/reservations/ABC")
    assert status == 405
    assert "GET" in headers["allow"] and "DELETE" in headers["allow"]
    status, _, payload = request(offline.url, "POST", "/v1/reservations", b"{", {"Content-Type": "application/json"})
    assert status == 400
    assert body_of(payload)["error"]["code"] == "invalid_json"
    status, _, _ = request(offline.url, "POST", "/v1/reservations", b"{}", {"Content-Type": "text/plain"})
    assert status == 415
    big = b'{"message": "' + b"a" * 20000 + b'"}'
    assert request(offline.url, "POST", "/v1/chat", big, {"Content-Type": "application/json"})[0] == 413
    status, _, payload = request(offline.url, "GET", "/nowhere")
    assert status == 404
    assert body_of(payload)["error"]["code"] == "not_found"


def test_chat_message_is_trimmed(offline):
    status, _, payload = request(offline.url, "POST", "/v1/chat", {"message": "  What time do you open?  \n"})
    assert status == 200
    assert body_of(payload)["reply"]


def test_chat_body_checks(offline):
    cases = [
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 2001}, "message"),
        ({"message": 5}, "message"),
        ({"message": "hi", "session_id": "short"}, "session_id"),
        ({"message": "hi", "session_id": "bad id with spaces"}, "session_id"),
        ({"message": "hi", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        status, _, payload = request(offline.url, "POST", "/v1/chat", body)
        assert status == 400, body
        assert field in body_of(payload)["error"]["message"], body
    status, _, payload = request(offline.url, "POST", "/v1/chat", {"message": "a\u0000b"})
    assert status == 400
    assert "NUL" in body_of(payload)["error"]["message"]
    status, _, payload = request(offline.url, "POST", "/v1/chat", b'{"message": "\xff"}',
                                 {"Content-Type": "application/json"})
    assert status == 400
    assert body_of(payload)["error"]["code"] == "invalid_json"
