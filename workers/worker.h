#ifndef MAITRED_WORKER_H
#define MAITRED_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"
#include "shm/region.h"

/* One worker process: its configuration, its place in the shared region
 * and its listening sockets (inherited from the master). */
struct worker {
	int index;
	const struct config *cfg;
	struct shm_region *region;
	struct shm_worker *slot;
	int public_fd;
	int admin_fd;              /* -1 when the admin listener is off */
	char timezone[64];         /* the restaurant's IANA zone */
	volatile sig_atomic_t stopping;   /* SIGTERM: drain, then exit */
	volatile sig_atomic_t draining;   /* set once the drain has begun */
};

/* The worker of this process; NULL in the master. */
extern struct worker *worker_self;

/* Stores value in one of the gauges of this worker's record, unless a
 * successor took the record over (this worker drains after a reload), so
 * the two never count into each other's figures. Threads may store out of
 * order, so worker_main also stores every gauge once a second. */
void worker_set_gauge(int64_t *gauge, int64_t value);

/* Runs a worker until it has drained. Returns the process exit status:
 * 0 after a clean stop, WORKER_EXIT_FATAL when it cannot serve at all
 * (the master then stops instead of respawning in a loop). */
int worker_main(struct worker *w);

#define WORKER_EXIT_FATAL 3

#endif
