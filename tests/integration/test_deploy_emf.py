"""CloudWatch Embedded Metric Format lines from a running maitred: their
shape, their deltas, and the metric names the alarm template reads."""
import json
import time

import yaml

from deploy_files import read
from harness import chat_sse


def emf_lines(instance):
    """Returns the EMF documents in the instance's output, in order."""
    return [json.loads(line) for line in instance.log_text().splitlines() if line.startswith('{"_aws"')]


def wait_for_sum(instance, metric, expected, timeout=8):
    """Waits until the metric's values add up to expected; returns the lines."""
    deadline = time.time() + timeout
    while True:
        lines = emf_lines(instance)
        if sum(line.get(metric, 0) for line in lines) >= expected or time.time() > deadline:
            return lines
        time.sleep(0.2)


def check_document(document):
    """Checks one line against the EMF specification's required members."""
    aws = document["_aws"]
    assert isinstance(aws["Timestamp"], int)
    assert abs(aws["Timestamp"] / 1000 - time.time()) < 120
    [directive] = aws["CloudWatchMetrics"]
    assert directive["Namespace"] == "Maitred"
    assert directive["Dimensions"] == [["Service"]]
    assert document["Service"] == "maitred-test"
    for metric in directive["Metrics"]:
        assert metric["Unit"] in ("Count", "Seconds", "Bytes", "Percent")
        value = document[metric["Name"]]
        assert isinstance(value, (int, float)) and not isinstance(value, bool)


def test_emf_lines_count_turns_and_rate_limits(start_maitred, upstream):
    upstream.reset()
    instance = start_maitred({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url,
                              "METRICS_EMF": "1", "EMF_INTERVAL": "1", "EMF_SERVICE": "maitred-test",
                              "WORKERS": "2"})
    upstream.faults([{"kind": "429", "retry_after": 1, "count": 2, "match": "EMFLIMITED"}])
    for message in ("Hello", "What time do you open?", "EMFLIMITED Do you have vegan starters?"):
        status, _, events = chat_sse(instance.url, message)
        assert status == 200
        assert events[-1][0] == "done"

    lines = wait_for_sum(instance, "Turns", 3)
    assert lines
    for document in lines:
        check_document(document)
    assert {document["Worker"] for document in lines} == {0, 1}
    assert sum(document["Turns"] for document in lines) == 3
    assert sum(document["ModelRateLimitErrors"] for document in lines) == 2
    assert sum(document["TurnDurationSum"] for document in lines) > 0
    averages = [d["TurnDurationAverage"] for d in lines if d["Turns"] > 0]
    assert averages and all(a > 0 for a in averages)
    assert all(d["SlotLimit"] == 20 for d in lines)
    assert all(0 < d["MemoryUtilization"] < 100 for d in lines)
    assert all(d["MemoryResident"] > 1 << 20 for d in lines)


def test_alarm_metrics_are_emitted(start_maitred):
    instance = start_maitred({"METRICS_EMF": "1", "EMF_INTERVAL": "1", "EMF_SERVICE": "maitred-test"})
    chat_sse(instance.url, "What time do you open?")
    lines = wait_for_sum(instance, "Turns", 1)
    emitted = {m["Name"] for d in lines for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}

    template = yaml.safe_load(read("deploy", "ecs", "alarms.yml"))
    read_by_alarms = set()
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        if "MetricName" in properties:
            read_by_alarms.add(properties["MetricName"])
        for query in properties.get("Metrics", []):
            if "MetricStat" in query:
                read_by_alarms.add(query["MetricStat"]["Metric"]["MetricName"])
    assert len(read_by_alarms) == 6
    assert read_by_alarms <= emitted


def test_no_emf_lines_by_default(start_maitred):
    instance = start_maitred({"EMF_INTERVAL": "1"})
    time.sleep(2.5)
    assert emf_lines(instance) == []
