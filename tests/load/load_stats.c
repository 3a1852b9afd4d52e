#include <stdlib.h>
#include <string.h>

#include "tests/load/load_stats.h"

int load_samples_add(struct load_samples *samples, double value)
{
	if (samples->count == samples->capacity) {
		size_t capacity = samples->capacity ? samples->capacity * 2 : 256;
		double *grown = realloc(samples->values, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		samples->values = grown;
		samples->capacity = capacity;
	}
	samples->values[samples->count++] = value;
	return 0;
}

void load_samples_free(struct load_samples *samples)
{
	free(samples->values);
	memset(samples, 0, sizeof(*samples));
}

bool load_percentile(const double *sorted, size_t count, unsigned per_mille,
		     double *out)
{
	if (count == 0 || per_mille > 1000)
		return false;

	/* rank = ceil(per_mille * count / 1000), at least 1 so p0 is the minimum. */
	size_t rank = (per_mille * count + 999) / 1000;

	if (rank == 0)
		rank = 1;
	*out = sorted[rank - 1];
	return true;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void load_samples_summarize(struct load_samples *samples, struct load_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (samples->count == 0)
		return;

	qsort(samples->values, samples->count, sizeof(double), compare_doubles);
	out->count = samples->count;
	load_percentile(samples->values, samples->count, 500, &out->p50);
	load_percentile(samples->values, samples->count, 950, &out->p95);
	load_percentile(samples->values, samples->count, 990, &out->p99);
	out->max = samples->values[samples->count - 1];

	double sum = 0;

	for (size_t i = 0; i < samples->count; i++)
		sum += samples->values[i];
	out->mean = sum / (double)samples->count;
}
