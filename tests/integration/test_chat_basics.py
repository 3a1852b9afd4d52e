"""POST /v1/chat end to end, in both answer modes and both agents."""
from harness import chat_sse, events_of, psql, reply_of, request, session_of


def test_healthz_answers_ok(offline):
    status, _, body = request(offline.url, "GET", "/healthz")
    assert status == 200
    assert body == b"ok\n"


def test_readyz_names_dependencies(offline):
    status, _, body = request(offline.url, "GET", "/readyz")
    assert status == 200
    assert b'"postgres":"ok"' in body
    assert b'"redis":"ok"' in body
    assert b"offline" in body


def test_online_vegan_starters_stream(online, upstream, database_url):
    status, headers, events = chat_sse(online.url, "Do you have vegan starters?")
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    names = [e for e, _ in events if e != "comment"]
    assert names[0] == "meta"
    assert names[-1] == "done"
    assert events_of(events, "tool")[0]["name"] == "search_menu"
    deltas = "".join(d["text"] for d in events_of(events, "delta"))
    assert deltas == reply_of(events)
    vegan = [r[0] for r in psql(database_url.rsplit("/", 1)[1],
                                "SELECT name FROM dishes WHERE category = 'starter' AND 'vegan' = ANY(tags)")]
    assert vegan
    assert any(name in deltas for name in vegan)


def test_json_mode_returns_one_object(online):
    status, headers, body = request(online.url, "POST", "/v1/chat", {"message": "What time do you open?"})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert b'"reply"' in body
    assert b'"session_id"' in body


def test_session_id_is_kept(online):
    _, _, first = chat_sse(online.url, "Hello")
    sid = session_of(first)
    _, _, second = chat_sse(online.url, "Do you have vegan starters?", session_id=sid)
    assert session_of(second) == sid
