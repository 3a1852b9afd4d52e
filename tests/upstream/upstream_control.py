"""The test upstream's shared state: injected faults, counters and recent requests.

One lock guards everything, so counters such as peak_in_flight stay exact
when hundreds of handler threads update them at once.
"""

import collections
import threading
import time

FAULT_KINDS = ("429", "500", "503", "stall_before", "stall_mid", "malformed",
               "disconnect", "error_mid", "slow")
FAULT_KEYS = {"kind", "retry_after", "seconds", "count", "match", "ttft_ms", "token_ms"}
DEFAULT_SECONDS = {"stall_before": 5.0, "stall_mid": 5.0}
REQUEST_LOG_SIZE = 50
ARRIVALS_KEPT = 10000   # arrival times, for checks over any sliding minute
ABORT_LOG_SIZE = 50
MINUTES_KEPT = 60


class FaultError(ValueError):
    """A fault list that cannot be queued; the message names the entry and the fix."""


def check_number(fault, where, key, minimum):
    value = fault.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise FaultError(f"{where}.{key} must be a number >= {minimum}, got {value!r}")


def parse_fault(fault, where):
    """Check one fault object and return it with its defaults filled in."""
    if not isinstance(fault, dict):
        raise FaultError(f"{where} must be an object like {{\"kind\": \"429\"}}")
    unknown = sorted(set(fault) - FAULT_KEYS)
    if unknown:
        raise FaultError(f"{where} has the unknown key {unknown[0]!r}; "
                         f"known keys: {', '.join(sorted(FAULT_KEYS))}")
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultError(f"{where}.kind is {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    count = fault.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise FaultError(f"{where}.count must be an integer >= 1, got {count!r}")
    for key in ("retry_after", "seconds", "ttft_ms", "token_ms"):
        check_number(fault, where, key, 0)
    if "match" in fault and not isinstance(fault["match"], str):
        raise FaultError(f"{where}.match must be a string, got {fault['match']!r}")

    parsed = dict(fault)
    parsed["count"] = count
    parsed.setdefault("retry_after", 1)
    if kind in DEFAULT_SECONDS:
        parsed.setdefault("seconds", DEFAULT_SECONDS[kind])
    return parsed


def parse_faults(value):
    """Check a fault list from POST /_control/faults. Raise FaultError when invalid."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise FaultError("the body must be a JSON list of faults, like [{\"kind\": \"429\", \"count\": 2}]")
    return [parse_fault(f, f"faults[{i}]") for i, f in enumerate(value)]


class Control:
    """Faults to inject and statistics, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.faults = []
            self.requests = 0
            self.in_flight = getattr(self, "in_flight", 0)
            self.peak_in_flight = self.in_flight
            self.completed = 0
            self.rejected = 0
            self.failed = 0
            self.aborted = 0
            self.faults_applied = collections.Counter()
            self.last_aborts = collections.deque(maxlen=ABORT_LOG_SIZE)
            self.by_minute = collections.OrderedDict()
            self.request_log = collections.deque(maxlen=REQUEST_LOG_SIZE)
            self.arrivals = collections.deque(maxlen=ARRIVALS_KEPT)
            self.started_at = time.time()

    def add_faults(self, faults):
        with self.lock:
            self.faults.extend(faults)
            return len(self.faults)

    def pending_faults(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def take_fault(self, last_user_text):
        """Return the first queued fault that applies to this request, using up one of its count."""
        with self.lock:
            for i, fault in enumerate(self.faults):
                if "match" in fault and fault["match"] not in last_user_text:
                    continue
                fault["count"] -= 1
                if fault["count"] == 0:
                    del self.faults[i]
                self.faults_applied[fault["kind"]] += 1
                return dict(fault)
            return None

    def begin_request(self):
        now = time.time()
        minute = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now))
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.by_minute[minute] = self.by_minute.get(minute, 0) + 1
            self.arrivals.append(now)
            while len(self.by_minute) > MINUTES_KEPT:
                self.by_minute.popitem(last=False)

    def end_request(self, outcome):
        """Count a finished request: completed, rejected (4xx), failed (5xx or a broken stream) or aborted."""
        with self.lock:
            self.in_flight -= 1
            if outcome == "aborted":
                self.aborted += 1
                self.last_aborts.append(time.time())
            elif outcome == "rejected":
                self.rejected += 1
            elif outcome == "failed":
                self.failed += 1
            else:
                self.completed += 1

    def log_request(self, entry):
        """Keep entry (a dict the caller may still update) among the last requests."""
        with self.lock:
            self.request_log.append(entry)

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "completed": self.completed,
                "rejected": self.rejected,
                "failed": self.failed,
                "aborted": self.aborted,
                "last_aborts": list(self.last_aborts),
                "requests_by_minute": dict(self.by_minute),
                "arrivals": list(self.arrivals),
                "faults_applied": dict(self.faults_applied),
                "faults_pending": len(self.faults),
                "started_at": self.started_at,
            }

    def recent_requests(self):
        with self.lock:
            return [dict(e) for e in self.request_log]
