"""Readers for the deployment files and for maitred's own settings, shared
by the tests that check one against the other."""
import os
import re
import shlex

from harness import TOP

DEPLOY = os.path.join(TOP, "deploy")
SETTING_PATTERN = re.compile(r'(?:INT|STR|BOOL)_SETTING\("([A-Z0-9_]+)",\s*\w+,\s*"([^"]*)"')


def settings():
    """Returns {name: default} for every setting in server/config.c's table."""
    with open(os.path.join(TOP, "server", "config.c")) as f:
        return dict(SETTING_PATTERN.findall(f.read()))


def admin_port_default():
    return int(settings()["ADMIN_LISTEN"].rsplit(":", 1)[1])


def read(*parts):
    with open(os.path.join(TOP, *parts)) as f:
        return f.read()


def dockerfile_instructions(text):
    """Returns the Dockerfile as (instruction, arguments) pairs, with
    continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result


def dockerfile_stages(text):
    """Returns {stage name: [(instruction, arguments), ...]} in order."""
    stages = {}
    current = None
    for instruction, arguments in dockerfile_instructions(text):
        if instruction == "FROM":
            words = arguments.split()
            current = words[2] if len(words) >= 3 and words[1].upper() == "AS" else words[0]
            stages[current] = [(instruction, arguments)]
        elif current is not None:
            stages[current].append((instruction, arguments))
    return stages


def apt_packages(stage):
    """Returns the packages that the stage's apt-get install commands name."""
    packages = set()
    for instruction, arguments in stage:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;", arguments):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages.update(w for w in after if not w.startswith("-") and "=" not in w)
    return packages


def install_deps_list(name):
    """Returns the package list called name (BUILD, RUN, TEST) in deploy/dev/install-deps.sh."""
    match = re.search(rf'^{name}="([^"]*)"', read("deploy", "dev", "install-deps.sh"), re.M)
    return set(match.group(1).split())
