#ifndef MAITRED_SHM_REGION_H
#define MAITRED_SHM_REGION_H

/*
 * The POSIX shared-memory region of one maitred instance: a header with the
 * agent-slot queue, one record per worker (state, heartbeat, metrics) and
 * one record per agent run in flight (the scoreboard). The master creates it
 * before forking; workers inherit the mapping; `maitred stats` maps it
 * read-only. It holds no pointers, so any process may map it anywhere.
 *
 * Agent slots: a turn enqueues a run record with a ticket; runs are admitted
 * in ticket order (first come, first served across all workers) while fewer
 * than slot_limit runs hold a slot. Each record names its owner's pid, so
 * the master frees what a dead worker held. The lock is a robust
 * process-shared mutex: a worker killed while holding it does not wedge the
 * region, and the slot count is recomputed from the records, never kept.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SHM_MAGIC 0x4d415444u   /* "MATD" */
#define SHM_LAYOUT_VERSION 2u
#define SHM_WORKERS_MAX 64
#define SHM_TURN_ID_LEN 24

enum shm_route {
	ROUTE_CHAT, ROUTE_PAGE, ROUTE_MENU, ROUTE_MENU_ITEM, ROUTE_AVAILABILITY,
	ROUTE_RESERVATION_CREATE, ROUTE_RESERVATION_GET, ROUTE_RESERVATION_DELETE,
	ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_STATS, ROUTE_OTHER,
	ROUTE_COUNT
};

enum shm_model_error {
	MODEL_ERR_RATE_LIMITED, MODEL_ERR_TIMEOUT, MODEL_ERR_SERVER, MODEL_ERR_BAD_RESPONSE,
	MODEL_ERR_CONNECTION, MODEL_ERR_COUNT
};

enum shm_timeout_kind {
	TIMEOUT_CONNECT, TIMEOUT_FIRST_TOKEN, TIMEOUT_IDLE, TIMEOUT_CALL, TIMEOUT_TURN,
	TIMEOUT_COUNT
};

enum shm_turn_outcome {
	OUTCOME_DONE, OUTCOME_ERROR, OUTCOME_GUEST_GONE, OUTCOME_QUEUE_FULL, OUTCOME_QUEUE_TIMEOUT,
	OUTCOME_RATE_LIMITED, OUTCOME_COUNT
};

enum shm_histogram_kind {
	HIST_QUEUE_WAIT, HIST_FIRST_TOKEN, HIST_TURN, HIST_MODEL_CALL, HIST_REQUEST,
	HIST_COUNT
};

/* Upper bounds of the histogram buckets in seconds; +Inf is implied. */
#define SHM_BUCKETS 14
extern const double shm_bucket_bounds[SHM_BUCKETS];

struct shm_histogram {
	uint64_t buckets[SHM_BUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
	uint64_t count;
	uint64_t sum_us;
};

enum shm_worker_state { WORKER_EMPTY, WORKER_STARTING, WORKER_READY, WORKER_DRAINING, WORKER_DEAD };

/* Counters only grow, across restarts of the worker in this position, so a
 * Prometheus series per worker stays monotonic. Gauges are reset at spawn. */
struct shm_worker {
	pid_t pid;
	int32_t state;             /* enum shm_worker_state */
	int64_t started_ms;        /* wall clock, ms since the epoch */
	int64_t heartbeat_ms;      /* monotonic clock of the last heartbeat */
	uint64_t restarts;
	uint32_t generation;       /* configuration generation it runs */
	int wake_fd;               /* eventfd, inherited from the master */

	/* gauges */
	int64_t connections;
	int64_t streams;
	int64_t rss_bytes;

