import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from harness import Maitred, Upstream, fresh_database, redis_cli  # noqa: E402


def pytest_configure(config):
    if "MAITRED_TEST_PG_URL" not in os.environ:
        raise pytest.UsageError("run the integration tests through tests/run.sh (make test): "
                                "it starts PostgreSQL and Redis and sets MAITRED_TEST_PG_URL")


@pytest.fixture(scope="session")
def database_url():
    """One migrated database for the whole run (maitred migrates at start)."""
    return fresh_database("maitred_it")


@pytest.fixture(scope="session", autouse=True)
def clean_redis():
    redis_cli("-n", "1", "FLUSHDB")


@pytest.fixture(scope="module")
def upstream():
    up = Upstream("--ttft-ms", "50", "--token-ms", "5")
    yield up
    up.stop()


@pytest.fixture
def start_maitred(database_url):
    """Starts maitred instances with extra settings; stops them at the end."""
    started = []

    def start(env=None, **kwargs):
        m = Maitred(kwargs.pop("database", database_url), env, **kwargs)
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


@pytest.fixture
def offline(start_maitred):
    return start_maitred()


@pytest.fixture
def online(start_maitred, upstream):
    upstream.reset()
    return start_maitred({"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": upstream.base_url})
