"""Concurrent clients shared by the process, slot and limit tests.

This module contains no tests; its name only puts it beside the tests
that import it. stream_turn() sends one chat turn that asks for an event stream
and records every event with its arrival time, so a test can tell a stream
that ended with `done` or `error` from one the server cut. run_turns() runs
many of them on threads, and Prober polls a route while a test runs.
"""
import http.client
import json
import re
import selectors
import socket
import threading
import time
import urllib.parse

# The test upstream replies to this message with text and no tool call, so
# each turn is one model call of a known length.
GREETING = "Hello"

# The test upstream with the latency of a real model: the first token after
# 300 ms, then 40 tokens 20 ms apart, so a turn takes about 1.1 s.
REALISTIC_UPSTREAM = ("--ttft-ms", "300", "--token-ms", "20", "--tokens", "40")


class Turn:
    """One chat turn as the client saw it."""

    def __init__(self, label):
        self.label = label
        self.status = None
        self.headers = {}
        self.body = None            # the JSON body of a response that is not a stream
        self.events = []            # (monotonic seconds, event name, data)
        self.comments = 0
        self.error = None           # why the stream broke, as text
        self.complete = False       # the chunked body ended with its last chunk
        self.sent_at = None
        self.ended_at = None

    def names(self):
        return [name for _, name, _ in self.events]

    def data_of(self, name):
        return [data for _, event, data in self.events if event == name]

    def outcome(self):
        """Returns "done", "error CODE", "http STATUS CODE" or "cut: WHY"."""
        if self.error:
            return "cut: " + self.error
        if self.status != 200:
            code = (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None
            return f"http {self.status} {code}"
        if not self.complete:
            return "cut: the stream ended without its last chunk"
        names = self.names()
        if not names:
            return "cut: no events"
        if names[-1] == "done":
            return "done"
        if names[-1] == "error":
            return "error " + self.events[-1][2]["error"]["code"]
        return "cut: last event " + names[-1]

    def first_time(self, name):
        for at, event, _ in self.events:
            if event == name:
                return at
        return None


def _read_events(resp, turn):
    # read1() raises IncompleteRead when the chunked body breaks off, where
    # readline() would return b"" as if the stream had ended.
    name, data, pending = "message", [], b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            turn.complete = True
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8").rstrip("\r")
            if line == "":
                if data:
                    turn.events.append((time.monotonic(), name, json.loads("\n".join(data))))
                name, data = "message", []
            elif line.startswith(":"):
                turn.comments += 1
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))


def stream_turn(base, message=GREETING, label="", request_id=None, timeout=90):
    """Sends POST /v1/chat asking for an event stream and reads it to its end.

    Returns a Turn. A connection error or a broken chunked body is stored in
    Turn.error instead of raised, so one bad stream does not hide the others."""
    parts = urllib.parse.urlsplit(base)
    turn = Turn(label)
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    if request_id:
        headers["X-Request-ID"] = request_id
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    turn.sent_at = time.monotonic()
    try:
        conn.request("POST", "/v1/chat", json.dumps({"message": message}), headers)
        resp = conn.getresponse()
        turn.status = resp.status
        turn.headers = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status != 200 or not turn.headers.get("content-type", "").startswith("text/event-stream"):
            payload = resp.read()
            turn.body = json.loads(payload) if payload else None
            turn.complete = True
        else:
            _read_events(resp, turn)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        turn.error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        turn.ended_at = time.monotonic()
    return turn


def run_turns(base, count, message=GREETING, gap=0.0, id_prefix=None, timeout=90):
    """Runs count turns at once on threads, started gap seconds apart.

    With id_prefix, turn i sends X-Request-ID PREFIX-000i, which maitred keeps
    as the turn's id in /stats. Returns the Turns in the order they started."""
    turns = [None] * count

    def one(i):
        request_id = f"{id_prefix}-{i:04d}" if id_prefix else None
        turns[i] = stream_turn(base, message, label=str(i), request_id=request_id, timeout=timeout)

    threads = []
    for i in range(count):
        thread = threading.Thread(target=one, args=(i,), daemon=True)
        thread.start()
        threads.append(thread)
        if gap:
            time.sleep(gap)
    for thread in threads:
        thread.join(timeout + 30)
    return turns


