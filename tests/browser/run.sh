#!/bin/sh
# Runs the chat page's browser test in Debian's headless Chromium. Installs
# the npm packages (playwright-core, axe-core) from package-lock.json when
# node_modules is missing. Needs MAITRED_TEST_PG_URL and MAITRED_TEST_REDIS_URL,
# which tests/run.sh sets, and a built ./maitred.
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/axe-core ]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
exec node chat_page.test.js "$@"
