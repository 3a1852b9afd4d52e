#!/usr/bin/python3
"""A strict stand-in for the OpenAI chat completions API, for maitred's tests.

    python3 tests/upstream/upstream.py --port 0 [--ttft-ms 300] [--token-ms 20]
        [--tokens 40] [--api-key sk-test] [--quiet]

It listens on 127.0.0.1 only and prints "listening on 127.0.0.1:PORT" once it
accepts connections (with --port 0 the system picks the port).

POST /v1/chat/completions validates the request as the real API does
(upstream_validate.py) and answers from deterministic rules (upstream_brain.py),
streamed as chat.completion.chunk events or as one chat.completion object.
Test-only routes, on the same port and without a key:
    POST /_control/faults  a JSON list of faults for the next requests, in order
    GET  /_control/faults  the faults still queued
    GET  /_stats           counters: requests, in_flight, peak_in_flight, aborted, ...
    GET  /_requests        the last 50 request bodies with their status
    POST /_reset           clears faults, counters and the request log
See README.md beside this file for the fault kinds.
"""

import argparse
import json
import re
import secrets
import select
import socket
import string
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import upstream_brain
import upstream_control
from upstream_validate import ApiError, validate_request

BODY_MAX = 20 * 1024 * 1024
ARGUMENT_FRAGMENT_CHARS = 7
PADDING = " We look forward to welcoming you."
ID_ALPHABET = string.ascii_letters + string.digits
PARSE_ERROR = ("We could not parse the JSON body of your request. (HINT: This likely means you "
               "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
               "but what was sent was not valid JSON.)")


def random_id(prefix, length):
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def split_tokens(text):
    """Split text into word tokens, each with the spaces before it, so they join back exactly."""
    tokens = re.findall(r"\s*\S+", text)
    rest = text[sum(len(t) for t in tokens):]
    if rest and tokens:
        tokens[-1] += rest
    elif rest:
        tokens.append(rest)
    return tokens


def fit_tokens(tokens, count):
    """Pad with a fixed sentence or cut, to exactly count tokens."""
    padding = split_tokens(PADDING)
    out = list(tokens)
    while len(out) < count:
        out.extend(padding)
    return out[:count]


def count_words(text):
    return len(text.split())


def prompt_tokens(request):
    """Estimate the prompt's tokens as words: message text, tool call arguments and tool schemas."""
    total = 0
    for message in request["messages"]:
        total += 4 + count_words(upstream_brain.message_text(message))
        for call in message.get("tool_calls") or []:
            total += 1 + count_words(call["function"]["arguments"].replace('"', " "))
    if request.get("tools"):
        total += count_words(json.dumps(request["tools"]).replace('"', " "))
    return total


def argument_fragments(arguments):
    return [arguments[i:i + ARGUMENT_FRAGMENT_CHARS]
            for i in range(0, len(arguments), ARGUMENT_FRAGMENT_CHARS)] or [""]


def last_user_text(body):
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return ""
    for message in reversed(body["messages"]):
        if isinstance(message, dict) and message.get("role") == "user":
            return upstream_brain.message_text(message)
    return ""


class ClientGone(Exception):
    """The client closed the connection before the response ended."""


