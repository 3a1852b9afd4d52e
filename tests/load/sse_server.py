#!/usr/bin/env python3
"""A stand-in for maitred's chat route, for testing maitred-load end to end.

Serves POST /v1/chat as Server-Sent Events in the shape the HTTP contract
gives (meta, queued, status, tool, delta, done or error, ": keep-alive"
comments) and GET /healthz. Standard library only; binds 127.0.0.1.

    python3 tests/load/sse_server.py --port 8765 --deltas 5 --delta-ms 20

With --fault KIND --fault-every K, every K-th chat request gets that fault:
  429, 503       a plain JSON error with Retry-After, not a stream
  error          an `error` event in place of `done`
  mismatch       a `done` whose reply differs from the deltas
  cut            the stream ends after the first delta
  crlf           the events use CRLF line ends (not a fault: still valid)
"""
import argparse
import itertools
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY_WORDS = ["Yes,", " we", " have", " three", " vegan", " starters", " today."]


class ChatHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = itertools.count(1)
    counter_lock = threading.Lock()

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            super().log_message(fmt, *args)

    def do_GET(self):
        if self.path != "/healthz":
            self.send_json(404, {"error": {"code": "not_found", "message": self.path}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/v1/chat":
            self.send_json(404, {"error": {"code": "not_found", "message": self.path}})
            return
        try:
            request = json.loads(body)
            message = request["message"]
        except (ValueError, KeyError, TypeError):
            self.send_json(400, {"error": {"code": "invalid_json", "message": "bad body"}})
            return
        with self.counter_lock:
            number = next(self.counter)
        opts = self.server.opts
        fault = opts.fault if opts.fault_every and number % opts.fault_every == 0 else None
        if fault in ("429", "503"):
            code = "rate_limited" if fault == "429" else "overloaded"
            self.send_json(int(fault), {"error": {"code": code, "message": "try later"}},
                           retry_after="1")
            return
        session_id = request.get("session_id") or "srv-" + secrets.token_hex(8)
        self.stream(session_id, message, fault)

    def send_json(self, status, obj, retry_after=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)

    def write_chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, session_id, message, fault):
        opts = self.server.opts
        newline = "\r\n" if fault == "crlf" else "\n"

        def event(name, obj):
            self.write_chunk(f"event: {name}{newline}data: {json.dumps(obj)}{newline}{newline}")

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        agent = "booking" if "book" in message.lower() else "food"
        event("meta", {"session_id": session_id, "request_id": secrets.token_hex(6),
                       "agent": agent})
        event("queued", {"position": 1})
        self.write_chunk(": keep-alive" + newline + newline)
        event("status", {"text": "Checking the menu..."})
        event("tool", {"name": "search_menu", "ok": True})
        words = (REPLY_WORDS * (opts.deltas // len(REPLY_WORDS) + 1))[:opts.deltas]
        for i, word in enumerate(words):
            time.sleep(opts.delta_ms / 1000)
            event("delta", {"text": word})
            if fault == "cut":
                self.close_connection = True
                return
        if fault == "error":
            event("error", {"error": {"code": "upstream_timeout", "message": "slow model"}})
        else:
            reply = "".join(words) + ("!" if fault == "mismatch" else "")
            event("done", {"reply": reply, "agent": agent,
                           "usage": {"prompt_tokens": 10, "completion_tokens": len(words)}})
        self.wfile.write(b"0\r\n\r\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765, help="TCP port on 127.0.0.1; 0 picks one")
    parser.add_argument("--deltas", type=int, default=5, help="delta events per answer")
    parser.add_argument("--delta-ms", type=float, default=10, help="pause before each delta, ms")
    parser.add_argument("--fault", choices=["429", "503", "error", "mismatch", "cut", "crlf"])
    parser.add_argument("--fault-every", type=int, default=0, help="every K-th request faults")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    opts = parser.parse_args()
    # The default backlog of 5 drops connections when many guests start at once.
    ThreadingHTTPServer.request_queue_size = 4096
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), ChatHandler)
    server.daemon_threads = True
    server.opts = opts
    server.quiet = opts.quiet
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
