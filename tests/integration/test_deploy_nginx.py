"""maitred behind the real nginx with deploy/nginx/maitred.conf: streaming,
heartbeats through a short read timeout, forwarded client addresses, the
admin routes, the menu cache and the body limit."""
import re
import threading
import time

import pytest

from deploy_client import TimedStream, log_lines, loopback_source, request_from, wait_for_fresh_minute
from deploy_nginx import Nginx, SHIPPED_CONF, check_config, make_prefix, render_site, write_config
from harness import free_port, redis_cli, request


@pytest.fixture
def start_nginx():
    started = []

    def start(upstream_ports, **kwargs):
        proxy = Nginx(upstream_ports, **kwargs)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def online_env(upstream):
    upstream.reset()
    return {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url}


def test_shipped_config_passes_nginx_t():
    prefix = make_prefix()
    main = write_config(prefix, render_site(prefix))
    status, output = check_config(prefix, main)
    assert status == 0, output
    assert "test is successful" in output


def test_shipped_config_never_proxies_admin_port():
    with open(SHIPPED_CONF) as f:
        text = f.read()
    upstream = re.search(r"upstream maitred \{(.*?)\}", text, re.S).group(1)
    servers = re.findall(r"^\s*server\s+(\S+)", upstream, re.M)
    assert servers == ["127.0.0.1:8000"]
    assert ":9000" not in text


def test_admin_routes_not_exposed(start_maitred, start_nginx):
    instance = start_maitred()
    proxy = start_nginx([instance.port])
    for path in ("/metrics", "/stats"):
        status, _, _ = request(proxy.url, "GET", path)
        assert status == 404, path
    status, _, body = request(instance.admin_url, "GET", "/metrics")
    assert status == 200
    assert b"maitred_agent_slots_limit" in body


def test_stream_passes_unbuffered_headers(start_maitred, start_nginx):
    instance = start_maitred()
    proxy = start_nginx([instance.port])
    stream = TimedStream(proxy.url, "What time do you open?",
                         headers={"Accept-Encoding": "gzip", "X-Request-ID": "deploy-headers-0001"})
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in stream.headers
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.names()[0] == "meta"
    assert stream.names()[-1] == "done"
    assert log_lines(instance, " access ", "request_id=deploy-headers-0001:")


def test_first_delta_before_upstream_finishes(start_maitred, start_nginx, online_env, upstream):
    instance = start_maitred(online_env)
    proxy = start_nginx([instance.port])
    # Every model call of this turn streams one word each 150 ms.
    upstream.faults([{"kind": "slow", "ttft_ms": 100, "token_ms": 150, "count": 4, "match": "SLOWTOKENS"}])

    stream = TimedStream(proxy.url, "SLOWTOKENS Do you have vegan starters?")
    first_delta = stream.first("delta")
    done = stream.first("done")
    assert first_delta is not None
    assert done is not None
    assert len(stream.data_of("delta")) >= 5
    # Buffered by nginx, every delta would arrive with done, at the end.
    assert done[0] - first_delta[0] >= 0.6


