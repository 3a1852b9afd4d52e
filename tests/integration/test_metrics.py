"""GET /metrics on the admin listener, and `maitred stats` against a live instance.

One instance serves a few turns first (one with a tool call, one that the
model server rejects once with 429, one 404), so that every series an
operator needs has a value to check.
"""
import json
import os
import signal
import subprocess

import pytest

from harness import BINARY, TOP, Maitred, request
from test_process_clients import read_stats, stream_turn, wait_for

# Metric name: type. Operators alarm on these (see docs/operations.md).
REQUIRED = {
    "maitred_http_requests_total": "counter",
    "maitred_connections": "gauge",
    "maitred_connections_limit": "gauge",
    "maitred_active_streams": "gauge",
    "maitred_agent_slots_in_use": "gauge",
    "maitred_agent_slots_limit": "gauge",
    "maitred_agent_queue_waiting": "gauge",
    "maitred_agent_queue_limit": "gauge",
    "maitred_queue_wait_seconds": "histogram",
    "maitred_time_to_first_token_seconds": "histogram",
    "maitred_turn_duration_seconds": "histogram",
    "maitred_model_call_duration_seconds": "histogram",
    "maitred_request_duration_seconds": "histogram",
    "maitred_model_calls_total": "counter",
    "maitred_model_errors_total": "counter",
    "maitred_model_tokens_in_total": "counter",
    "maitred_model_tokens_out_total": "counter",
    "maitred_model_quota_waits_total": "counter",
    "maitred_tool_calls_total": "counter",
    "maitred_tool_failures_total": "counter",
    "maitred_turns_total": "counter",
    "maitred_worker_restarts_total": "counter",
    "maitred_workers_ready": "gauge",
    "maitred_resident_memory_bytes": "gauge",
}


