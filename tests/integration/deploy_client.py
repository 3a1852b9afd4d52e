"""HTTP clients for the deployment tests: a chat stream read line by line
with the arrival time of each event, and requests from a chosen loopback
source address (so that nginx gets several clients)."""
import http.client
import json
import random
import time
import urllib.parse

from harness import parse_sse


def connect(base, source=None, timeout=60):
    parts = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)


def request_from(base, method, path, body=None, headers=None, source=None, timeout=30):
    """Sends one request from source (an address in 127.0.0.0/8); returns
    (status, headers with lower-case names, body bytes)."""
    conn = connect(base, source, timeout)
    hdrs = dict(headers or {})
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, data, hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    result = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    conn.close()
    return result


class TimedStream:
    """One chat turn read as it streams. events lists (seconds since the
    request, event name, data) in arrival order, and comments appear as
    (seconds, "comment", text)."""

    def __init__(self, base, message, session_id=None, headers=None, source=None, timeout=90):
        body = {"message": message}
        if session_id:
            body["session_id"] = session_id
        hdrs = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        hdrs.update(headers or {})
        self.events = []
        self.started = time.monotonic()
        conn = connect(base, source, timeout)
        conn.request("POST", "/v1/chat", json.dumps(body), hdrs)
        resp = conn.getresponse()
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.getheaders()}
        if self.status != 200:
            self.error = json.loads(resp.read())
            conn.close()
            return
        self.error = None
        self.read_events(resp)
        conn.close()

    def read_events(self, resp):
        block = []
        while True:
            line = resp.readline()
            if not line:
                break
            text = line.decode().rstrip("\r\n")
            if text:
                block.append(text)
                continue
            at = time.monotonic() - self.started
            for name, data in parse_sse("\n".join(block)):
                self.events.append((at, name, data))
            block = []

    def names(self):
        return [name for _, name, _ in self.events]

    def first(self, name):
        """Returns (seconds, data) of the first event called name, or None."""
        for at, event, data in self.events:
            if event == name:
                return at, data
        return None

    def data_of(self, name):
        return [data for _, event, data in self.events if event == name]


def loopback_source():
    """Returns a random address of 127.0.0.0/8 other than 127.0.0.1, so
    rate-limit counters of earlier runs never apply."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def wait_for_fresh_minute(budget_seconds):
    """Sleeps into the next minute when fewer than budget_seconds remain in
    this one: maitred counts chat turns per client per calendar minute."""
    left = 60 - time.time() % 60
    if left < budget_seconds:
        time.sleep(left + 0.2)


def log_lines(instance, *needles, count=1, timeout=3):
    """Returns the lines of a maitred log that contain every needle, waiting
    up to timeout seconds for count of them: maitred logs a request only
    once its reply has gone out."""
    deadline = time.time() + timeout
    while True:
        lines = [line for line in instance.log_text().splitlines() if all(n in line for n in needles)]
        if len(lines) >= count or time.time() > deadline:
            return lines
        time.sleep(0.05)
