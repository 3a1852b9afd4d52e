#ifndef MAITRED_LOAD_STATS_H
#define MAITRED_LOAD_STATS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Latency samples and their percentiles. Percentiles use the nearest-rank
 * method on the sorted samples: the p-th percentile of n samples is the
 * sample at 1-based rank ceil(p / 100 * n), so it is always one of the
 * samples and never an interpolation. The load generator that measured the
 * Python system maitred replaces used the same method, so figures compare.
 */
struct load_samples {
	double *values; /* milliseconds */
	size_t count;
	size_t capacity;
};

/* The figures printed for one set of samples. All are 0 when count is 0. */
struct load_summary {
	size_t count;
	double p50;
	double p95;
	double p99;
	double max;
	double mean;
};

/* Appends one sample. Returns 0, or -1 when memory runs out (the samples
 * taken so far are kept). */
int load_samples_add(struct load_samples *samples, double value);

/* Frees the values and empties the set; the struct itself is the caller's. */
void load_samples_free(struct load_samples *samples);

/* Stores in *out the nearest-rank percentile of count sorted values, where
 * per_mille is the percentile in tenths of a percent (990 is p99, 1000 is
 * the maximum, 0 the minimum). Integer maths keeps the rank exact.
 * Returns false, leaving *out alone, when count is 0 or per_mille > 1000. */
bool load_percentile(const double *sorted, size_t count, unsigned per_mille,
		     double *out);

/* Sorts the samples in place and fills *out with count, p50, p95, p99, max
 * and mean. */
void load_samples_summarize(struct load_samples *samples, struct load_summary *out);

#endif
