"""Replay one recorded booking conversation against a running maitred.

A Guest sends the conversation's booking turns to POST /v1/chat in one
session, then finishes the booking as a test guest would: it answers the
agent's questions with a name, a phone and the details the real guest never
said, and says "yes" when asked to confirm. It reads the reservation back
with GET /v1/reservations/{code} and cancels it, so the next conversation
finds the tables free.
"""
import concurrent.futures
import datetime
import glob
import http.client
import json
import re
import time
import urllib.parse
import zoneinfo
from dataclasses import dataclass, field

from bookings_data import DETAILS, said_details

NAME = "Alex Martin"
START_BOOKING = "I'd like to book a table"
MAX_ANSWERS = 8          # guest turns after the recorded ones before giving up
MAX_SAME_QUESTION = 2    # times the agent may ask for one detail before giving up
RESTAURANT_TIMEZONE = "Europe/Paris"
FAKETIME_LIBRARY = "/usr/lib/*/faketime/libfaketimeMT.so.1"

# Words that name what the agent asks for, looked up in its last question.
# The first one found in the text is answered first.
QUESTION_WORDS = {
    "party_size": ("how many", "number of guests", "number of people", "party size"),
    "date": ("which day", "what day", "which date", "what date", "the date", "other day"),
    "time": ("what time", "which time", "the time", "other time"),
    "name": ("name",),
    "phone": ("phone",),
    "confirm": ("shall i book", "should i book", "confirm", "is that correct",
                "is that right"),
}
# Replies in which the agent turns the booking down or offers other times.
REFUSAL = re.compile(r"^sorry\b|\bsorry, (?:i can't|i could not|we have no|we are)|"
                     r"\bi can offer\b", re.I)
QUESTION = re.compile(r"[^.?!]*\?")


class ReplayError(Exception):
    """maitred answered a request with an error or not at all."""


