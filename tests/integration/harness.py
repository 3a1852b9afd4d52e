"""Processes and clients for maitred's integration tests.

Everything runs on 127.0.0.1: a real maitred (the binary built by make), the
test upstream (tests/upstream/upstream.py), and the PostgreSQL and Redis that
tests/run.sh started (MAITRED_TEST_PG_URL, MAITRED_TEST_REDIS_URL).
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.path.join(TOP, "maitred")
UPSTREAM = os.path.join(TOP, "tests", "upstream", "upstream.py")
ARTIFACTS = os.path.join(TOP, "tests", "artifacts")
API_KEY = "sk-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_url(database):
    return os.environ["MAITRED_TEST_PG_URL"] + "/" + database


def psql(database, sql):
    """Runs SQL with psql and returns the rows as lists of strings."""
    out = subprocess.run(["psql", pg_url(database), "-qtAX", "-F", "\t", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def fresh_database(name):
    """Drops and creates a database; maitred migrates it at start."""
    admin = pg_url("postgres")
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   check=True, capture_output=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return pg_url(name)


def redis_cli(*args):
    port = os.environ["MAITRED_TEST_REDIS_PORT"]
    return subprocess.run(["redis-cli", "-p", port, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


class Upstream:
    """The test upstream, started on a free port."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, UPSTREAM, "--port", "0", "--quiet", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(line.rsplit(":", 1)[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, json.dumps(body) if body is not None else None,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return json.loads(data) if data else None

    def faults(self, faults):
        return self._request("POST", "/_control/faults", faults)

    def stats(self):
        return self._request("GET", "/_stats")

    def requests(self):
        return self._request("GET", "/_requests")

    def reset(self):
        return self._request("POST", "/_reset")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Maitred:
    """One maitred instance on free ports with its own shared-memory name.

    env holds settings on top of the defaults below; the log goes to a file
    under tests/artifacts so a failing test can show it."""

    def __init__(self, database_url, env=None, name="maitred", args=()):
        self.port = free_port()
        self.admin_port = free_port()
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.log_path = os.path.join(ARTIFACTS, f"{name}-{self.port}.log")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "ADMIN_LISTEN": f"127.0.0.1:{self.admin_port}",
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ["MAITRED_TEST_REDIS_URL"] + "/1",
            "SHM_NAME": f"/maitred-test-{self.port}",
            "WORKERS": "4",
            "CHAT_RATE_LIMIT": "0",
            "LOG_LEVEL": "info",
        }
        self.env.update(env or {})
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([BINARY, *args], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"maitred exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                status, _, _ = request(self.url, "GET", "/healthz", timeout=1)
                stats = self.stats()
                if status == 200 and all(w["state"] == "ready" for w in stats["workers"]):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"maitred did not become ready:\n{self.log_text()}")

    def log_text(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stats(self):
        status, _, body = request(self.admin_url, "GET", "/stats", timeout=5)
        return json.loads(body)

    def metrics(self):
        return request(self.admin_url, "GET", "/metrics", timeout=5)[2].decode()

    def worker_pids(self):
        return [w["pid"] for w in self.stats()["workers"]]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def request(base, method, path, body=None, headers=None, timeout=30):
    """Sends one request; returns (status, headers dict with lower-case names, body bytes)."""
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = body
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        data = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, data, hdrs)
    resp = conn.getresponse()
    payload = resp.read()
    result = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
    conn.close()
    return result


def parse_sse(text):
    """Parses an event stream into a list of (event, data) pairs, data decoded
    from JSON; comment lines come as ("comment", text)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":"):
                events.append(("comment", line[1:].strip()))
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def chat_sse(base, message, session_id=None, timeout=60, headers=None):
    """Sends a chat turn asking for a stream; returns (status, headers, events)."""
    body = {"message": message}
    if session_id:
        body["session_id"] = session_id
    hdrs = {"Accept": "text/event-stream"}
    hdrs.update(headers or {})
    status, resp_headers, payload = request(base, "POST", "/v1/chat", body, hdrs, timeout)
    text = payload.decode()
    if status != 200:
        return status, resp_headers, json.loads(text)
    return status, resp_headers, parse_sse(text)


def events_of(events, name):
    return [data for event, data in events if event == name]


def reply_of(events):
    done = events_of(events, "done")
    return done[0]["reply"] if done else None


def session_of(events):
    return events_of(events, "meta")[0]["session_id"]
