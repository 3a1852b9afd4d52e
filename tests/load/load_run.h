#ifndef MAITRED_LOAD_RUN_H
#define MAITRED_LOAD_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/load/load_counts.h"
#include "tests/load/load_options.h"
#include "tests/load/load_probe.h"
#include "tests/load/load_scenario.h"
#include "tests/load/load_stats.h"
#include "tests/load/load_turn.h"

/* What a run measured. Times are milliseconds on a monotonic clock. */
struct load_result {
	double elapsed_s;
	bool interrupted;        /* a signal stopped the run early */
	bool deadline_reached;   /* --duration stopped the run */
	uint64_t planned;        /* users x turns */
	uint64_t started;
	uint64_t ok;
	uint64_t failed;         /* started turns that ended with an error kind */
	uint64_t not_started;
	struct load_samples first_delta; /* successful turns: send to first delta */
	struct load_samples whole_turn;  /* successful turns: send to end of stream */
	uint64_t bytes;          /* response body bytes of every turn */
	uint64_t connections;    /* connections opened for the turns */
	struct load_events events;
	struct load_counts errors;   /* by error kind; see load_turn.h */
	struct load_counts statuses; /* by HTTP status; "none" when no response came */
	struct load_healthz_result healthz;
};

/* Sets the result to empty, with the usual error kinds listed at 0 so that
 * reports always show them. */
void load_result_init(struct load_result *result);

/* Frees the samples; the struct itself is the caller's. */
void load_result_free(struct load_result *result);

/*
 * Runs the guests of options against options->chat_url with the libcurl
 * multi interface and epoll, in the calling thread, and fills result (which
 * load_result_init prepared). The run ends when every guest has sent its
 * turns, when options->duration_s has passed (turns in flight then count
 * as "deadline", the rest as not started), or when *stop becomes nonzero.
 * While progress is not NULL a progress line goes there once a second,
 * rewritten in place when progress_inline is true.
 * Returns 0 when the run completed, even with failed turns, or -1 with the
 * reason in err when the tool itself failed (libcurl, epoll or memory).
 * curl_global_init must have been called.
 */
int load_run(const struct load_options *options, const struct load_scenario *scenario,
	     volatile sig_atomic_t *stop, FILE *progress, bool progress_inline,
	     struct load_result *result, char *err, size_t err_size);

#endif