def faketime_env(now, timezone=RESTAURANT_TIMEZONE):
    """Return the environment that makes a process and its children read the
    wall clock as now (ISO 8601), frozen, in timezone. CLOCK_MONOTONIC stays
    real so that timeouts, sleeps and libcurl keep working.

    NOTE: with the wall clock frozen, maitred's model circuit breaker, which
    reopens at a wall-clock time, never closes once it opens."""
    libraries = sorted(glob.glob(FAKETIME_LIBRARY))
    if not libraries:
        raise ReplayError(f"libfaketime not found ({FAKETIME_LIBRARY}); install Debian's "
                          f"faketime package: apt-get install faketime")
    local = datetime.datetime.fromisoformat(now).astimezone(zoneinfo.ZoneInfo(timezone))
    return {
        "LD_PRELOAD": libraries[0],
        "FAKETIME": local.strftime("%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "TZ": timezone,
    }


def phone_for(index):
    """Return a distinct French mobile number for the conversation index."""
    return (f"+33 6 12 {index // 10000 % 100:02d} {index // 100 % 100:02d} "
            f"{index % 100:02d}")


def last_question(text):
    """Return the last sentence of text that ends in '?', else the whole text
    (the test upstream asks with "I still need ... ." statements)."""
    questions = QUESTION.findall(text)
    return questions[-1] if questions else text


def asked_detail(text):
    """Return what the reply asks for: a key of QUESTION_WORDS, or None."""
    focus = last_question(text).lower()
    found = []
    for detail, words in QUESTION_WORDS.items():
        positions = [focus.find(w) for w in words if w in focus]
        if positions:
            found.append((min(positions), detail))
    return min(found)[1] if found else None


def party_words(size):
    return "1 person" if size == 1 else f"{size} people"


@dataclass
class Outcome:
    """What one replayed conversation booked, and what went wrong."""
    dialogue_id: str
    agent: str
    said: dict                          # detail -> the guest's words, for said details
    expect: dict
    expect_date_also: list
    booked: dict | None = None          # party_size, date, time as read back
    code: str | None = None
    asked_again: list = field(default_factory=list)   # said details the agent asked for
    problem: str | None = None          # why nothing (right) was booked
    turned_down: bool = False           # the agent turned the booking down
    slot_free: bool | None = None       # whether the expected slot was free then
    cancel_error: str | None = None
    transcript: list = field(default_factory=list)    # [guest message, agent reply]

    def booked_value_right(self, detail):
        if not self.booked:
            return False
        value = self.booked.get(detail)
        if detail == "date":
            return value == self.expect["date"] or value in self.expect_date_also
        return value == self.expect[detail]

    def detail_right(self, detail):
        """Return whether the booking holds the detail as the guest said it,
        without the agent having asked for it again."""
        return detail not in self.asked_again and self.booked_value_right(detail)

    def all_said_right(self):
        return all(self.detail_right(d) for d in self.said)

    def booked_as_expected(self):
        return all(self.booked_value_right(d) for d in DETAILS)

    def not_bookable(self):
        """Return whether the agent turned the booking down while the
        expected slot was not free (the booking rules or full tables)."""
        return self.turned_down and self.slot_free is False

    def to_json(self):
        return {
            "dialogue_id": self.dialogue_id, "agent": self.agent, "said": self.said,
            "expect": self.expect, "expect_date_also": self.expect_date_also,
            "booked": self.booked, "code": self.code, "asked_again": self.asked_again,
            "problem": self.problem, "turned_down": self.turned_down,
            "slot_free": self.slot_free, "cancel_error": self.cancel_error,
            "all_said_right": self.all_said_right(),
            "booked_as_expected": self.booked_as_expected(), "transcript": self.transcript,
        }


class Guest:
    """Plays one conversation's guest. agent is "offline" or "model": for the
    model path the guest closes its turns with the booking in YYYY-MM-DD and
    HH:MM form, the only form the test upstream reads."""

    def __init__(self, base_url, row, index, agent, timeout=30):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.row = row
        self.agent = agent
        self.timeout = timeout
        self.phone = phone_for(index)
        self.session_id = None
        self.asked = {}
        self.started = False
        gold = row.get("gold") or {}
        self.outcome = Outcome(
            dialogue_id=row["dialogue_id"], agent=agent,
            said={d: gold.get(d) for d in said_details(row)}, expect=row["expect"],
            expect_date_also=list(row.get("expect_date_also") or []))

    # ---- HTTP ----

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            payload = resp.read()
        except OSError as e:
            raise ReplayError(f"{method} {path} failed: {e}") from None
        finally:
            conn.close()
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = payload.decode(errors="replace")
        return resp.status, data

    def say(self, message):
        """Send one chat turn; return the reply object."""
        body = {"message": message}
        if self.session_id:
            body["session_id"] = self.session_id
        status, reply = self.request("POST", "/v1/chat", body)
        if status != 200 or not isinstance(reply, dict):
            self.outcome.transcript.append([message, f"HTTP {status}: {reply}"])
            raise ReplayError(f"POST /v1/chat returned {status}: {reply}")
        self.session_id = reply.get("session_id", self.session_id)
        self.outcome.transcript.append([message, reply.get("reply", "")])
        return reply

    def reservation_path(self, code):
        return (f"/v1/reservations/{urllib.parse.quote(code)}?"
                f"{urllib.parse.urlencode({'phone': self.phone})}")

    # ---- The conversation ----

    def closing_turn(self):
        expect = self.row["expect"]
        return (f"Please book a table for {party_words(expect['party_size'])} "
                f"on {expect['date']} at {expect['time']}.")

    def answer(self, detail):
        """Return the guest's answer to a question about detail."""
        expect = self.row["expect"]
        if detail in self.outcome.said and detail not in self.outcome.asked_again:
            self.outcome.asked_again.append(detail)
        if detail == "party_size":
            return party_words(expect["party_size"])
        if detail == "date":
            return f"on {expect['date']}"
        if detail == "time":
            return f"at {expect['time']}"
        if detail == "name":
            return f"My name is {NAME}"
        if detail == "phone":
            return self.phone
        return "yes"

    def next_message(self, text):
        """Return the guest's reply to the agent's text, or None after
        recording in the outcome why the booking cannot go on."""
        if REFUSAL.search(text):
            self.outcome.problem = f"turned down: {text}"
            self.outcome.turned_down = True
            return None

        detail = asked_detail(text)
        if detail is None:
            if self.started:
                self.outcome.problem = f"no question recognised in: {text}"
                return None
            self.started = True
            return START_BOOKING

        self.started = True
        self.asked[detail] = self.asked.get(detail, 0) + 1
        if self.asked[detail] > MAX_SAME_QUESTION:
            self.outcome.problem = f"asked for {detail} again after the answer: {text}"
            return None
        return self.answer(detail)

    def complete(self, reply):
        """Answer the agent until it books, turns the booking down or asks
        something the guest cannot answer."""
        for _ in range(MAX_ANSWERS):
            if reply.get("reservation"):
                return reply["reservation"]
            message = self.next_message(reply.get("reply", ""))
            if message is None:
                return None
            reply = self.say(message)
        if reply.get("reservation"):
            return reply["reservation"]
        self.outcome.problem = f"no booking after {MAX_ANSWERS} answers"
        return None

    def read_back(self, code):
        status, data = self.request("GET", self.reservation_path(code))
        if status != 200 or not isinstance(data, dict):
            self.outcome.problem = f"GET reservation {code} returned {status}: {data}"
            return
        starts_at = data.get("starts_at") or ""
        self.outcome.booked = {
            "party_size": data.get("party_size"),
            "date": data.get("date") or starts_at[:10],
            "time": data.get("time") or starts_at[11:16],
        }

    def expected_slot_free(self):
        """Return whether GET /v1/availability lists the expected slot as
        free, or None when it cannot tell."""
        expect = self.row["expect"]
        query = urllib.parse.urlencode({"date": expect["date"],
                                        "party_size": expect["party_size"]})
        status, data = self.request("GET", f"/v1/availability?{query}")
        if status != 200 or not isinstance(data, dict):
            return None
        for slot in data.get("slots") or []:
            if str(slot.get("starts_at", ""))[11:16] == expect["time"]:
                return bool(slot.get("available"))
        return False

    def cancel(self, code):
        status, data = self.request("DELETE", self.reservation_path(code))
        if status != 200:
            self.outcome.cancel_error = f"DELETE reservation {code} returned {status}: {data}"

    def run(self):
        """Replay the conversation; return its Outcome (never raises)."""
        try:
            reply = None
            for text in self.row["user_turns"][:self.row["booking_turns"]]:
                reply = self.say(text)
                if reply.get("reservation"):
                    break
            if self.agent == "model" and not reply.get("reservation"):
                reply = self.say(self.closing_turn())
            reservation = self.complete(reply)
            code = reservation.get("code") if isinstance(reservation, dict) else None
            if code:
                self.outcome.code = code
                self.read_back(code)
                self.cancel(code)
            elif reservation is not None:
                self.outcome.problem = f"the reply's reservation has no code: {reservation}"
            if self.outcome.turned_down:
                self.outcome.slot_free = self.expected_slot_free()
        except ReplayError as e:
            self.outcome.problem = str(e)
        return self.outcome


def replay(base_url, row, index, agent, timeout=30):
    """Replay one conversation with maitred at base_url (http://host:port);
    return its Outcome. index makes the guest's phone number distinct."""
    return Guest(base_url, row, index, agent, timeout).run()


def replay_all(base_url, rows, agent, concurrency=8, deadline=None, progress=None):
    """Replay the conversations with at most concurrency at once, each in its
    own session. Stop starting new ones at deadline (a time.monotonic()
    value) or on an exception such as KeyboardInterrupt, after the ones
    running finish. Return (outcomes in the order of rows, True when all
    ran). progress, when given, is called with the count done after each one."""
    outcomes = [None] * len(rows)
    done = 0
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency)
    futures = {pool.submit(replay, base_url, row, index, agent): index
               for index, row in enumerate(rows)}
    try:
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
        for future in concurrent.futures.as_completed(futures, timeout=timeout):
            outcomes[futures[future]] = future.result()
            done += 1
            if progress:
                progress(done)
    except concurrent.futures.TimeoutError:
        pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    for future, index in futures.items():
        if outcomes[index] is None and future.done() and not future.cancelled():
            outcomes[index] = future.result()
    finished = [o for o in outcomes if o is not None]
    return finished, len(finished) == len(rows)