class ChatLoad:
    """Threads that each send one streamed turn after another until stop()."""

    def __init__(self, base, threads, timeout=30):
        self.turns = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(base, timeout), daemon=True)
                         for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self, base, timeout):
        while not self._stop.is_set():
            self.turns.append(stream_turn(base, timeout=timeout))

    def halt(self):
        """Stops starting turns; those under way go on."""
        self._stop.set()

    def stop(self):
        """Stops starting turns, waits for those under way and returns every Turn."""
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self.turns


class Prober:
    """Sends GET path every interval seconds on a thread until stop().

    results holds (status or the exception text, seconds taken) per probe."""

    def __init__(self, base, path="/healthz", interval=0.1, timeout=5):
        self.base = urllib.parse.urlsplit(base)
        self.path = path
        self.interval = interval
        self.timeout = timeout
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _probe(self):
        started = time.monotonic()
        conn = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=self.timeout)
        try:
            conn.request("GET", self.path)
            resp = conn.getresponse()
            resp.read()
            outcome = resp.status
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        self.results.append((outcome, time.monotonic() - started))

    def _run(self):
        while not self._stop.is_set():
            self._probe()
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(self.timeout + 5)
        return self.results

    def failures(self):
        return [r for r in self.results if r[0] != 200]


def summarize(turns):
    """Counts outcomes: {"done": 180, "http 503 overloaded": 20, ...}."""
    counts = {}
    for turn in turns:
        key = turn.outcome() if turn else "no result"
        counts[key] = counts.get(key, 0) + 1
    return counts


def wait_for(predicate, timeout, interval=0.1):
    """Calls predicate until it returns a true value or timeout seconds pass.

    Returns the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def read_stats(maitred, timeout=10):
    """Returns /stats, retrying while the worker that took the connection dies.

    Raises the last error when timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return maitred.stats()
        except (OSError, http.client.HTTPException, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# "worker_exited: worker 2 pid 4242 killed by signal 9 (Killed); 1 agent runs reclaimed"
EXIT_LINE = re.compile(r"worker_exited: worker (\d+) pid (\d+) (.*?); (\d+) agent runs reclaimed")


def worker_exits(log_text):
    """Returns the master's worker_exited lines as (index, pid, how, runs freed)."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4)))
            for m in EXIT_LINE.finditer(log_text)]


class CountingProxy:
    """A TCP relay in front of the test upstream that counts model calls in flight.

    A call counts from the first bytes of its request to the chunk that ends
    its chunked response. The relay takes the call off the count before it
    forwards that last chunk, so maitred cannot start its next call before
    the count went down, and peak is exact. (The upstream's own
    peak_in_flight counts a call until its handler thread returns after the
    last byte, so a slot handed straight to a waiting turn can show there as
    one call too many.) One thread relays every connection."""

    END = b"\r\n0\r\n\r\n"

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.in_flight = 0
        self.peak = 0
        self.calls = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _accept(self):
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target_port))
        pair = {"client": client, "server": server, "busy": False, "tail": b""}
        self._selector.register(client, selectors.EVENT_READ, ("client", pair))
        self._selector.register(server, selectors.EVENT_READ, ("server", pair))

    def _close(self, pair):
        if pair["busy"]:
            pair["busy"] = False
            self.in_flight -= 1
        for side in ("client", "server"):
            try:
                self._selector.unregister(pair[side])
            except (KeyError, ValueError):
                pass
            pair[side].close()

    def _relay(self, side, pair):
        try:
            data = pair[side].recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(pair)
            return
        if side == "client" and not pair["busy"]:
            pair["busy"] = True
            pair["tail"] = b""
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        if side == "server" and pair["busy"]:
            pair["tail"] = (pair["tail"] + data)[-len(self.END):]
            if pair["tail"] == self.END:
                pair["busy"] = False
                self.in_flight -= 1
        other = pair["server" if side == "client" else "client"]
        try:
            other.sendall(data)
        except OSError:
            self._close(pair)

    def _run(self):
        while not self._stop:
            for key, _ in self._selector.select(0.2):
                if key.data is None:
                    self._accept()
                elif key.fileobj.fileno() >= 0:
                    self._relay(*key.data)

    def stop(self):
        self._stop = True
        self._thread.join(5)
        self.listener.close()