def parse_metrics(text):
    """Returns ({name: type}, [(name, {label: value}, value)]) from the text format."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            name, _, labels = series.partition("{")
            pairs = [p.split("=", 1) for p in labels.rstrip("}").split(",") if p]
            samples.append((name, {k: v.strip('"') for k, v in pairs}, float(value)))
    return types, samples


def values(samples, name, **labels):
    return [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]


@pytest.fixture(scope="module")
def served(database_url, upstream):
    """One online instance after a tool turn, a greeting, a turn that met a 429, and a 404."""
    upstream.reset()
    m = Maitred(database_url, {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url},
                name="metrics")
    upstream.faults([{"kind": "429", "retry_after": 1, "count": 1, "match": "busy evening"}])
    turns = [stream_turn(m.url, "Do you have vegan starters?"), stream_turn(m.url, "Hello"),
             stream_turn(m.url, "Hello on a busy evening")]
    assert [t.outcome() for t in turns] == ["done", "done", "done"]
    assert request(m.url, "GET", "/no-such-page")[0] == 404
    yield m
    m.stop()


def test_promtool_accepts_metrics(served):
    text = served.metrics()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                           timeout=30)
    print(f"promtool check metrics on {len(text.splitlines())} lines: exit {check.returncode}, "
          f"output {check.stdout + check.stderr!r}")

    assert check.returncode == 0
    assert check.stdout + check.stderr == ""


def test_operator_metrics_exist(served):
    types, _ = parse_metrics(served.metrics())

    assert {name: types.get(name) for name in REQUIRED} == REQUIRED


def test_metrics_count_the_turns(served):
    _, samples = parse_metrics(served.metrics())
    model_calls = sum(values(samples, "maitred_model_calls_total"))
    print(f"model calls {model_calls}, tokens in {sum(values(samples, 'maitred_model_tokens_in_total'))}, "
          f"out {sum(values(samples, 'maitred_model_tokens_out_total'))}, "
          f"tool calls {sum(values(samples, 'maitred_tool_calls_total'))}")

    assert sum(values(samples, "maitred_http_requests_total", route="chat", status="2xx")) == 3
    assert sum(values(samples, "maitred_http_requests_total", route="other", status="4xx")) == 1
    # The tool turn calls the model twice, the greeting once, the 429 turn twice.
    assert model_calls == 5
    assert sum(values(samples, "maitred_model_errors_total", kind="rate_limited")) == 1
    for kind in ("rate_limited", "timeout", "server", "bad_response", "connection"):
        assert len(values(samples, "maitred_model_errors_total", kind=kind)) == 4, kind
    assert sum(values(samples, "maitred_model_tokens_in_total")) > 0
    assert sum(values(samples, "maitred_model_tokens_out_total")) > 0
    assert sum(values(samples, "maitred_tool_calls_total")) == 1
    assert sum(values(samples, "maitred_tool_failures_total")) == 0
    assert sum(values(samples, "maitred_turns_total", outcome="done")) == 3
    assert sum(values(samples, "maitred_turn_duration_seconds_count")) == 3
    assert sum(values(samples, "maitred_time_to_first_token_seconds_count")) == 3
    assert sum(values(samples, "maitred_queue_wait_seconds_count")) == 3
    assert sum(values(samples, "maitred_model_call_duration_seconds_count")) == model_calls
    assert values(samples, "maitred_agent_slots_limit") == [20]
    assert values(samples, "maitred_agent_slots_in_use") == [0]
    assert values(samples, "maitred_agent_queue_waiting") == [0]
    assert values(samples, "maitred_connections_limit") == [10000]
    assert values(samples, "maitred_workers_ready") == [4]
    assert min(values(samples, "maitred_resident_memory_bytes")) > 1 << 20


def test_histogram_buckets_match_count(served):
    _, samples = parse_metrics(served.metrics())
    for name in [n for n, kind in REQUIRED.items() if kind == "histogram"]:
        for worker in range(4):
            buckets = [(float(l["le"]), v) for n, l, v in samples
                       if n == name + "_bucket" and l["worker"] == str(worker)]
            counts = [v for _, v in sorted(buckets)]
            assert counts == sorted(counts), (name, worker)
            assert counts[-1] == values(samples, name + "_count", worker=str(worker))[0], (name, worker)


def test_restart_is_counted(start_maitred):
    m = start_maitred({"WORKERS": "2"})
    victim = read_stats(m)["workers"][1]["pid"]
    os.kill(victim, signal.SIGKILL)

    def replaced():
        worker = read_stats(m)["workers"][1]
        return worker["pid"] != victim and worker["state"] == "ready"

    assert wait_for(replaced, 5)
    _, samples = parse_metrics(m.metrics())

    assert values(samples, "maitred_worker_restarts_total", worker="0") == [0]
    assert values(samples, "maitred_worker_restarts_total", worker="1") == [1]
    assert values(samples, "maitred_workers_ready") == [2]


def run_stats_command(m, *args, shm_name=None):
    env = dict(m.env)
    if shm_name:
        env["SHM_NAME"] = shm_name
    return subprocess.run([BINARY, "stats", *args], env=env, capture_output=True, text=True, timeout=30)


def test_stats_command_prints_table(served):
    done = run_stats_command(served)
    lines = done.stdout.splitlines()
    print(done.stdout)

    assert done.returncode == 0
    assert lines[0].startswith("maitred 0.1.0  master pid ")
    assert "slots 0/20 in use  waiting 0/500" in lines[0]
    assert lines[1].split() == ["worker", "pid", "state", "restarts", "conns", "streams", "requests",
                                "errors", "rss_mb"]
    rows = [line.split() for line in lines[2:6]]
    assert [row[0] for row in rows] == ["0", "1", "2", "3"]
    assert [row[2] for row in rows] == ["ready"] * 4
    assert [int(row[1]) for row in rows] == served.worker_pids()


def test_stats_command_prints_json(served):
    done = run_stats_command(served, "--json")
    stats = json.loads(done.stdout)

    assert done.returncode == 0
    assert stats["instance"]["pid"] == served.proc.pid
    assert stats["instance"]["slot_limit"] == 20
    assert [w["state"] for w in stats["workers"]] == ["ready"] * 4
    assert stats["runs"] == []


def test_stats_command_repeats(served):
    done = run_stats_command(served, "--json", "--interval", "1", "--count", "2")
    reports = [json.loads(line) for line in done.stdout.splitlines()]

    assert done.returncode == 0
    assert len(reports) == 2


def test_stats_command_wrong_shm_name(served):
    done = run_stats_command(served, shm_name="/maitred-no-such-instance")
    print(done.stderr)

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("maitred stats: shm_open(/maitred-no-such-instance) failed: "
                                  "No such file or directory")
    assert "SHM_NAME" in done.stderr


def test_stats_command_bad_option(served):
    done = run_stats_command(served, "--interval", "0")

    assert done.returncode == 2
    assert "--interval takes a whole number from 1 to 86400, got 0" in done.stderr


def documented_alert_rules():
    """Returns the alerting rules in the yaml block of docs/operations.md."""
    with open(os.path.join(TOP, "docs", "operations.md")) as f:
        return f.read().split("```yaml\n", 1)[1].split("```", 1)[0]


def test_documented_alert_rules_are_valid(tmp_path):
    rules = tmp_path / "maitred.rules.yml"
    rules.write_text(documented_alert_rules())
    check = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True,
                           timeout=30)
    print(check.stdout + check.stderr)

    assert check.returncode == 0
    assert "SUCCESS: 13 rules found" in check.stdout


# Instance a is near its limits and instance b is not; the alerts must name a only.
RULE_TESTS = """
rule_files: [maitred.rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - {series: 'maitred_active_streams{instance="a",job="m",worker="0"}', values: '300x10'}
      - {series: 'maitred_active_streams{instance="a",job="m",worker="1"}', values: '150x10'}
      - {series: 'maitred_active_streams{instance="b",job="m",worker="0"}', values: '10x10'}
      - {series: 'maitred_agent_slots_limit{instance="a",job="m"}', values: '20x10'}
      - {series: 'maitred_agent_slots_limit{instance="b",job="m"}', values: '20x10'}
      - {series: 'maitred_agent_queue_limit{instance="a",job="m"}', values: '500x10'}
      - {series: 'maitred_agent_queue_limit{instance="b",job="m"}', values: '500x10'}
      - {series: 'maitred_agent_slots_in_use{instance="a",job="m"}', values: '20x10'}
      - {series: 'maitred_agent_slots_in_use{instance="b",job="m"}', values: '5x10'}
      - {series: 'maitred_connections{instance="a",job="m",worker="0"}', values: '9000x10'}
      - {series: 'maitred_connections{instance="a",job="m",worker="1"}', values: '10x10'}
      - {series: 'maitred_connections{instance="b",job="m",worker="0"}', values: '10x10'}
      - {series: 'maitred_connections_limit{instance="a",job="m"}', values: '10000x10'}
      - {series: 'maitred_connections_limit{instance="b",job="m"}', values: '10000x10'}
    alert_rule_test:
      - {eval_time: 3m, alertname: MaitredStreamsNearLimit, exp_alerts: [{exp_labels: {instance: a}}]}
      - {eval_time: 3m, alertname: MaitredConnectionsNearLimit, exp_alerts: [{exp_labels: {instance: a}}]}
      - {eval_time: 3m, alertname: MaitredSlotsBusy, exp_alerts: []}
      - {eval_time: 6m, alertname: MaitredSlotsBusy, exp_alerts: [{exp_labels: {instance: a, job: m}}]}
"""


def test_documented_alerts_fire_on_samples(tmp_path):
    (tmp_path / "maitred.rules.yml").write_text(documented_alert_rules())
    (tmp_path / "tests.yml").write_text(RULE_TESTS)
    run = subprocess.run(["promtool", "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=30)
    print(run.stdout + run.stderr)

    assert run.returncode == 0
