"""Keep-alive and drain as a load balancer meets them: idle connections
outlive the balancer's, and a draining instance reports not ready while
its streams finish."""
import http.client
import json
import re
import signal
import socket
import subprocess
import threading
import time

from deploy_client import TimedStream, log_lines
from deploy_nginx import SHIPPED_CONF
from harness import BINARY

# The idle timeout of an AWS Application Load Balancer: its default, which
# docs/deploy.md keeps.
ALB_IDLE_TIMEOUT = 60


def setting_default(name):
    """Returns the default of a setting as `maitred --help` prints it."""
    text = subprocess.run([BINARY, "--help"], capture_output=True, text=True, check=True).stdout
    match = re.search(rf"^\s+--\S+\s+{name}\s+(\S+)", text, re.M)
    assert match, f"{name} is not in maitred --help"
    return match.group(1)


def test_keep_alive_default_outlasts_balancers():
    keep_alive = int(setting_default("TIMEOUT_KEEP_ALIVE"))
    with open(SHIPPED_CONF) as f:
        nginx_idle = int(re.search(r"^\s*keepalive_timeout (\d+)s;", f.read(), re.M).group(1))
    assert keep_alive == 75
    assert keep_alive > ALB_IDLE_TIMEOUT
    assert keep_alive > nginx_idle


def test_heartbeat_default_below_idle_timeouts():
    heartbeat = int(setting_default("HEARTBEAT_INTERVAL"))
    with open(SHIPPED_CONF) as f:
        chat = re.search(r"location = /v1/chat \{[^}]*?proxy_read_timeout (\d+)s;", f.read()).group(1)
    assert heartbeat < ALB_IDLE_TIMEOUT
    assert heartbeat < int(chat)


def send_get(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())


def read_reply(sock):
    """Reads one reply with a Content-Length body; returns b"" once the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_idle_connection_closed_after_keep_alive(start_maitred):
    instance = start_maitred({"TIMEOUT_KEEP_ALIVE": "3"})
    with socket.create_connection(("127.0.0.1", instance.port), timeout=10) as sock:
        send_get(sock, "/healthz")
        assert read_reply(sock).startswith(b"HTTP/1.1 200")
        time.sleep(1)
        send_get(sock, "/healthz")
        assert read_reply(sock).startswith(b"HTTP/1.1 200")

        time.sleep(5)
        assert sock.recv(4096) == b""


def readyz(conn):
    conn.request("GET", "/readyz")
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def test_draining_instance_not_ready_while_stream_finishes(start_maitred, upstream):
    upstream.reset()
    # One worker, so the stream and the probe connection share the process that drains.
    instance = start_maitred({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url,
                              "WORKERS": "1"})
    upstream.faults([{"kind": "slow", "ttft_ms": 300, "token_ms": 60, "count": 4, "match": "LONGSTREAM"}])
    probe = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=10)
    status, body = readyz(probe)
    assert status == 200

    result = {}
    thread = threading.Thread(target=lambda: result.update(
        stream=TimedStream(instance.url, "LONGSTREAM What time do you open?")))
    thread.start()
    deadline = time.time() + 5
    while instance.stats()["instance"]["slots_in_use"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    instance.signal(signal.SIGTERM)
    drain_started = time.monotonic()
    time.sleep(0.3)

    status, body = readyz(probe)
    assert status == 503
    assert body["draining"] is True
    probe.request("POST", "/v1/chat", json.dumps({"message": "Hello"}), {"Content-Type": "application/json"})
    refused = probe.getresponse()
    assert refused.status == 503
    assert b'"code":"not_ready"' in refused.read()

    thread.join(30)
    stream = result["stream"]
    assert stream.names()[-1] == "done"
    # The stream ran on for over a second after SIGTERM, so it finished during the drain.
    assert stream.started + stream.first("done")[0] - drain_started > 1.0
    assert len(stream.data_of("delta")) >= 10
    assert instance.proc.wait(30) == 0
    assert log_lines(instance, "worker_draining")
