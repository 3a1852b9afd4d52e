#ifndef MAITRED_EMF_H
#define MAITRED_EMF_H

/*
 * CloudWatch Embedded Metric Format (EMF). With METRICS_EMF=1 every worker
 * writes one JSON line to stdout every EMF_INTERVAL seconds; CloudWatch Logs
 * (the awslogs log driver of an ECS task) extracts the metrics below into
 * the namespace "Maitred" with one dimension, Service (EMF_SERVICE).
 *
 *   Metric                Unit     Value in the line of worker W
 *   Turns                 Count    chat turns W ended since its last line
 *   TurnDurationSum       Seconds  total duration of those turns
 *   TurnDurationAverage   Seconds  their average (left out when Turns is 0)
 *   ActiveStreams         Count    open chat event streams of W
 *   ModelRateLimitErrors  Count    model calls of W answered 429 since its last line
 *   MemoryResident        Bytes    resident memory of W
 *   SlotsInUse            Count    agent slots in use in the instance
 *   SlotLimit             Count    agent slots of the instance (MAX_CONCURRENT_CREWS)
 *   SlotUtilization       Percent  SlotsInUse / SlotLimit
 *   StreamUtilization     Percent  open streams of the instance / (MAX_CONCURRENT_CREWS + MAX_QUEUE)
 *   MemoryUtilization     Percent  resident memory of all workers / memory limit
 *
 * Turns, TurnDurationSum and ModelRateLimitErrors are deltas, so the Sum
 * statistic adds them up across workers and instances. The last five are
 * instance-wide and repeat in the line of every worker of an instance, so
 * read them with Average or Maximum, never with Sum. A stream counts
 * against MAX_CONCURRENT_CREWS + MAX_QUEUE because beyond that many turns
 * an instance answers 503 overloaded.
 */
#include <stdint.h>

#include "shm/region.h"

#define EMF_NAMESPACE "Maitred"

/* The figures of one worker (and its instance) at one moment. */
struct emf_sample {
	int64_t wall_ms;                 /* ms since the epoch */
	uint64_t turns;                  /* turns ended, ever (HIST_TURN count) */
	uint64_t turn_us;                /* their total duration, microseconds */
	uint64_t rate_limit_errors;      /* model calls answered 429, ever */
	int64_t streams;                 /* this worker's open streams */
	int64_t rss_bytes;               /* this worker's resident memory */
	int64_t instance_streams;        /* open streams of all workers */
	int64_t instance_rss_bytes;      /* resident memory of all live workers */
	int slots_in_use;
	int slot_limit;
	int queue_limit;
};

/* Fills out from worker index's record and the instance header of r. Takes
 * the region's lock once, to count the slots in use. */
void emf_sample_take(struct shm_region *r, int index, struct emf_sample *out);

/* Formats the EMF line for the interval from prev to now (no trailing
 * newline). service is the Service dimension, memory_limit the bytes
 * MemoryUtilization divides by (MemoryUtilization is left out when it is
 * 0 or less). A counter that went down counts as 0. Returns a string the
 * caller frees, or NULL when out of memory. */
char *emf_format_line(const struct emf_sample *prev, const struct emf_sample *now, const char *service,
		      int worker, int pid, int64_t memory_limit);

/* Returns the memory limit of this process in bytes: the lowest of the
 * cgroup v2 memory.max or cgroup v1 memory.limit_in_bytes of its cgroup and
 * the cgroups above it, and MemTotal. root prefixes every path read ("" in
 * production; a test passes a folder holding proc/ and sys/). Returns 0
 * when none of the files can be read. */
int64_t emf_memory_limit(const char *root);

struct worker;

/* Writes this worker's EMF line to stdout when METRICS_EMF is on and
 * EMF_INTERVAL seconds have passed since the last one. The first call only
 * records where the counters start, so a respawned worker does not report
 * the counts of its predecessor. Call it about once a second from one
 * thread. A failed write is logged once and the line is dropped. */
void emf_tick(struct worker *w);

#endif
