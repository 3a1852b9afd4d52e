"""Helpers for the model-client tests (test_model_*.py, test_booking_model*.py).

This module contains no tests. It provides:
- online_env(): maitred settings that point it at a test upstream;
- metric(): reads one Prometheus series, summed over workers;
- StreamReader: a chat stream read event by event with arrival times, which
  can close the connection part-way through;
- ScriptedUpstream: the strict test upstream with a scripted model, for the
  answers that tests/upstream/upstream_brain.py never gives (unknown tools,
  invalid arguments, tool calls in every round, a code the guest never typed).

Run as a program, it is that scripted upstream:
    python3 tests/integration/test_model_support.py --port 0 --quiet
POST /_control/script with a JSON list of rules replaces the script. A rule
{"match": TEXT, "calls": [{"name": N, "arguments": OBJECT or RAW_TEXT}],
"rounds": R, "ignore_tool_choice": B} makes the model call those tools when the
last user message contains TEXT and fewer than R tool rounds (default 1) have
followed it; with "tool_choice": "none" in the request it answers in text
unless ignore_tool_choice is true. A string in "arguments" is sent as the raw
arguments text, so it need not be JSON. Requests no rule matches get the
ordinary rules of upstream_brain.py.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

from harness import Upstream

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAM_DIR = os.path.join(HERE, "..", "upstream")


# ---- Settings and metrics ----

def online_env(upstream, **settings):
    """Returns maitred's environment for the model mode against upstream, plus settings."""
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url}
    env.update({name: str(value) for name, value in settings.items()})
    return env


SERIES = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def metric(text, name, **labels):
    """Returns the sum of the series called name whose labels include labels."""
    total = 0.0
    for line in text.splitlines():
        match = SERIES.match(line)
        if not match or match.group("name") != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels") or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group("value"))
    return total


def wait_until(condition, timeout, interval=0.05):
    """Polls condition until it returns a true value or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_upstream_idle(upstream, timeout=10):
    """Waits until the upstream has no request in flight, so its counters are final."""
    return wait_until(lambda: upstream.stats()["in_flight"] == 0, timeout)


def slots_in_use(maitred):
    return maitred.stats()["instance"]["slots_in_use"]


# ---- The upstream's request log ----

def last_user_text(body):
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return message.get("content") or ""
    return ""


def requests_for(upstream, marker):
    """Returns the logged chat completion requests whose last user message contains marker, oldest first."""
    entries = upstream.requests()["requests"]
    return [e for e in entries
            if isinstance(e.get("body"), dict) and marker in last_user_text(e["body"])]


def tool_results(body):
    """Returns the tool messages of a request body as {tool name: parsed content}."""
    names = {}
    results = {}
    for message in body["messages"]:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            results[names[message["tool_call_id"]]] = json.loads(message["content"])
    return results


# ---- Reading a chat stream ----

class StreamReader:
    """One POST /v1/chat read as an event stream, with the arrival time of each event.

    events contains (seconds since the request was sent, event name, data) in
    arrival order; comment lines have the name "comment"."""

    def __init__(self, base_url, message, session_id=None, timeout=30):
        host, port = base_url.split("//", 1)[1].split(":")
        body = {"message": message}
        if session_id:
            body["session_id"] = session_id
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.started = time.time()
        self.conn.request("POST", "/v1/chat", json.dumps(body),
                          {"Content-Type": "application/json", "Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.events = []
        self.closed_at = None

    def next_event(self):
        """Reads one event; returns (name, data), or None at the end of the stream."""
        name, data = "message", []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line.startswith(":"):
                self.events.append((time.time() - self.started, "comment", line[1:].strip()))
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and data:
                event = (name, json.loads("\n".join(data)))
                self.events.append((time.time() - self.started, *event))
                return event

    def read_until(self, wanted):
        """Reads events until one called wanted arrives; returns its data, or None at the end."""
        while True:
            event = self.next_event()
            if event is None:
                return None
            if event[0] == wanted:
                return event[1]

    def read_all(self):
        while self.next_event() is not None:
            pass
        self.conn.close()
        return self.events

    def close(self):
        """Closes the connection at once (a guest who leaves) and records the time."""
        self.closed_at = time.time()
        self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.response.close()

    def of(self, name):
        return [data for _, event, data in self.events if event == name]

    def times_of(self, name):
        return [at for at, event, _ in self.events if event == name]

    def names(self):
        return [event for _, event, _ in self.events if event != "comment"]


# ---- The scripted upstream ----

class ScriptedUpstream(Upstream):
    """The strict test upstream whose model follows a script for matching messages."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--port", "0", "--quiet", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def script(self, rules):
        return self._request("POST", "/_control/script", rules)


def run_scripted_upstream(argv):
    sys.path.insert(0, UPSTREAM_DIR)
    import upstream
    import upstream_brain

    script = {"rules": []}
    lock = threading.Lock()
    original_decide = upstream_brain.decide
    original_answer_init = upstream.Answer.__init__
    original_do_post = upstream.Handler.do_POST

    class RawArguments(str):
        """Arguments text sent as it is, valid JSON or not."""

    def matching_rule(request):
        text = upstream.last_user_text(request)
        with lock:
            return next((r for r in script["rules"] if r["match"] in text), None)

    def rounds_after_last_user(messages):
        rounds = 0
        for message in reversed(messages):
            if message.get("role") == "user":
                break
            if message.get("role") == "assistant" and message.get("tool_calls"):
                rounds += 1
        return rounds

    def scripted_decide(request, tools):
        rule = matching_rule(request)
        if rule:
            no_tools = request.get("tool_choice") == "none" and not rule.get("ignore_tool_choice")
            if rounds_after_last_user(request["messages"]) < rule.get("rounds", 1) and not no_tools:
                calls = [(c["name"], RawArguments(c["arguments"]) if isinstance(c["arguments"], str)
                          else c["arguments"]) for c in rule["calls"]]
                return upstream_brain.Reply(calls=calls)
        return original_decide(request, tools)

    def answer_init(self, request, tools, config, fault):
        original_answer_init(self, request, tools, config, fault)
        reply = scripted_decide(request, tools)
        self.calls = [(call_id, name, str(raw[1]) if isinstance(raw[1], RawArguments) else arguments)
                      for (call_id, name, arguments), raw in zip(self.calls, reply.calls)]

    def do_post(self):
        if self.path != "/_control/script":
            original_do_post(self)
            return
        rules = json.loads(self.read_body() or b"[]")
        with lock:
            script["rules"] = rules
        self.send_json(200, {"rules": len(rules)})

    upstream_brain.decide = scripted_decide
    upstream.Answer.__init__ = answer_init
    upstream.Handler.do_POST = do_post
    return upstream.main(argv)


if __name__ == "__main__":
    sys.exit(run_scripted_upstream(sys.argv[1:]))
