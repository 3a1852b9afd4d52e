#!/bin/sh
# Builds the booking scorer against the server's objects and runs it.
# Usage: sh tests/score/run.sh FILE.jsonl [--failures]
set -eu
cd "$(dirname "$0")/../.."
make -s maitred
PKGS="libmicrohttpd libcurl libpq hiredis jansson"
# Every object the server links except its entry point, as the Makefile's LIBOBJ.
objects=$(ls build/server/*.o build/shm/*.o build/workers/*.o build/embedded.o 2>/dev/null |
	grep -v '^build/server/main.o$')
cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. -Ibuild $(pkg-config --cflags $PKGS) \
	-o build/score tests/score/score.c $objects $(pkg-config --libs $PKGS) -lpthread -lrt -lm
exec build/score "$@"
