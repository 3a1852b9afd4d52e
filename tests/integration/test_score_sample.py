"""Replay a sample of real guests' table bookings against maitred.

The conversations come from the Schema-Guided Dialogue data set
(shared/data/sgd-restaurant-bookings-train.jsonl beside the repository, or
SGD_FILE). maitred runs with its wall clock frozen at the conversations'
"now" (libfaketime), and tests/score/bookings_replay.py plays each guest.
`make score-bookings` runs the whole file; this test runs every 23rd
conversation so that a regression in the offline agent fails the build.
"""
import os
import sys
import time

import pytest

from harness import TOP, fresh_database

sys.path.insert(0, os.path.join(TOP, "tests", "score"))

from bookings_data import DataError, find_data_file, read_conversations, sample  # noqa: E402
from bookings_replay import faketime_env, replay_all  # noqa: E402
from bookings_report import format_report, tally  # noqa: E402

EVERY = 23
SAMPLE_SIZE = 50
MODEL_SAMPLE_SIZE = 10
TIME_LIMIT = 300   # seconds for one sample's replay
# Conversations whose every said detail was booked right, in percent. The
# floor sits just under the figure measured on this sample (docs/benchmarks.md).
ALL_SAID_FLOOR = 96.0


@pytest.fixture(scope="module")
def conversations():
    try:
        rows = read_conversations(find_data_file(TOP))
    except DataError as e:
        pytest.skip(f"booking conversations not available: {e}")
    return sample(rows, EVERY)


def clock_env(rows):
    moments = {row["now"] for row in rows}
    assert len(moments) == 1, f"the sample mixes several 'now' values: {sorted(moments)}"
    env = faketime_env(moments.pop())
    env.update({"LOOKUP_RATE_LIMIT": "0", "ACCESS_LOG": "0"})
    return env


def test_offline_sample_above_floor(start_maitred, conversations):
    rows = conversations[:SAMPLE_SIZE]
    maitred = start_maitred(clock_env(rows), database=fresh_database("maitred_score_offline"),
                            name="score-offline")

    outcomes, complete = replay_all(maitred.url, rows, "offline",
                                    deadline=time.monotonic() + TIME_LIMIT)
    report = format_report("offline", outcomes)
    t = tally(outcomes)

    all_said_percent = t.percent(t.all_said_right, t.conversations)

    assert complete, f"time limit reached after {len(outcomes)} conversations\n{report}"
    assert all_said_percent >= ALL_SAID_FLOOR, report
    assert t.cancel_errors == 0, report


def test_model_sample_books_as_told(start_maitred, upstream, conversations):
    rows = conversations[:MODEL_SAMPLE_SIZE]
    upstream.reset()
    env = clock_env(rows)
    env.update({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url})
    maitred = start_maitred(env, database=fresh_database("maitred_score_model"),
                            name="score-model")

    outcomes, complete = replay_all(maitred.url, rows, "model",
                                    deadline=time.monotonic() + TIME_LIMIT)
    report = format_report("model", outcomes)
    t = tally(outcomes)

    assert complete, f"time limit reached after {len(outcomes)} conversations\n{report}"
    assert t.booked_as_expected == len(rows), report
    assert t.cancel_errors == 0, report
