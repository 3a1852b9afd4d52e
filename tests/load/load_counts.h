#ifndef MAITRED_LOAD_COUNTS_H
#define MAITRED_LOAD_COUNTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Counters by name ("http_429", "sse_error:overloaded", "200"), kept in the
 * order the names first appear. The names come partly from the server, so
 * their number is capped: past LOAD_COUNTS_MAX names, new ones are counted
 * under "other".
 */
#define LOAD_COUNTS_MAX 64
#define LOAD_COUNT_NAME_MAX 64

struct load_count {
	char name[LOAD_COUNT_NAME_MAX];
	uint64_t value;
};

struct load_counts {
	struct load_count items[LOAD_COUNTS_MAX];
	size_t count;
};

/* Adds amount to the counter called name, creating it at 0 first. A name
 * longer than LOAD_COUNT_NAME_MAX - 1 bytes is cut to that length. */
void load_counts_add(struct load_counts *counts, const char *name, uint64_t amount);

/* Returns the value of the counter called name, or 0 when there is none. */
uint64_t load_counts_get(const struct load_counts *counts, const char *name);

/* Returns the sum of all counters. */
uint64_t load_counts_total(const struct load_counts *counts);

#endif