	/* counters */
	uint64_t requests[ROUTE_COUNT][4];    /* status class 2xx..5xx */
	uint64_t model_calls;
	uint64_t model_retries;
	uint64_t model_errors[MODEL_ERR_COUNT];
	uint64_t timeouts[TIMEOUT_COUNT];
	uint64_t tokens_in;
	uint64_t tokens_out;
	uint64_t cost_microdollars;
	uint64_t tool_calls;
	uint64_t tool_failures;
	uint64_t turns[OUTCOME_COUNT];
	uint64_t offline_turns;
	uint64_t circuit_fallbacks;
	uint64_t upstream_aborts;
	uint64_t rate_limit_waits;
	struct shm_histogram hist[HIST_COUNT];
} __attribute__((aligned(128)));

enum shm_run_state {
	RUN_FREE, RUN_QUEUED, RUN_ADMITTED, RUN_FIRST_TOKEN_WAIT, RUN_STREAMING, RUN_TOOL,
	RUN_GUEST_GONE, RUN_STATE_COUNT
};

/* A run holds a slot in every state but RUN_FREE and RUN_QUEUED. */
struct shm_run {
	int32_t state;             /* enum shm_run_state */
	int32_t worker;
	pid_t pid;
	int32_t agent;             /* 0 food, 1 booking */
	uint64_t ticket;
	int64_t enqueued_ms;       /* monotonic */
	int64_t state_since_ms;    /* monotonic */
	int64_t tokens_out;
	char turn_id[SHM_TURN_ID_LEN];
} __attribute__((aligned(64)));

struct shm_header {
	uint32_t magic;
	uint32_t layout_version;
	uint64_t size;             /* bytes of the whole region */
	uint64_t generation;       /* configuration generation, bumped on reload */
	pid_t master_pid;
	int64_t started_ms;
	char version[16];
	int32_t worker_count;
	int32_t run_capacity;      /* records, fixed at creation */
	int32_t slot_limit;        /* may change on reload, up to run_capacity */
	int32_t queue_limit;
	int32_t connection_limit;  /* LIMIT_CONCURRENCY, per worker; may change on reload */
	int32_t draining;
	int32_t circuit_failures;  /* failed model turns in a row, all workers */
	int64_t circuit_open_until_ms; /* wall clock; turns go offline until then */
	uint64_t admissions;       /* bumped each time a run is admitted */
	uint64_t next_ticket;
	pthread_mutex_t lock;
} __attribute__((aligned(128)));

struct shm_region {
	struct shm_header *hdr;
	struct shm_worker *workers;
	struct shm_run *runs;
	size_t size;
	bool owner;                /* created it (the master): unlinks at close */
	char name[64];
};

/* Returns the region's size for the given capacities. */
size_t shm_region_size(int workers, int run_capacity);

/* Creates (or replaces a stale one left by a dead master) and initialises
 * the region. Returns 0, or -1 with the failed call and errno text in err;
 * another live instance on the same name is an error. */
int shm_region_create(struct shm_region *r, const char *name, int workers, int slot_limit,
		      int queue_limit, const char *version, char *err, size_t errlen);

/* Maps an existing region read-only and checks magic, layout version and
 * size. Returns 0, or -1 with the reason in err. */
int shm_region_open(struct shm_region *r, const char *name, char *err, size_t errlen);

/* Unmaps; the owner also unlinks the name. */
void shm_region_close(struct shm_region *r);

int64_t shm_now_ms(void);      /* monotonic */
int64_t shm_wall_ms(void);     /* since the epoch */

/* Agent slots. shm_run_enqueue takes a record for a turn and admits it at
 * once when a slot is free and nobody waits. Returns the record index, or -1
 * when MAX_QUEUE turns already wait (or every record is taken). */
int shm_run_enqueue(struct shm_region *r, int worker, const char *turn_id, int agent,
		    bool *admitted);

/* Returns true when the record at idx has been admitted (holds a slot). */
bool shm_run_admitted(struct shm_region *r, int idx);

/* Returns the 1-based position of a waiting record in the queue, or 0 once
 * admitted. */
int shm_run_position(struct shm_region *r, int idx);

/* Frees a record and, if it held a slot, admits the next waiters and wakes
 * their workers. Returns true when the record held a slot. */
bool shm_run_release(struct shm_region *r, int idx);

void shm_run_set_state(struct shm_region *r, int idx, enum shm_run_state state);

/* Frees every record owned by pid (a dead worker) and admits waiters.
 * Returns how many records were freed. */
int shm_reclaim_pid(struct shm_region *r, pid_t pid);

/* Changes the slot limit (reload) and admits waiters if it grew. */
void shm_set_slot_limit(struct shm_region *r, int slot_limit, int queue_limit);

struct shm_slot_counts {
	int in_use;
	int waiting;
};
struct shm_slot_counts shm_slot_counts(struct shm_region *r);

/* Adds a sample in microseconds to a histogram of worker w. */
void shm_observe(struct shm_worker *w, enum shm_histogram_kind kind, int64_t us);

static inline void shm_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void shm_gauge_add(int64_t *gauge, int64_t n)
{
	__atomic_fetch_add(gauge, n, __ATOMIC_RELAXED);
}

const char *shm_route_name(enum shm_route route);
const char *shm_run_state_name(enum shm_run_state state);
const char *shm_worker_state_name(enum shm_worker_state state);
const char *shm_model_error_name(enum shm_model_error kind);
const char *shm_timeout_name(enum shm_timeout_kind kind);
const char *shm_outcome_name(enum shm_turn_outcome outcome);
const char *shm_histogram_name(enum shm_histogram_kind kind);

#endif
