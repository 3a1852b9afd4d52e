#ifndef MAITRED_SHM_RENDER_H
#define MAITRED_SHM_RENDER_H

/* Reports built from the shared region, for the admin listener and for
 * `maitred stats`. Readers copy each record before using it and take no
 * lock, so a report never slows the workers; a value may be a moment old. */
#include <stdio.h>

#include <jansson.h>

#include "shm/region.h"

/* Returns the Prometheus text exposition (format 0.0.4); the caller frees. */
char *render_prometheus(struct shm_region *r, size_t *len);

/* Returns {"instance": {...}, "workers": [...], "runs": [...]}. */
json_t *render_stats(struct shm_region *r);

/* Writes the stats as a table for a terminal. */
void render_stats_table(struct shm_region *r, FILE *out);

#endif
