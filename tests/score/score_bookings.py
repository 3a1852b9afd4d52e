"""Replay real guests' booking conversations against maitred and score them.

Starts a private PostgreSQL and Redis (deploy/dev/services.sh, under
data/score), then maitred with the wall clock frozen at the conversations'
"now" in the restaurant's time zone (libfaketime), and replays each
conversation over POST /v1/chat (tests/score/bookings_replay.py):

  offline  the rule-based agent (no OPENAI_API_KEY); reports how often the
           booking holds the party size, date and time each guest said
  model    the model path against the test upstream (tests/upstream), with a
           closing turn that states the booking in YYYY-MM-DD and HH:MM form;
           a plumbing check, not an accuracy figure

Run it with `make score-bookings`, or directly:
  /usr/bin/python3 tests/score/score_bookings.py --agent offline --every 23
SGD_FILE overrides where the conversations file is read from.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from bookings_data import DataError, find_data_file, read_conversations, sample  # noqa: E402
from bookings_replay import ReplayError, faketime_env, replay_all  # noqa: E402
from bookings_report import format_report, tally  # noqa: E402
from harness import Maitred, Upstream, fresh_database  # noqa: E402

DATABASE = "maitred_score"
WORKER_EXIT_SECONDS = 5   # time workers get to exit after their master


def parse_args(argv):
    p = argparse.ArgumentParser(description="Replay the SGD booking conversations against "
                                "maitred and report how well the bookings match.")
    p.add_argument("--agent", choices=("offline", "model", "both"), default="both",
                   help="which agent to replay against (default: both)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="offline: replay every N-th conversation (default: 1, all)")
    p.add_argument("--limit", type=int, default=0, metavar="N",
                   help="offline: replay at most N conversations (default: 0, no limit)")
    p.add_argument("--model-every", type=int, default=23, metavar="N",
                   help="model: replay every N-th conversation (default: 23)")
    p.add_argument("--model-limit", type=int, default=50, metavar="N",
                   help="model: replay at most N conversations (default: 50)")
    p.add_argument("--concurrency", type=int, default=8, metavar="N",
                   help="conversations replayed at once (default: 8)")
    p.add_argument("--time-limit", type=float, default=3600, metavar="SECONDS",
                   help="stop starting conversations after this many seconds of one "
                   "agent's run (default: 3600)")
    p.add_argument("--dir", default=os.path.join(TOP, "data", "score"),
                   help="folder of the private PostgreSQL and Redis (default: data/score)")
    p.add_argument("--pg-port", type=int, default=27432, help="PostgreSQL port (default: 27432)")
    p.add_argument("--redis-port", type=int, default=27379, help="Redis port (default: 27379)")
    p.add_argument("--id", action="append", default=[], metavar="DIALOGUE_ID",
                   help="replay only this conversation (repeatable); overrides the sampling")
    p.add_argument("--transcripts", action="store_true",
                   help="print every turn of each failed conversation")
    p.add_argument("--json", metavar="FILE", help="also write the figures and every "
                   "conversation's outcome and turns to FILE")
    args = p.parse_args(argv)
    for name in ("every", "model_every", "concurrency"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.limit < 0 or args.model_limit < 0 or args.time_limit <= 0:
        p.error("--limit and --model-limit must be >= 0 and --time-limit > 0")
    return args


def start_services(args):
    """Start PostgreSQL and Redis, and point the integration harness
    (tests/integration/harness.py) at them through its MAITRED_TEST_* variables."""
    subprocess.run(["sh", os.path.join(TOP, "deploy", "dev", "services.sh"), "start", args.dir,
                    str(args.pg_port), str(args.redis_port)], check=True, stdout=subprocess.DEVNULL)
    os.environ["MAITRED_TEST_PG_URL"] = f"postgresql://postgres@127.0.0.1:{args.pg_port}"
    os.environ["MAITRED_TEST_REDIS_URL"] = f"redis://127.0.0.1:{args.redis_port}"
    os.environ["MAITRED_TEST_REDIS_PORT"] = str(args.redis_port)


def stop_services(args):
    subprocess.run(["sh", os.path.join(TOP, "deploy", "dev", "services.sh"), "stop", args.dir],
                   check=False)


def maitred_env(now, agent, upstream):
    env = faketime_env(now)
    env.update({"CHAT_RATE_LIMIT": "0", "LOOKUP_RATE_LIMIT": "0", "ACCESS_LOG": "0"})
    if agent == "model":
        env.update({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url})
    return env


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"maitred" in f.read()
    except OSError:
        return False


def stop_maitred(maitred):
    """Stop maitred; return False when a worker outlived its master (then
    killed here, so no stray process keeps the ports or the database)."""
    try:
        workers = maitred.worker_pids()
    except (OSError, ValueError, KeyError):
        workers = []
    maitred.stop()

    deadline = time.monotonic() + WORKER_EXIT_SECONDS
    while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if process_alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    if left:
        print(f"score-bookings: maitred worker(s) {left} still ran {WORKER_EXIT_SECONDS} s "
              f"after the master stopped, killed; see {maitred.log_path}", file=sys.stderr)
    return not left


def run_agent(agent, rows, args, upstream):
    """Replay rows against a fresh maitred per distinct "now"; return
    (outcomes, True when every conversation ran and maitred stopped cleanly)."""
    outcomes, complete = [], True
    deadline = time.monotonic() + args.time_limit
    for now in sorted({row["now"] for row in rows}):
        group = [row for row in rows if row["now"] == now]
        database_url = fresh_database(DATABASE)
        maitred = Maitred(database_url, maitred_env(now, agent, upstream), name=f"score-{agent}")
        started = time.monotonic()

        def progress(done, total=len(group)):
            if done % 100 == 0 or done == total:
                print(f"  {agent}: {done} / {total} conversations, "
                      f"{time.monotonic() - started:.0f} s", file=sys.stderr)

        try:
            done, all_ran = replay_all(maitred.url, group, agent, args.concurrency, deadline,
                                       progress)
        finally:
            if not stop_maitred(maitred):
                complete = False
        outcomes += done
        if not all_ran:
            print(f"{agent}: time limit of {args.time_limit:.0f} s reached after "
                  f"{len(done)} of {len(group)} conversations; see {maitred.log_path}",
                  file=sys.stderr)
            complete = False
            break
    return outcomes, complete


def main(argv=None):
    args = parse_args(argv)
    try:
        path = find_data_file(TOP)
        rows = read_conversations(path)
    except DataError as e:
        print(f"score-bookings: {e}", file=sys.stderr)
        return 2

    if args.id:
        rows = [row for row in rows if row["dialogue_id"] in args.id]
        if not rows:
            print(f"score-bookings: no conversation with id {', '.join(args.id)} in {path}",
                  file=sys.stderr)
            return 2
        args.every = args.model_every = 1
        args.limit = args.model_limit = 0

    plans = []
    if args.agent in ("offline", "both"):
        plans.append(("offline", sample(rows, args.every, args.limit or None)))
    if args.agent in ("model", "both"):
        plans.append(("model", sample(rows, args.model_every, args.model_limit or None)))

    start_services(args)
    upstream = Upstream("--ttft-ms", "0", "--token-ms", "0") if args.agent != "offline" else None
    results, status = {}, 0
    try:
        for agent, picked in plans:
            print(f"{agent}: replaying {len(picked)} conversations from {path}", file=sys.stderr)
            outcomes, complete = run_agent(agent, picked, args, upstream)
            results[agent] = outcomes
            print(format_report(agent, outcomes, args.transcripts))
            if not complete:
                status = 1
    except (ReplayError, RuntimeError, subprocess.CalledProcessError) as e:
        print(f"score-bookings: {e}", file=sys.stderr)
        status = 1
    finally:
        if upstream:
            upstream.stop()
        stop_services(args)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({agent: {"summary": tally(o).to_json(),
                               "conversations": [x.to_json() for x in o]}
                       for agent, o in results.items()}, f, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
