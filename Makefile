# maitred: restaurant chat server. Targets: all, run, test, unit, asan, clean.
CC      ?= cc
PKGS    := libmicrohttpd libcurl libpq hiredis jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wno-unused-parameter
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -I. -Ibuild -D_GNU_SOURCE $(PKG_CFLAGS)
override LDLIBS += $(PKG_LIBS) -lpthread -lrt -lm

BUILD   ?= build
SRC     := $(wildcard server/*.c shm/*.c workers/*.c)
OBJ     := $(SRC:%.c=$(BUILD)/%.o) $(BUILD)/embedded.o
LIBOBJ  := $(filter-out $(BUILD)/server/main.o,$(OBJ))
EMBED   := $(sort $(wildcard sql/*.sql workers/static/*))
UNIT    := $(wildcard tests/unit/*.c)
UNITOBJ := $(UNIT:%.c=$(BUILD)/%.o)
# The load tool: tests/load/main.c is its entry point; the rest is a library
# that the unit tests link too.
LOADLIB := $(patsubst %.c,$(BUILD)/%.o,$(filter-out tests/load/main.c,$(wildcard tests/load/*.c)))

PREFIX  ?= /usr/local
DESTDIR ?=

.PHONY: all run test unit asan asan-build clean install deps deps-test bench score-bookings
all: maitred maitred-load

# Installs missing Debian packages as root, or prints the apt-get line.
deps:
	@sh deploy/dev/install-deps.sh run
deps-test:
	@sh deploy/dev/install-deps.sh test

maitred: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

maitred-load: $(BUILD)/tests/load/main.o $(LOADLIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(wildcard server/*.h shm/*.h workers/*.h tests/unit/*.h tests/load/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/embedded.c: $(EMBED) server/embed.sh
	@mkdir -p $(BUILD)
	sh server/embed.sh $(EMBED) > $@

$(BUILD)/embedded.o: $(BUILD)/embedded.c
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/unit-tests: $(UNITOBJ) $(LIBOBJ) $(LOADLIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests need no server; integration tests start their own PostgreSQL,
# Redis, test upstream and maitred (tests/run.sh).
unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

test: deps-test
	$(MAKE) all $(BUILD)/unit-tests asan-build
	sh tests/run.sh

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan-build:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" build-asan/unit-tests
asan: asan-build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/unit-tests

# Replays real guests' bookings (shared/data beside the repository, or
# SGD_FILE) against maitred: the offline agent on every conversation, the
# model path against the test upstream on a sample. SCORE_ARGS adds options
# of tests/score/score_bookings.py, such as --transcripts.
score-bookings: maitred
	/usr/bin/python3 tests/score/score_bookings.py --agent both $(SCORE_ARGS)

run: deps
	$(MAKE) all
	sh deploy/dev/run.sh

# maitred beside the original Python design, on this machine (docs/benchmarks.md).
# Installs what is missing as root; takes about 30 minutes.
bench:
	bash tests/bench/run.sh

# Installs the binary, the systemd unit with ExecStart in $(PREFIX)/bin,
# and under $(PREFIX)/share/maitred a sample configuration and the nginx
# site (docs/deploy.md). DESTDIR stages the files for a package.
install: UNITDIR ?= $(PREFIX)/lib/systemd/system
install: maitred
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/maitred
	install -m 0755 maitred $(DESTDIR)$(PREFIX)/bin/maitred
	sed 's|/usr/local/bin/maitred|$(PREFIX)/bin/maitred|' deploy/systemd/maitred.service \
		> $(DESTDIR)$(UNITDIR)/maitred.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/maitred.service
	install -m 0644 deploy/systemd/maitred.conf.sample $(DESTDIR)$(PREFIX)/share/maitred/maitred.conf.sample
	install -m 0644 deploy/nginx/maitred.conf $(DESTDIR)$(PREFIX)/share/maitred/nginx-maitred.conf

clean:
	rm -rf build build-asan maitred maitred-load
