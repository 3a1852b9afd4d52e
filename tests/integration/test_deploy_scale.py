"""Two maitred instances sharing one PostgreSQL and one Redis, behind nginx:
a conversation moves between instances, and the last table goes to exactly
one of 50 racing requests."""
import datetime
import json
import random
import threading
import time

import pytest

from deploy_client import TimedStream, log_lines, request_from
from deploy_nginx import Nginx
from harness import fresh_database, psql, request

DATABASE = "maitred_deploy_scale"


@pytest.fixture(scope="module")
def scale_database():
    url = fresh_database(DATABASE)
    # As docs/deploy.md advises. With JIT on, PostgreSQL 15 spent about a
    # second compiling each slot query on a 2-CPU test machine, so 50
    # bookings took over 30 s.
    psql("postgres", f"ALTER DATABASE {DATABASE} SET jit = off")
    return url


@pytest.fixture
def pair(start_maitred, scale_database, upstream):
    """Two online instances on one database and one Redis, and nginx in front."""
    upstream.reset()
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url}
    first = start_maitred(env, database=scale_database, name="scale-a")
    second = start_maitred(env, database=scale_database, name="scale-b")
    proxy = Nginx([first.port, second.port])
    yield first, second, proxy
    proxy.stop()


def future_date(days):
    """A date that many days ahead, skipping 25 December (the restaurant is closed)."""
    day = datetime.date.today() + datetime.timedelta(days=days)
    if (day.month, day.day) == (12, 25):
        day += datetime.timedelta(days=1)
    return day.isoformat()


def instance_of_turn(instances, request_id, timeout=3):
    """Returns the index of the instance whose log ended the turn request_id."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for i, instance in enumerate(instances):
            if f"turn_end request_id={request_id}:" in instance.log_text():
                return i
        time.sleep(0.05)
    return None


def test_conversation_continues_across_instances(pair, scale_database):
    first, second, proxy = pair
    date = future_date(40)
    run = f"{random.randrange(16**8):08x}"

    ask = TimedStream(proxy.url, f"I would like to book a table for 4 on {date} at 19:30.",
                      headers={"X-Request-ID": f"deployconvo-1-{run}"})
    assert ask.status == 200
    session_id = ask.data_of("meta")[0]["session_id"]
    assert "your name" in ask.data_of("done")[0]["reply"]

    give = TimedStream(proxy.url, "My name is Ada Lovelace and my phone is +33 6 12 34 56 78.",
                       session_id=session_id, headers={"X-Request-ID": f"deployconvo-2-{run}"})
    assert give.status == 200
    assert give.data_of("meta")[0]["session_id"] == session_id

    served_by = [instance_of_turn([first, second], f"deployconvo-{n}-{run}") for n in (1, 2)]
    assert None not in served_by
    assert served_by[0] != served_by[1]

    # The second instance booked with the party size, date and time of the first turn.
    reservation = give.data_of("done")[0]["reservation"]
    assert reservation["party_size"] == 4
    assert reservation["starts_at"].startswith(f"{date}T19:30")
    rows = psql(DATABASE, f"SELECT party_size, name FROM reservations WHERE code = '{reservation['code']}'")
    assert rows == [["4", "Ada Lovelace"]]


def slot_starting_at(base, date, party_size, clock):
    status, _, body = request(base, "GET", f"/v1/availability?date={date}&party_size={party_size}")
    assert status == 200
    for slot in json.loads(body)["slots"]:
        if slot["starts_at"][11:16] == clock:
            return slot["starts_at"]
    raise AssertionError(f"no {clock} slot on {date}")


def test_last_table_race_across_instances(pair, scale_database):
    first, second, _ = pair
    date = future_date(41)
    starts_at = slot_starting_at(first.url, date, 8, "20:00")

    # Two tables seat 8; a first booking takes one, so one is left.
    filler = {"name": "Filler Party", "phone": "+33 1 00 00 00 01", "party_size": 8, "starts_at": starts_at}
    status, _, _ = request(first.url, "POST", "/v1/reservations", filler)
    assert status == 201

    barrier = threading.Barrier(50)
    results = [None] * 50

    def book(i):
        base = (first if i % 2 == 0 else second).url
        body = {"name": f"Racer {i}", "phone": f"+33 6 00 00 {i // 10:02d} {i % 10:02d}",
                "party_size": 8, "starts_at": starts_at}
        barrier.wait(10)
        status, _, payload = request_from(base, "POST", "/v1/reservations", body, timeout=60)
        results[i] = (status, payload)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)

    # The filler and 25 racers went to the first instance, 25 racers to the second.
    assert len(log_lines(first, " access ", "path=/v1/reservations", count=26)) == 26
    assert len(log_lines(second, " access ", "path=/v1/reservations", count=25)) == 25
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 49
    assert all(b'"code":"slot_full"' in payload for status, payload in results if status == 409)

    rows = psql(DATABASE, "SELECT table_id FROM reservations WHERE status = 'confirmed' "
                          f"AND starts_at = '{starts_at}'::timestamptz")
    assert len(rows) == 2
    assert len({row[0] for row in rows}) == 2
    overlaps = psql(DATABASE, """
        SELECT a.id, b.id FROM reservations a JOIN reservations b
          ON a.table_id = b.table_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
         WHERE a.status = 'confirmed' AND b.status = 'confirmed'""")
    assert overlaps == []
