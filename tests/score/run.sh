#!/bin/sh
# Builds the booking scorer against the server's objects and runs it.
# Usage: sh tests/score/run.sh FILE.jsonl [--failures]
set -eu
cd "$(dirname "$0")/../.."
make -s maitred
PKGS="libmicrohttpd libcurl libpq hiredis jansson"
objects=$(ls build/server/*.o build/workers/*.o build/embedded.o | grep -v '^build/server/main.o$')
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. -Ibuild $(pkg-config --cflags $PKGS) \
	-o build/score tests/score/score.c $objects $(pkg-config --libs $PKGS) -lpthread -lrt -lm
exec build/score "$@"
