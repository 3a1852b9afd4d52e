#include <stdio.h>
#include <string.h>

#include "tests/load/load_counts.h"

static struct load_count *find_count(struct load_counts *counts, const char *name)
{
	for (size_t i = 0; i < counts->count; i++)
		if (strncmp(counts->items[i].name, name, LOAD_COUNT_NAME_MAX - 1) == 0)
			return &counts->items[i];
	return NULL;
}

void load_counts_add(struct load_counts *counts, const char *name, uint64_t amount)
{
	struct load_count *item = find_count(counts, name);

	/* The last free item is kept for "other". */
	if (!item && counts->count >= LOAD_COUNTS_MAX - 1) {
		name = "other";
		item = find_count(counts, name);
	}
	if (!item) {
		item = &counts->items[counts->count++];
		snprintf(item->name, sizeof(item->name), "%s", name);
		item->value = 0;
	}
	item->value += amount;
}

uint64_t load_counts_get(const struct load_counts *counts, const char *name)
{
	for (size_t i = 0; i < counts->count; i++)
		if (strncmp(counts->items[i].name, name, LOAD_COUNT_NAME_MAX - 1) == 0)
			return counts->items[i].value;
	return 0;
}

uint64_t load_counts_total(const struct load_counts *counts)
{
	uint64_t total = 0;

	for (size_t i = 0; i < counts->count; i++)
		total += counts->items[i].value;
	return total;
}
