"""Connection and request limits of the public listener, seen from raw sockets.

LIMIT_CONCURRENCY, TIMEOUT_KEEP_ALIVE and HEADER_TIMEOUT, the request body
checks (413, 411, 415), and the error shapes of 405 and 404. The tests run
the offline agent: no model is involved.
"""
import json
import select
import socket
import time

import pytest

from harness import request
from test_process_clients import read_stats


def connect(m):
    sock = socket.create_connection(("127.0.0.1", m.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock, timeout=5):
    """Reads one response with a Content-Length body.

    Returns (status, headers with lower-case names, body bytes), or None when
    the server closed the connection first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def seconds_until_closed(sock, limit):
    """Waits for the server to close sock; returns the seconds it took, or None after limit."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def send_slowly(sock, data, interval, limit):
    """Sends data one byte every interval seconds until the server cuts the
    connection or limit seconds pass. Returns (seconds, bytes sent, "cut off"
    or "still open")."""
    started = time.monotonic()
    sent = 0
    for byte in data:
        if time.monotonic() - started > limit:
            return time.monotonic() - started, sent, "still open"
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            break
        sent += 1
        readable, _, _ = select.select([sock], [], [], interval)
        if readable:
            try:
                if not sock.recv(4096):
                    break
            except OSError:
                break
    return time.monotonic() - started, sent, "cut off"


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: maitred\r\n\r\n"
SLOW_REQUEST = (b"GET /healthz HTTP/1.1\r\nHost: maitred\r\nUser-Agent: slow-client\r\n"
                b"X-Padding: " + b"x" * 40 + b"\r\n\r\n")


def test_limit_concurrency_caps_connections(start_maitred):
    m = start_maitred({"WORKERS": "1", "LIMIT_CONCURRENCY": "16", "HEADER_TIMEOUT": "30"})
    socks = [connect(m) for _ in range(24)]
    time.sleep(0.5)
    open_connections = read_stats(m)["workers"][0]["connections"]
    for sock in socks:
        sock.sendall(HEALTHZ)
    time.sleep(1)
    answered = select.select(socks, [], [], 0)[0]
    first = [read_response(sock) for sock in answered]
    waiting = [sock for sock in socks if sock not in answered]
    for sock in answered:
        sock.close()
    later = [read_response(sock) for sock in waiting]
    print(f"24 connections to a worker with LIMIT_CONCURRENCY=16: {open_connections} open "
          f"(the /stats request included), {len(answered)} answered, {len(waiting)} waited "
          f"until others closed")

    # /stats counts its own admin connection too.
    assert open_connections == 16 + 1
    assert len(answered) == 16
    assert [r[0] for r in first] == [200] * 16
    assert [r and r[0] for r in later] == [200] * 8
    for sock in waiting:
        sock.close()


def test_idle_keep_alive_is_closed(start_maitred):
    m = start_maitred({"WORKERS": "1", "TIMEOUT_KEEP_ALIVE": "2", "HEADER_TIMEOUT": "10"})
    sock = connect(m)
    sock.sendall(HEALTHZ)
    first = read_response(sock)
    time.sleep(1)
    sock.sendall(HEALTHZ)
    second = read_response(sock)
    closed_after = seconds_until_closed(sock, 6)
    sock.close()
    print(f"TIMEOUT_KEEP_ALIVE=2: a second request after 1 s idle was answered; "
          f"the idle connection was closed after {closed_after:.2f} s")

    assert first[0] == 200
    assert second[0] == 200
    assert closed_after is not None
    assert 1.5 <= closed_after <= 3.5


@pytest.fixture
def header_limited(start_maitred):
    return start_maitred({"WORKERS": "1", "HEADER_TIMEOUT": "2", "TIMEOUT_KEEP_ALIVE": "30"})


def test_silent_connection_is_closed(header_limited):
    sock = connect(header_limited)
    closed_after = seconds_until_closed(sock, 6)
    sock.close()
    print(f"HEADER_TIMEOUT=2: a connection that sent nothing was closed after {closed_after:.2f} s")

    assert closed_after is not None
    assert closed_after <= 3.0


def test_slow_headers_are_cut_off(header_limited):
    sock = connect(header_limited)
    seconds, sent, end = send_slowly(sock, SLOW_REQUEST, interval=1.0, limit=10)
    sock.close()
    print(f"HEADER_TIMEOUT=2: a client sending one byte a second was {end} after {seconds:.1f} s "
          f"and {sent} of {len(SLOW_REQUEST)} bytes")

    assert end == "cut off"
    assert sent < len(SLOW_REQUEST)
    assert seconds <= 2 + 1.5


def test_slow_body_is_cut_off(header_limited):
    body = json.dumps({"message": "Do you have vegan starters? " * 3}).encode()
    head = (b"POST /v1/chat HTTP/1.1\r\nHost: maitred\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    sock = connect(header_limited)
    sock.sendall(head)
    seconds, sent, end = send_slowly(sock, body, interval=0.5, limit=10)
    sock.close()
    print(f"HEADER_TIMEOUT=2: a client sending its body two bytes a second was {end} after "
          f"{seconds:.1f} s and {sent} of {len(body)} bytes")

    assert end == "cut off"
    assert sent < len(body)
    assert seconds <= 2 + 1.5


def test_slow_second_request_is_cut_off(header_limited):
    sock = connect(header_limited)
    sock.sendall(HEALTHZ)
    first = read_response(sock)
    time.sleep(3)
    # The request line arrives at once, the headers one byte a second.
    line, rest = SLOW_REQUEST.split(b"\r\n", 1)
    sock.sendall(line + b"\r\n")
    seconds, sent, end = send_slowly(sock, rest, interval=1.0, limit=10)
    sock.close()
    print(f"HEADER_TIMEOUT=2: after 3 s idle on a keep-alive connection, a request sent one byte a "
          f"second was {end} after {seconds:.1f} s and {sent} of {len(rest)} header bytes")

    assert first[0] == 200
    assert end == "cut off"
    assert sent < len(rest)
    assert seconds <= 2 + 1.5


def raw_request(m, head, port=None):
    sock = socket.create_connection(("127.0.0.1", port or m.port), timeout=10)
    sock.sendall(head)
    response = read_response(sock)
    sock.close()
    return response


def error_of(response):
    status, headers, body = response
    assert headers["content-type"] == "application/json"
    return status, json.loads(body)["error"]


@pytest.fixture
def offline(start_maitred):
    return start_maitred({"WORKERS": "1"})


def test_body_over_limit_is_413(offline):
    head = (b"POST /v1/chat HTTP/1.1\r\nHost: maitred\r\nContent-Type: application/json\r\n"
            b"Content-Length: 16385\r\n\r\n")
    status, error = error_of(raw_request(offline, head))
    print("Content-Length 16385:", status, error)

    assert status == 413
    assert error["code"] == "body_too_large"
    assert "16385" in error["message"]


def test_body_at_limit_is_read(offline):
    body = b'{"message": "' + b"a" * (16384 - 15) + b'"}'
    assert len(body) == 16384
    head = (b"POST /v1/chat HTTP/1.1\r\nHost: maitred\r\nContent-Type: application/json\r\n"
            b"Content-Length: 16384\r\n\r\n")
    status, error = error_of(raw_request(offline, head + body))

    # The body is read whole, then rejected because its message is over 2000 characters.
    assert status == 400
    assert error["code"] == "invalid_request"


def test_chunked_body_is_411(offline):
    head = (b"POST /v1/chat HTTP/1.1\r\nHost: maitred\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, error = error_of(raw_request(offline, head + b'14\r\n{"message": "Hello"}\r\n0\r\n\r\n'))

    assert status == 411
    assert error["code"] == "length_required"


def test_text_body_is_415(offline):
    status, _, body = request(offline.url, "POST", "/v1/chat", b"Hello", {"Content-Type": "text/plain"})
    error = json.loads(body)["error"]

    assert status == 415
    assert error["code"] == "unsupported_media_type"
    assert "text/plain" in error["message"]


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/v1/chat", "POST"),
    ("DELETE", "/v1/chat", "POST"),
    ("POST", "/v1/menu", "GET"),
    ("PUT", "/v1/reservations/ABC123", "GET, DELETE"),
    ("POST", "/healthz", "GET"),
])
def test_wrong_method_is_405(offline, method, path, allowed):
    status, headers, body = request(offline.url, method, path)
    error = json.loads(body)["error"]

    assert status == 405
    assert headers["allow"] == allowed
    assert headers["content-type"] == "application/json"
    assert error["code"] == "method_not_allowed"


def test_admin_wrong_method_is_405(offline):
    status, headers, body = request(offline.admin_url, "POST", "/metrics")

    assert status == 405
    assert headers["allow"] == "GET"
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/nope", "/v1", "/v1/menu/1/extra", "/static/"])
def test_unknown_route_is_404(offline, path):
    status, headers, body = request(offline.url, "GET", path)

    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": {"code": "not_found", "message": f"no route for {path}"}}


def test_admin_unknown_route_is_404(offline):
    status, _, body = request(offline.admin_url, "GET", "/v1/menu")

    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
