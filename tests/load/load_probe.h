#ifndef MAITRED_LOAD_PROBE_H
#define MAITRED_LOAD_PROBE_H

#include <stdint.h>

#include "tests/load/load_counts.h"
#include "tests/load/load_loop.h"
#include "tests/load/load_stats.h"

/* Health probes. Each probe is one GET, and latency is counted for 200s only. */
struct load_healthz_result {
	uint64_t probes;             /* finished probes */
	uint64_t ok;                 /* of those, the ones with status 200 */
	struct load_samples latency; /* ms, from start to end of the response */
	struct load_counts errors;   /* http_<status>, connect, timeout, failed */
};

struct load_probe;

/* Sends GET url at a fixed rate on a load_loop, whatever the responses. */
struct load_prober {
	struct load_loop *loop;
	struct load_healthz_result *result;
	const char *url;         /* NULL: the prober sends nothing */
	long timeout_ms;
	double interval_ms;
	double next_ms;
	struct load_probe *in_flight; /* a list, so that stop can find them */
};

/* Prepares a prober that sends rate probes a second from start_ms, each
 * limited to timeout_ms, and counts them into result. url NULL disables
 * it. */
void load_prober_init(struct load_prober *prober, struct load_loop *loop,
		      struct load_healthz_result *result, const char *url, unsigned rate,
		      unsigned timeout_ms, double start_ms);

/* Starts the probes due by now_ms. When the loop fell behind by more than
 * one interval, the missed probes are skipped, not sent in a burst.
 * Returns 0, or -1 when libcurl or memory fails. */
int load_prober_start_due(struct load_prober *prober, double now_ms);

/* Returns when the next probe is due, or INFINITY when the prober is off. */
double load_prober_next_ms(const struct load_prober *prober);

/* Stops and frees the probes in flight, which are not counted. */
void load_prober_stop(struct load_prober *prober);

#endif