def test_queued_stream_survives_short_read_timeout(start_maitred, start_nginx, online_env, upstream):
    env = dict(online_env, MAX_CONCURRENT_CREWS="1", HEARTBEAT_INTERVAL="2")
    instance = start_maitred(env)
    proxy = start_nginx([instance.port], chat_read_timeout=5)
    # The first turn keeps the only agent slot for 12 s before its model answers.
    upstream.faults([{"kind": "stall_before", "seconds": 12, "match": "HOLDSLOT"}])

    holder = {}
    thread = threading.Thread(target=lambda: holder.update(
        stream=TimedStream(proxy.url, "HOLDSLOT What time do you open?")))
    thread.start()
    deadline = time.time() + 5
    while instance.stats()["instance"]["slots_in_use"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    assert instance.stats()["instance"]["slots_in_use"] == 1

    queued = TimedStream(proxy.url, "What time do you open?")
    thread.join(60)

    assert queued.status == 200
    assert queued.data_of("queued")
    assert queued.names()[-1] == "done"
    assert queued.first("done")[0] >= 10
    heartbeats = [at for at, name, data in queued.events if name == "comment" and data == "keep-alive"]
    assert len(heartbeats) >= 3
    assert holder["stream"].names()[-1] == "done"
    assert "upstream timed out" not in proxy.error_log()


def test_chat_body_limit_matches_maitred(start_maitred, start_nginx):
    instance = start_maitred()
    proxy = start_nginx([instance.port])
    fill = '{"message": "' + "a" * 16384
    headers = {"Content-Type": "application/json"}

    over = (fill[:16385 - 2] + '"}').encode()
    assert len(over) == 16385
    status, resp_headers, body = request(proxy.url, "POST", "/v1/chat", over, headers)
    assert status == 413
    assert resp_headers["content-type"] == "application/json"
    assert b'"code":"body_too_large"' in body

    at_limit = (fill[:16384 - 2] + '"}').encode()
    status, _, body = request(proxy.url, "POST", "/v1/chat", at_limit, headers)
    assert status == 400
    assert b"message must be 1 to 2000 characters" in body


def test_menu_cached_with_etag(start_maitred, start_nginx):
    instance = start_maitred()
    proxy = start_nginx([instance.port])
    path = "/v1/menu?category=dessert"

    status, first, body = request(proxy.url, "GET", path)
    assert status == 200
    assert first["x-cache-status"] == "MISS"
    assert first["cache-control"] == "public, max-age=60"
    status, second, again = request(proxy.url, "GET", path)
    assert status == 200
    assert second["x-cache-status"] == "HIT"
    assert second["etag"] == first["etag"]
    assert again == body

    status, _, empty = request(proxy.url, "GET", path, headers={"If-None-Match": first["etag"]})
    assert status == 304
    assert empty == b""
    assert len(log_lines(instance, " access ", "path=/v1/menu")) == 1


def test_menu_json_is_gzipped(start_maitred, start_nginx):
    instance = start_maitred()
    proxy = start_nginx([instance.port])
    status, headers, _ = request(proxy.url, "GET", "/v1/menu", headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"


def test_readyz_hidden_from_public_addresses():
    with open(SHIPPED_CONF) as f:
        text = f.read()
    block = re.search(r"location = /readyz \{(.*?)\}", text, re.S).group(1)
    assert "deny all;" in block
    assert "allow 0.0.0.0/0" not in block


def chat_status(base, source, forwarded_for=None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    status, _, _ = request_from(base, "POST", "/v1/chat", {"message": "What time do you open?"},
                                headers, source)
    return status


def test_rate_limit_per_forwarded_client(start_maitred, start_nginx):
    instance = start_maitred({"TRUSTED_PROXIES": "127.0.0.1", "CHAT_RATE_LIMIT": "2"})
    proxy = start_nginx([instance.port])
    first, second = loopback_source(), loopback_source()
    wait_for_fresh_minute(20)

    assert [chat_status(proxy.url, first) for _ in range(3)] == [200, 200, 429]
    assert chat_status(proxy.url, second) == 200
    assert log_lines(instance, " access ", f"client={first} ")


def test_spoofed_forwarded_for_still_limited(start_maitred, start_nginx):
    instance = start_maitred({"TRUSTED_PROXIES": "127.0.0.1", "CHAT_RATE_LIMIT": "2"})
    proxy = start_nginx([instance.port])
    client = loopback_source()
    wait_for_fresh_minute(20)

    # nginx appends the real peer, so maitred stops at the first untrusted hop from the right.
    statuses = [chat_status(proxy.url, client, f"198.51.100.{i}") for i in range(3)]
    assert statuses == [200, 200, 429]


def test_rate_limit_per_proxy_without_trust(start_maitred, start_nginx):
    instance = start_maitred({"CHAT_RATE_LIMIT": "2"})
    proxy = start_nginx([instance.port])
    first, second = loopback_source(), loopback_source()
    wait_for_fresh_minute(20)
    # Earlier tests may have counted turns of 127.0.0.1 in this minute
    # (the key format of workers/ratelimit.c, in the Redis database maitred uses).
    redis_cli("-n", "1", "DEL", f"maitred:rl:chat:127.0.0.1:{int(time.time()) // 60}")

    assert chat_status(proxy.url, first) == 200
    assert chat_status(proxy.url, first) == 200
    assert chat_status(proxy.url, second) == 429
    assert log_lines(instance, " access ", "client=127.0.0.1 method=POST")


def test_json_errors_when_no_instance_answers(start_nginx):
    proxy = start_nginx([free_port()])
    status, headers, body = request(proxy.url, "GET", "/v1/menu/1")
    assert status == 503
    assert headers["content-type"] == "application/json"
    assert headers["retry-after"] == "2"
    assert b'"code":"not_ready"' in body
