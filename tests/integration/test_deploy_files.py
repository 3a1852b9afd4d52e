"""The deployment files against what maitred really uses: setting names,
ports, timeouts, the libraries of the built binary, and the commands the
files run. The tests need no Docker engine and no AWS account. They parse
and compare the files, inspect the binary and run systemd-analyze."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

from deploy_files import (DEPLOY, admin_port_default, apt_packages, dockerfile_instructions,
                          dockerfile_stages, install_deps_list, read, settings)
from harness import BINARY, TOP, fresh_database, psql

SECRET_SETTINGS = {"DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "ADMIN_TOKEN"}
# Tools the runtime image may add beside the libraries.
RUNTIME_TOOLS = {"ca-certificates", "curl"}
# The master stops waiting for its workers this long after DRAIN_TIMEOUT
# (begin_stop in server/master.c).
MASTER_STOP_MARGIN = 3


def drain_timeout():
    return int(settings()["DRAIN_TIMEOUT"])


# ---- ECS task definition ----

@pytest.fixture(scope="module")
def container():
    with open(os.path.join(DEPLOY, "ecs", "task-definition.json")) as f:
        task = json.load(f)
    assert task["requiresCompatibilities"] == ["FARGATE"]
    assert len(task["containerDefinitions"]) == 1
    return task["containerDefinitions"][0]


def test_task_names_are_settings(container):
    known = settings()
    names = [e["name"] for e in container["environment"]] + [s["name"] for s in container["secrets"]]
    assert len(names) == len(set(names))
    unknown = [name for name in names if name not in known]
    assert unknown == []


def test_task_secrets_from_secrets_manager(container):
    environment = {e["name"] for e in container["environment"]}
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert set(secrets) == SECRET_SETTINGS
    assert environment & SECRET_SETTINGS == set()
    for name, arn in secrets.items():
        assert re.fullmatch(r"arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+", arn), name


def test_task_ports_match_defaults(container):
    environment = {e["name"]: e["value"] for e in container["environment"]}
    port, admin_port = int(settings()["PORT"]), admin_port_default()
    assert {m["containerPort"] for m in container["portMappings"]} == {port, admin_port}
    assert environment["PORT"] == str(port)
    assert environment["ADMIN_LISTEN"] == f"0.0.0.0:{admin_port}"


def test_task_lets_drain_finish(container):
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert int(environment["DRAIN_TIMEOUT"]) == drain_timeout()
    assert container["stopTimeout"] > drain_timeout() + MASTER_STOP_MARGIN
    # The ECS container definition reference caps stopTimeout at 120 s on Fargate.
    assert container["stopTimeout"] <= 120


def test_task_health_ulimit_and_logs(container):
    command = container["healthCheck"]["command"]
    assert command[0] == "CMD-SHELL"
    assert f"http://127.0.0.1:{settings()['PORT']}/healthz" in command[1]
    assert {"name": "nofile", "softLimit": 65536, "hardLimit": 65536} in container["ulimits"]
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["METRICS_EMF"] == "1"


# ---- CloudWatch alarms ----

@pytest.fixture(scope="module")
def alarms():
    template = yaml.safe_load(read("deploy", "ecs", "alarms.yml"))
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    return {name: r["Properties"] for name, r in template["Resources"].items()
            if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm_metrics(properties):
    """Returns the (namespace, metric name) pairs an alarm reads."""
    if "MetricName" in properties:
        return [(properties["Namespace"], properties["MetricName"])]
    return [(q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
            for q in properties["Metrics"] if "MetricStat" in q]


def test_alarms_cover_the_design(alarms):
    thresholds = {name: p["Threshold"] for name, p in alarms.items()}
    assert thresholds == {"ResponseTimeAlarm": 10, "ActiveStreamsAlarm": 80, "SlotUtilizationAlarm": 90,
                          "ModelRateLimitAlarm": 5, "MemoryAlarm": 80}
    for name, properties in alarms.items():
        assert properties["ComparisonOperator"] == "GreaterThanThreshold", name
        for namespace, _ in alarm_metrics(properties):
            assert namespace == "Maitred", name


def test_rate_limit_alarm_is_per_minute(alarms):
    properties = alarms["ModelRateLimitAlarm"]
    assert properties["Period"] == 60
    assert properties["Statistic"] == "Sum"


def test_alarm_metrics_are_in_emf_source(alarms):
    source = read("workers", "emf.c")
    emitted = set(re.findall(r'add_metric\(root, defs, "(\w+)"', source))
    assert len(emitted) == 11
    for properties in alarms.values():
        for _, metric in alarm_metrics(properties):
            assert metric in emitted


# ---- Dockerfile ----

@pytest.fixture(scope="module")
def dockerfile():
    return read("deploy", "Dockerfile")


def test_dockerfile_stages(dockerfile):
    stages = dockerfile_stages(dockerfile)
    assert list(stages) == ["build", "runtime"]
    assert stages["build"][0][1].split()[0] == "debian:12"
    assert stages["runtime"][0][1].split()[0] == "debian:12-slim"
    assert apt_packages(stages["build"]) == install_deps_list("BUILD")
    assert any(i == "COPY" and a.startswith("--from=build ") for i, a in stages["runtime"])


def test_dockerfile_runtime_settings(dockerfile):
    runtime = dockerfile_stages(dockerfile)["runtime"]
    last = {}
    for instruction, arguments in runtime:
        last[instruction] = arguments
    user = last["USER"].split(":")[0]
    assert user not in ("", "root", "0")
    assert last["STOPSIGNAL"] == "SIGTERM"
    assert set(last["EXPOSE"].split()) == {settings()["PORT"], str(admin_port_default())}
    assert "/healthz" in last["HEALTHCHECK"]
    assert "curl" in last["HEALTHCHECK"]
    assert json.loads(last["ENTRYPOINT"]) == ["/usr/local/bin/maitred"]
    assert json.loads(last["CMD"]) == ["serve"]


def test_dockerfile_build_stage_compiles(dockerfile):
    """Copies what the build stage copies, as the .dockerignore lets it
    through, and runs the stage's make in that folder."""
    build = dockerfile_stages(dockerfile)["build"]
    sources = [a.split()[0].rstrip("/") for i, a in build if i == "COPY"]
    assert sources == ["Makefile", "server", "shm", "workers", "sql"]
    allowed = {line[1:].rstrip("/") for line in read("deploy", "Dockerfile.dockerignore").splitlines()
               if line.startswith("!")}
    assert set(sources) <= allowed

    with tempfile.TemporaryDirectory() as folder:
        for source in sources:
            path = os.path.join(TOP, source)
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(folder, source))
            else:
                shutil.copy(path, folder)
        proc = subprocess.run(["make", "-s", "-j4", "maitred"], cwd=folder, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        version = subprocess.run([os.path.join(folder, "maitred"), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("maitred ")


def debian_package(path):
    """Returns the Debian package that ships a library path, trying the
    /lib and /usr/lib spellings of merged-/usr systems, or None."""
    real = os.path.realpath(path)
    candidates = [path, real]
    for p in (path, real):
        if p.startswith("/usr/lib/"):
            candidates.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            candidates.append("/usr" + p)
    for candidate in candidates:
        proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.split(":")[0]
    return None


def linked_libraries():
    """Returns {soname: path} for the binary's direct DT_NEEDED entries, as ldd resolves them."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]",
                        subprocess.run(["readelf", "-d", BINARY], capture_output=True, text=True,
                                       check=True).stdout)
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", BINARY], capture_output=True,
                                                                      text=True, check=True).stdout, re.M))
    return {soname: resolved[soname] for soname in needed}


def test_runtime_packages_match_binary(dockerfile):
    runtime = apt_packages(dockerfile_stages(dockerfile)["runtime"])
    needed = {soname: debian_package(path) for soname, path in linked_libraries().items()}
    assert None not in needed.values(), needed
    # libc6 is Essential, so every Debian image has it.
    required = set(needed.values()) - {"libc6"}
    assert required == runtime - RUNTIME_TOOLS


def test_every_loaded_library_is_packaged():
    output = subprocess.run(["ldd", BINARY], capture_output=True, text=True, check=True).stdout
    paths = re.findall(r"=> (/\S+)", output)
    assert paths
    unpackaged = [path for path in paths if debian_package(path) is None]
    assert unpackaged == []


def test_migrate_runs_as_one_off_command():
    url = fresh_database("maitred_deploy_migrate")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url}
    proc = subprocess.run([BINARY, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert psql("maitred_deploy_migrate", "SELECT count(*) > 0 FROM dining_tables") == [["t"]]
    again = subprocess.run([BINARY, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr


# ---- docker-compose.yml ----

@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(read("deploy", "docker-compose.yml"))


def test_compose_services(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "maitred"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["maitred"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["migrate"]["build"]["context"] == ".."


def test_compose_names_and_ports(compose):
    known = settings()
    for name in ("migrate", "maitred"):
        for key in compose["services"][name]["environment"]:
            assert key in known, f"{name}: {key}"
    ports = {p.rsplit(":", 1)[1] for p in compose["services"]["maitred"]["ports"]}
    assert ports == {known["PORT"], str(admin_port_default())}
    assert compose["services"]["maitred"]["environment"]["ADMIN_LISTEN"] == f"0.0.0.0:{admin_port_default()}"


def test_compose_lets_drain_finish(compose):
    grace = compose["services"]["maitred"]["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace[:-1]) >= drain_timeout() + MASTER_STOP_MARGIN


# ---- systemd unit, sample configuration and make install ----

def unit_directives():
    directives = {}
    for line in read("deploy", "systemd", "maitred.service").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            directives.setdefault(key, []).append(value)
    return directives


def test_unit_directives():
    unit = unit_directives()
    assert unit["Type"] == ["notify"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert int(unit["TimeoutStopSec"][0]) > drain_timeout() + MASTER_STOP_MARGIN
    assert unit["LimitNOFILE"] == ["65536"]
    assert unit["User"] == ["maitred"]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes")):
        assert unit[key] == [value], key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_passes_systemd_analyze():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "maitred.service")
        with open(path, "w") as f:
            f.write(read("deploy", "systemd", "maitred.service").replace("/usr/local/bin/maitred", BINARY))
        proc = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout + proc.stderr == ""


def test_sample_config_is_accepted():
    sample = os.path.join(DEPLOY, "systemd", "maitred.conf.sample")
    known = settings()
    for line in read("deploy", "systemd", "maitred.conf.sample").splitlines():
        if line and not line.startswith("#"):
            assert line.split("=", 1)[0] in known, line
    # The configuration loads; only the made-up command is then rejected.
    proc = subprocess.run([BINARY, f"--config-file={sample}", "no-such-command"],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert "unknown command no-such-command" in proc.stderr


def run_install(destdir, *variables):
    return subprocess.run(["make", "-s", "-C", TOP, "install", f"DESTDIR={destdir}", *variables],
                          capture_output=True, text=True, timeout=300)


def test_make_install_honours_prefix_and_destdir():
    with tempfile.TemporaryDirectory() as destdir:
        proc = run_install(destdir, "PREFIX=/opt/maitred")
        assert proc.returncode == 0, proc.stderr
        root = os.path.join(destdir, "opt", "maitred")
        assert os.access(os.path.join(root, "bin", "maitred"), os.X_OK)
        unit = open(os.path.join(root, "lib", "systemd", "system", "maitred.service")).read()
        assert "ExecStart=/opt/maitred/bin/maitred serve" in unit
        assert os.path.isfile(os.path.join(root, "share", "maitred", "maitred.conf.sample"))
        assert os.path.isfile(os.path.join(root, "share", "maitred", "nginx-maitred.conf"))
        installed = [os.path.relpath(os.path.join(d, f), destdir) for d, _, files in os.walk(destdir) for f in files]
        assert all(path.startswith("opt/maitred/") for path in installed)


def test_make_install_default_prefix():
    with tempfile.TemporaryDirectory() as destdir:
        proc = run_install(destdir, "UNITDIR=/etc/systemd/system")
        assert proc.returncode == 0, proc.stderr
        assert os.access(os.path.join(destdir, "usr", "local", "bin", "maitred"), os.X_OK)
        unit = open(os.path.join(destdir, "etc", "systemd", "system", "maitred.service")).read()
        assert "ExecStart=/usr/local/bin/maitred serve" in unit


def test_dockerfile_uses_known_instructions(dockerfile):
    known = {"FROM", "RUN", "WORKDIR", "COPY", "USER", "ENV", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK",
             "ENTRYPOINT", "CMD"}
    assert {instruction for instruction, _ in dockerfile_instructions(dockerfile)} <= known
