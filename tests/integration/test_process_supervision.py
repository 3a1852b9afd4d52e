"""The master replaces workers that die or hang, and gives back their agent slots.

The tests kill or stop worker processes of a live maitred under chat load and
check the region (through /stats) and the master's log lines afterwards.
"""
import http.client
import os
import random
import signal
import threading
import time

import pytest

from harness import Upstream, request
from test_process_clients import (REALISTIC_UPSTREAM, ChatLoad, read_stats, run_turns, stream_turn,
                                  summarize, wait_for, worker_exits)


@pytest.fixture
def realistic_upstream():
    up = Upstream(*REALISTIC_UPSTREAM)
    yield up
    up.stop()


def online_env(upstream, **settings):
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url}
    env.update({name: str(value) for name, value in settings.items()})
    return env


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def settled(m, workers):
    """Returns /stats once every worker is ready and alive and no run is left, else None."""
    stats = read_stats(m)
    ready = [w for w in stats["workers"] if w["state"] == "ready" and pid_alive(w["pid"])]
    if len(ready) == workers and stats["instance"]["slots_in_use"] == 0 and stats["instance"]["waiters"] == 0:
        return stats
    return None


def test_killed_worker_is_replaced(start_maitred, realistic_upstream):
    m = start_maitred(online_env(realistic_upstream, WORKERS=2))
    results = []
    sender = threading.Thread(target=lambda: results.extend(run_turns(m.url, 12, timeout=60)), daemon=True)
    sender.start()

    def streaming_run():
        runs = [r for r in read_stats(m)["runs"] if r["state"] == "streaming"]
        return runs[0] if runs else None

    run = wait_for(streaming_run, 10, interval=0.02)
    assert run is not None
    victim, index = run["pid"], run["worker"]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    def replacement():
        worker = read_stats(m)["workers"][index]
        return worker if worker["pid"] != victim and worker["state"] == "ready" else None

    new_worker = wait_for(replacement, 5, interval=0.02)
    assert new_worker is not None
    ready_after = time.monotonic() - killed_at

    # Any request the new process serves, /stats included, counts under its index.
    def served():
        request(m.url, "GET", "/healthz", timeout=2)
        return read_stats(m)["workers"][index]["requests"] > new_worker["requests"]

    assert wait_for(served, 5, interval=0.01)
    serving_after = time.monotonic() - killed_at
    sender.join(90)
    stats = wait_for(lambda: settled(m, 2), 10)
    exits = [e for e in worker_exits(m.log_text()) if e[1] == victim]
    print(f"killed worker {index} pid {victim}: replacement pid {new_worker['pid']} ready after "
          f"{ready_after * 1000:.0f} ms, serving after {serving_after * 1000:.0f} ms; "
          f"turns {summarize(results)}; exit lines {exits}")

    assert serving_after < 2.0
    assert len(results) == 12
    assert stats is not None
    assert stats["workers"][index]["restarts"] == 1
    assert len(exits) == 1
    assert exits[0][2] == "killed by signal 9 (Killed)"
    cut = [t for t in results if t.outcome() != "done"]
    assert all(t.outcome().startswith("cut") for t in cut)
    assert len(cut) < 12


def test_100_kills_under_load(start_maitred, realistic_upstream):
    m = start_maitred(online_env(realistic_upstream))
    load = ChatLoad(m.url, threads=24)
    rng = random.Random(7)
    killed = []
    started = time.monotonic()
    while len(killed) < 100 and time.monotonic() - started < 75:
        time.sleep(rng.uniform(0.2, 0.5))
        # A killed worker shows as ready until the master reaps it: kill each pid once.
        ready = [w for w in read_stats(m)["workers"] if w["state"] == "ready" and w["pid"] not in killed]
        if not ready:
            continue
        victim = rng.choice(ready)["pid"]
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(victim)
    chaos_seconds = time.monotonic() - started
    turns = load.stop()

    settle_started = time.monotonic()
    stats = wait_for(lambda: settled(m, 4), 15)
    print(f"settled after {time.monotonic() - settle_started:.2f} s")
    if stats is None:
        print("not settled:", read_stats(m))
    after = stream_turn(m.url)
    exits = worker_exits(m.log_text())
    lines_per_pid = {pid: sum(1 for e in exits if e[1] == pid) for pid in killed}
    print(f"{len(killed)} kills in {chaos_seconds:.1f} s; {len(turns)} turns {summarize(turns)}; "
          f"{len(exits)} exit lines; restarts {[w['restarts'] for w in (stats or {}).get('workers', [])]}")

    assert len(killed) == 100
    assert stats is not None
    assert sum(w["restarts"] for w in stats["workers"]) == 100
    assert len(exits) == 100
    assert set(lines_per_pid.values()) == {1}
    assert all(e[2] == "killed by signal 9 (Killed)" for e in exits)
    assert summarize(turns).get("done", 0) > 0
    assert after.outcome() == "done"
    assert m.stop() == 0


def test_stopped_worker_is_replaced(start_maitred, realistic_upstream):
    m = start_maitred(online_env(realistic_upstream, WORKER_TIMEOUT=3))
    index = 1
    victim = read_stats(m)["workers"][index]["pid"]
    os.kill(victim, signal.SIGSTOP)
    stopped_at = time.monotonic()

    def replacement():
        # The stopped worker may have accepted this very connection: it
        # hangs until the master kills it, then resets. Ask again.
        try:
            worker = read_stats(m, timeout=2)["workers"][index]
        except (OSError, http.client.HTTPException):
            return None
        return worker if worker["pid"] != victim and worker["state"] == "ready" else None

    new_worker = wait_for(replacement, 8, interval=0.05)
    replaced_after = time.monotonic() - stopped_at
    log = m.log_text()
    exits = [e for e in worker_exits(log) if e[1] == victim]
    print(f"worker {index} pid {victim} stopped: replaced by "
          f"{new_worker and new_worker['pid']} after {replaced_after:.2f} s; exit lines {exits}")

    assert new_worker is not None
    assert replaced_after < 3 + 1
    assert f"worker_hung: worker {index} pid {victim} has not beaten" in log
    assert len(exits) == 1
    assert exits[0][2] == "killed by signal 9 (Killed)"
    assert stream_turn(m.url).outcome() == "done"


def pid_running(pid):
    """True while pid exists and is not a zombie waiting for its parent."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_exit_when_master_dies(start_maitred):
    m = start_maitred({"WORKERS": "2"})
    workers = m.worker_pids()
    m.proc.kill()
    m.proc.wait(10)
    killed_at = time.monotonic()
    try:
        gone = wait_for(lambda: not any(pid_running(pid) for pid in workers), 10)
        seconds = time.monotonic() - killed_at
        print(f"master killed: workers {workers} {'gone' if gone else 'still running'} after {seconds:.2f} s")
    finally:
        for pid in workers:
            if pid_running(pid):
                os.kill(pid, signal.SIGKILL)

    assert gone
    assert seconds < 5