class Answer:
    """One completion: its text tokens or tool calls, finish reason and timing."""

    def __init__(self, request, tools, config, fault):
        self.request = request
        self.model = request["model"]
        self.id = random_id("chatcmpl-", 29)
        self.created = int(time.time())
        reply = upstream_brain.decide(request, tools)
        self.calls = [(random_id("call_", 24), name, json.dumps(args))
                      for name, args in reply.calls]
        self.tokens = [] if self.calls else split_tokens(reply.text or "")
        if not self.calls and config.tokens is not None:
            self.tokens = fit_tokens(self.tokens, config.tokens)
        self.finish_reason = "tool_calls" if self.calls else "stop"
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        if limit and len(self.tokens) > limit:
            self.tokens = self.tokens[:limit]
            self.finish_reason = "length"

        self.ttft = config.ttft_ms / 1000
        self.token_gap = config.token_ms / 1000
        if fault and fault["kind"] == "slow":
            seconds = fault.get("seconds")
            self.ttft = fault.get("ttft_ms", seconds * 1000 if seconds is not None else 3000) / 1000
            self.token_gap = fault.get("token_ms", seconds * 1000 if seconds is not None else 200) / 1000

    def completion_tokens(self):
        if self.calls:
            return sum(1 + len(argument_fragments(args)) for _, _, args in self.calls)
        return len(self.tokens)

    def usage(self):
        prompt = prompt_tokens(self.request)
        completion = self.completion_tokens()
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def chunk(self, delta, finish_reason=None, include_usage=False):
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                 "model": self.model, "system_fingerprint": "fp_upstream",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None,
                              "finish_reason": finish_reason}]}
        if include_usage:
            chunk["usage"] = None
        return chunk

    def usage_chunk(self):
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": "fp_upstream", "choices": [],
                "usage": self.usage()}

    def stream_steps(self):
        """Yield (delay in seconds, delta) for each content or tool-call chunk."""
        if self.calls:
            for index, (call_id, name, arguments) in enumerate(self.calls):
                yield (self.ttft if index == 0 else self.token_gap,
                       {"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                        "function": {"name": name, "arguments": ""}}]})
                for fragment in argument_fragments(arguments):
                    yield (self.token_gap,
                           {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
            return
        for i, token in enumerate(self.tokens):
            yield (self.ttft if i == 0 else self.token_gap, {"content": token})

    def completion(self):
        message = {"role": "assistant", "content": None if self.calls else "".join(self.tokens),
                   "refusal": None}
        if self.calls:
            message["tool_calls"] = [{"id": call_id, "type": "function",
                                      "function": {"name": name, "arguments": arguments}}
                                     for call_id, name, arguments in self.calls]
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "system_fingerprint": "fp_upstream",
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": self.finish_reason}],
                "usage": self.usage()}

    def duration(self):
        steps = list(self.stream_steps())
        return sum(delay for delay, _ in steps)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "maitred-test-upstream/1"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 300

    # ---- Plumbing ----

    def log_message(self, message_format, *args):
        if not self.server.config.quiet:
            sys.stderr.write("upstream: %s %s\n" % (self.address_string(), message_format % args))

    def send_json(self, status, body, headers=None):
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        self.wfile.write(data)

    def send_api_error(self, error):
        headers = dict(error.headers)
        headers.setdefault("x-request-id", random_id("req_", 32))
        self.send_json(error.status, error.body(), headers)

    def read_body(self):
        """Read the request body, plain or chunked. Raise ApiError when it cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked_body()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.isdigit():
            self.close_connection = True
            raise ApiError(400, f"Invalid Content-Length header {length!r}: expected a number of bytes.")
        if int(length) > BODY_MAX:
            self.close_connection = True
            raise ApiError(413, f"Request body of {length} bytes is over the {BODY_MAX}-byte limit.")
        return self.rfile.read(int(length))

    def read_chunked_body(self):
        body = b""
        while True:
            line = self.rfile.readline(64).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                raise ApiError(400, f"Invalid chunk size {line!r} in a chunked request body.")
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return body
            if len(body) + size > BODY_MAX:
                self.close_connection = True
                raise ApiError(413, f"Chunked request body is over the {BODY_MAX}-byte limit.")
            body += self.rfile.read(size)
            self.rfile.readline(8)

    def peer_closed(self):
        """Return True when the client has closed its end of the connection."""
        try:
            data = self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return data == b""

    def wait(self, seconds):
        """Sleep, but raise ClientGone as soon as the client closes the connection."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.connection], [], [], remaining)
            if not readable:
                return
            if self.peer_closed():
                raise ClientGone()
            # The client sent more bytes (a pipelined request): they cannot
            # show a close, so wait out the rest.
            time.sleep(max(0.0, deadline - time.monotonic()))
            return

    # ---- Routes ----

    def do_GET(self):
        control = self.server.control
        if self.path == "/_stats":
            self.send_json(200, control.stats())
        elif self.path == "/_requests":
            self.send_json(200, {"requests": control.recent_requests()})
        elif self.path == "/_control/faults":
            self.send_json(200, {"faults": control.pending_faults()})
        elif self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "system"}]})
        else:
            self.send_api_error(ApiError(404, f"Invalid URL (GET {self.path})"))

    def do_POST(self):
        if self.path == "/v1/chat/completions":
            self.handle_chat()
        elif self.path == "/_control/faults":
            self.handle_add_faults()
        elif self.path == "/_reset":
            self.read_body()
            self.server.control.reset()
            self.send_json(200, {"reset": True})
        else:
            self.read_body()
            self.send_api_error(ApiError(404, f"Invalid URL (POST {self.path})"))

    def do_PUT(self):
        self.reject_method()

    def do_DELETE(self):
        self.reject_method()

    def do_PATCH(self):
        self.reject_method()

    def reject_method(self):
        self.read_body()
        self.send_api_error(ApiError(405, f"Invalid method for URL ({self.command} {self.path})",
                                     headers={"Allow": "GET, POST"}))

    def handle_add_faults(self):
        try:
            faults = upstream_control.parse_faults(json.loads(self.read_body() or b"null"))
        except ValueError as error:
            self.send_json(400, {"error": {"message": f"Invalid fault list: {error}",
                                           "type": "invalid_request_error", "param": None,
                                           "code": None}})
            return
        queued = self.server.control.add_faults(faults)
        self.send_json(200, {"queued": queued})

    # ---- Chat completions ----

    def handle_chat(self):
        control = self.server.control
        entry = {"time": time.time(), "path": self.path, "status": None, "body": None}
        control.begin_request()
        outcome = "failed"
        try:
            outcome = self.serve_chat(entry)
        except ClientGone:
            outcome = "aborted"
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            outcome = "aborted"
            self.close_connection = True
        finally:
            entry["outcome"] = outcome
            control.end_request(outcome)

    def check_request(self, entry):
        """Read, authenticate and validate the request. Return (body, tool names)."""
        raw = self.read_body()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
            parse_failed = True
        else:
            parse_failed = False
        entry["body"] = body
        self.server.control.log_request(entry)

        self.check_api_key()
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise ApiError(400, f"Invalid Content-Type header {content_type!r}: send the body as "
                                "JSON with 'Content-Type: application/json'.")
        if parse_failed:
            raise ApiError(400, PARSE_ERROR)
        return body, validate_request(body)

    def check_api_key(self):
        authorization = self.headers.get("Authorization")
        if not authorization:
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key "
                                "in an Authorization header using Bearer auth (i.e. "
                                "Authorization: Bearer YOUR_KEY).", code="invalid_api_key")
        scheme, _, key = authorization.partition(" ")
        if scheme != "Bearer" or key.strip() != self.server.config.api_key:
            given = key.strip()
            masked = "***"
            if len(given) > 7:
                masked = given[:3] + "*" * (len(given) - 7) + given[-4:]
            raise ApiError(401, f"Incorrect API key provided: {masked}. Use the key this test "
                                "server was started with (--api-key).", code="invalid_api_key")

    def serve_chat(self, entry):
        """Answer one chat completions request. Return the outcome for the counters."""
        try:
            body, tools = self.check_request(entry)
        except ApiError as error:
            entry["status"] = error.status
            self.send_api_error(error)
            return "rejected" if error.status < 500 else "failed"

        fault = self.server.control.take_fault(last_user_text(body))
        entry["fault"] = fault["kind"] if fault else None
        if fault and fault["kind"] in ("429", "500", "503"):
            error = fault_error(fault, body["model"])
            entry["status"] = error.status
            self.send_api_error(error)
            return "rejected" if error.status < 500 else "failed"
        if fault and fault["kind"] == "stall_before":
            self.wait(fault["seconds"])

        answer = Answer(body, tools, self.server.config, fault)
        entry["status"] = 200
        if body.get("stream"):
            return self.stream_answer(answer, body, fault)
        return self.send_completion(answer, fault)

    def send_completion(self, answer, fault):
        kind = fault["kind"] if fault else None
        self.wait(answer.duration() + (fault.get("seconds", 0) if kind == "stall_mid" else 0))
        if kind == "disconnect":
            self.drop_connection()
            return "failed"
        if kind == "error_mid":
            self.send_api_error(fault_error({"kind": "500"}, answer.model))
            return "failed"
        data = json.dumps(answer.completion(), ensure_ascii=False).encode()
        if kind == "malformed":
            data = data[:len(data) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_rate_limit_headers()
        self.end_headers()
        self.wfile.write(data)
        return "failed" if kind == "malformed" else "completed"

    def send_rate_limit_headers(self):
        self.send_header("x-request-id", random_id("req_", 32))
        self.send_header("x-ratelimit-limit-requests", "500")
        self.send_header("x-ratelimit-remaining-requests", "499")
        self.send_header("x-ratelimit-reset-requests", "120ms")

    def write_chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_event(self, payload):
        self.write_chunk("data: " + json.dumps(payload, separators=(",", ":"), ensure_ascii=False) + "\n\n")

    def drop_connection(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def stream_answer(self, answer, body, fault):
        """Stream the answer as SSE in HTTP chunks. Return the outcome for the counters."""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        kind = fault["kind"] if fault else None
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_rate_limit_headers()
        self.end_headers()

        role = {"role": "assistant", "content": None if answer.calls else "", "refusal": None}
        self.send_event(answer.chunk(role, include_usage=include_usage))
        steps = list(answer.stream_steps())
        fault_at = min(len(steps), max(1, len(steps) // 2))
        for number, (delay, delta) in enumerate(steps):
            self.wait(delay)
            self.send_event(answer.chunk(delta, include_usage=include_usage))
            if number + 1 == fault_at and kind:
                outcome = self.break_stream(kind, fault)
                if outcome:
                    return outcome

        self.send_event(answer.chunk({}, answer.finish_reason, include_usage=include_usage))
        if include_usage:
            self.send_event(answer.usage_chunk())
        self.write_chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return "completed"

    def break_stream(self, kind, fault):
        """Apply a mid-stream fault. Return the outcome when it ends the stream, else None."""
        if kind == "stall_mid":
            self.wait(fault["seconds"])
            return None
        if kind == "disconnect":
            self.drop_connection()
            return "failed"
        if kind == "malformed":
            self.write_chunk('data: {"id": "chatcmpl-broken", "choices": [{"index": 0, "delta": {"content": "\n\n')
        elif kind == "error_mid":
            self.send_event(fault_error({"kind": "500"}, "").body())
        else:
            return None
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return "failed"


def fault_error(fault, model):
    """Return the ApiError that a 429, 500 or 503 fault answers with."""
    kind = fault["kind"]
    retry_after = fault.get("retry_after", 1)
    if kind == "429":
        return ApiError(429, f"Rate limit reached for {model} in organization org-test-upstream on "
                             f"requests per min (RPM): Limit 500, Used 500, Requested 1. Please try "
                             f"again in {retry_after}s.",
                        error_type="requests", code="rate_limit_exceeded",
                        headers={"Retry-After": retry_after,
                                 "x-ratelimit-limit-requests": 500,
                                 "x-ratelimit-remaining-requests": 0,
                                 "x-ratelimit-reset-requests": f"{retry_after}s"})
    if kind == "503":
        headers = {"Retry-After": retry_after} if "retry_after" in fault else {}
        return ApiError(503, "The engine is currently overloaded, please try again later.",
                        error_type="server_error", code="server_overloaded", headers=headers)
    return ApiError(500, "The server had an error while processing your request. Sorry about that!",
                    error_type="server_error")


class UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Enough backlog for hundreds of clients connecting at once.
    request_queue_size = 1024

    def __init__(self, address, config):
        self.config = config
        self.control = upstream_control.Control()
        super().__init__(address, Handler)


def parse_args(argv):
    parser = argparse.ArgumentParser(description="A strict OpenAI-compatible chat completions "
                                                 "server for tests, on 127.0.0.1.")
    parser.add_argument("--port", type=int, required=True,
                        help="TCP port on 127.0.0.1; 0 picks a free one and prints it")
    parser.add_argument("--ttft-ms", type=float, default=300,
                        help="milliseconds before the first content chunk (default 300)")
    parser.add_argument("--token-ms", type=float, default=20,
                        help="milliseconds between later chunks (default 20)")
    parser.add_argument("--tokens", type=int, default=None,
                        help="pad or cut every text answer to exactly this many tokens")
    parser.add_argument("--api-key", default="sk-test",
                        help="the only key accepted as 'Authorization: Bearer KEY' (default sk-test)")
    parser.add_argument("--quiet", action="store_true", help="log nothing per request")
    config = parser.parse_args(argv)
    if not 0 <= config.port <= 65535:
        parser.error(f"--port {config.port} is outside 0..65535")
    if config.ttft_ms < 0 or config.token_ms < 0:
        parser.error("--ttft-ms and --token-ms must be >= 0")
    if config.tokens is not None and config.tokens < 1:
        parser.error(f"--tokens {config.tokens} must be >= 1")
    return config


def main(argv=None):
    config = parse_args(argv)
    server = UpstreamServer(("127.0.0.1", config.port), config)
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
