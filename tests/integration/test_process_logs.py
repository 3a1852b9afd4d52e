"""LOG_FILE and SIGUSR1: after logrotate renames the file, every process writes to a new one."""
import os
import signal
import time

from harness import request
from test_process_clients import read_stats, wait_for


def roles_in(path):
    """Returns the roles ("master", "worker-0", ...) of the text log lines in path."""
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {line.split()[3] for line in f if len(line.split()) > 3}


def test_sigusr1_reopens_log_file(start_maitred, tmp_path):
    log = tmp_path / "maitred.log"
    m = start_maitred({"LOG_FILE": str(log), "WORKERS": "2"})
    assert {"master", "worker-0", "worker-1"} <= roles_in(log)

    rotated = tmp_path / "maitred.log.1"
    os.rename(log, rotated)
    m.signal(signal.SIGUSR1)
    time.sleep(0.5)

    def both_workers_logged():
        request(m.url, "GET", "/healthz", timeout=2)
        return {"worker-0", "worker-1"} <= roles_in(log)

    workers_logged = wait_for(both_workers_logged, 10, interval=0.02)
    # A master line: the exit of a worker killed on purpose.
    os.kill(read_stats(m)["workers"][0]["pid"], signal.SIGKILL)
    master_logged = wait_for(lambda: "master" in roles_in(log), 5)
    print(f"after SIGUSR1 the new file has lines of {sorted(roles_in(log))}; "
          f"the rotated one of {sorted(roles_in(rotated))}")

    assert workers_logged
    assert master_logged
