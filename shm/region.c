#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm/region.h"

const double shm_bucket_bounds[SHM_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
};

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

size_t shm_region_size(int workers, int run_capacity)
{
	size_t size = align_up(sizeof(struct shm_header), 128);
	size += align_up(sizeof(struct shm_worker) * (size_t)workers, 128);
	size += align_up(sizeof(struct shm_run) * (size_t)run_capacity, 128);
	return size;
}

/* Points the parts at their places and checks that they end exactly at the
 * region's end, so a layout change that forgets the size shows at once. */
static int region_carve(struct shm_region *r, int workers, int runs)
{
	char *base = (char *)r->hdr;
	size_t at = align_up(sizeof(struct shm_header), 128);

	r->workers = (struct shm_worker *)(base + at);
	at += align_up(sizeof(struct shm_worker) * (size_t)workers, 128);
	r->runs = (struct shm_run *)(base + at);
	at += align_up(sizeof(struct shm_run) * (size_t)runs, 128);
	return at == r->size ? 0 : -1;
}

int64_t shm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t shm_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A region whose master still runs belongs to another instance. */
static int region_check_stale(const char *name, char *err, size_t errlen)
{
	int fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return 0;

	struct shm_header hdr;
	ssize_t n = read(fd, &hdr, sizeof(hdr));
	close(fd);
	if (n == (ssize_t)sizeof(hdr) && hdr.magic == SHM_MAGIC && hdr.master_pid > 0 &&
	    hdr.master_pid != getpid() && kill(hdr.master_pid, 0) == 0) {
		snprintf(err, errlen,
			 "shared memory %s belongs to a running maitred (pid %d); stop it or set SHM_NAME",
			 name, (int)hdr.master_pid);
		return -1;
	}
	shm_unlink(name);
	return 0;
}

static int region_init_lock(struct shm_header *hdr, char *err, size_t errlen)
{
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);
	if (!rc)
		rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (!rc)
		rc = pthread_mutex_init(&hdr->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc) {
		snprintf(err, errlen, "pthread_mutex_init() failed: %s", strerror(rc));
		return -1;
	}
	return 0;
}

int shm_region_create(struct shm_region *r, const char *name, int workers, int slot_limit,
		      int queue_limit, const char *version, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (region_check_stale(name, err, errlen) < 0)
		return -1;

	int capacity = slot_limit + queue_limit;
	r->size = shm_region_size(workers, capacity);
	int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "shm_open(%s) failed: %s", name, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)r->size) < 0) {
		snprintf(err, errlen, "ftruncate(%s, %zu) failed: %s", name, r->size, strerror(errno));
		goto fail_fd;
	}
	void *base = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(%s) failed: %s", name, strerror(errno));
		goto fail_fd;
	}
	close(fd);

	r->hdr = base;
	r->owner = true;
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (region_carve(r, workers, capacity) < 0) {
		snprintf(err, errlen, "shared memory layout does not add up to %zu bytes", r->size);
		shm_region_close(r);
		return -1;
	}

	struct shm_header *hdr = r->hdr;
	hdr->layout_version = SHM_LAYOUT_VERSION;
	hdr->size = r->size;
	hdr->master_pid = getpid();
	hdr->started_ms = shm_wall_ms();
	snprintf(hdr->version, sizeof(hdr->version), "%s", version);
	hdr->worker_count = workers;
	hdr->run_capacity = capacity;
	hdr->slot_limit = slot_limit;
	hdr->queue_limit = queue_limit;
	hdr->next_ticket = 1;
	for (int i = 0; i < workers; i++) {
		r->workers[i].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->workers[i].wake_fd < 0) {
			snprintf(err, errlen, "eventfd() failed: %s", strerror(errno));
			shm_region_close(r);
			return -1;
		}
	}
	if (region_init_lock(hdr, err, errlen) < 0) {
		shm_region_close(r);
		return -1;
	}
	/* Readers check the magic last written, so they never see a half-made region. */
	__atomic_store_n(&hdr->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	return 0;

fail_fd:
	close(fd);
	shm_unlink(name);
	return -1;
}

int shm_region_open(struct shm_region *r, const char *name, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	int fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0) {
		snprintf(err, errlen, "shm_open(%s) failed: %s (is maitred running with this SHM_NAME or PORT?)",
			 name, strerror(errno));
		return -1;
	}

	struct stat st;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(struct shm_header)) {
		snprintf(err, errlen, "shared memory %s is too small to be a maitred region", name);
		close(fd);
		return -1;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "mmap(%s) failed: %s", name, strerror(errno));
		return -1;
	}

	r->hdr = base;
	r->size = (size_t)st.st_size;
	snprintf(r->name, sizeof(r->name), "%s", name);
	const struct shm_header *hdr = r->hdr;
	if (hdr->magic != SHM_MAGIC || hdr->layout_version != SHM_LAYOUT_VERSION ||
	    hdr->size != r->size || hdr->worker_count < 0 || hdr->worker_count > SHM_WORKERS_MAX ||
	    shm_region_size(hdr->worker_count, hdr->run_capacity) != r->size ||
	    region_carve(r, hdr->worker_count, hdr->run_capacity) < 0) {
		snprintf(err, errlen,
			 "shared memory %s has another layout (magic %#x, version %u, size %zu); this build reads version %u",
			 name, hdr->magic, hdr->layout_version, r->size, SHM_LAYOUT_VERSION);
		munmap(base, r->size);
		r->hdr = NULL;
		return -1;
	}
	return 0;
}

void shm_region_close(struct shm_region *r)
{
	if (!r->hdr)
		return;
	munmap(r->hdr, r->size);
	if (r->owner)
		shm_unlink(r->name);
	r->hdr = NULL;
}

/* Takes the lock. When its last holder died, the records are still whole
 * (each is changed by single stores), so marking it consistent is enough. */
static void region_lock(struct shm_region *r)
{
	int rc = pthread_mutex_lock(&r->hdr->lock);
	if (rc == EOWNERDEAD)
		pthread_mutex_consistent(&r->hdr->lock);
}

static void region_unlock(struct shm_region *r)
{
	pthread_mutex_unlock(&r->hdr->lock);
}

static bool run_holds_slot(int32_t state)
{
	return state != RUN_FREE && state != RUN_QUEUED;
}

static void wake_worker(struct shm_region *r, int worker)
{
	if (worker < 0 || worker >= r->hdr->worker_count)
		return;
	uint64_t one = 1;
	ssize_t ignored = write(r->workers[worker].wake_fd, &one, sizeof(one));
	(void)ignored;
}

/* Admits waiting runs in ticket order while slots are free. Lock held. */
static void admit_waiters(struct shm_region *r)
{
	struct shm_header *hdr = r->hdr;

	for (;;) {
		int in_use = 0, next = -1;
		for (int i = 0; i < hdr->run_capacity; i++) {
			int32_t state = r->runs[i].state;
			if (run_holds_slot(state))
				in_use++;
			else if (state == RUN_QUEUED && (next < 0 || r->runs[i].ticket < r->runs[next].ticket))
				next = i;
		}
		if (next < 0 || in_use >= hdr->slot_limit)
			return;
		r->runs[next].state_since_ms = shm_now_ms();
		__atomic_store_n(&r->runs[next].state, RUN_ADMITTED, __ATOMIC_RELEASE);
		hdr->admissions++;
		wake_worker(r, r->runs[next].worker);
	}
}

int shm_run_enqueue(struct shm_region *r, int worker, const char *turn_id, int agent,
		    bool *admitted)
{
	struct shm_header *hdr = r->hdr;
	int idx = -1, waiting = 0;

	region_lock(r);
	for (int i = 0; i < hdr->run_capacity; i++) {
		if (r->runs[i].state == RUN_QUEUED)
			waiting++;
		else if (r->runs[i].state == RUN_FREE && idx < 0)
			idx = i;
	}
	if (idx >= 0 && waiting >= hdr->queue_limit) {
		/* Still admit at once when a slot is free and nobody waits. */
		struct shm_slot_counts c = { 0, 0 };
		for (int i = 0; i < hdr->run_capacity; i++)
			c.in_use += run_holds_slot(r->runs[i].state);
		if (waiting > 0 || c.in_use >= hdr->slot_limit)
			idx = -1;
	}
	if (idx >= 0) {
		struct shm_run *run = &r->runs[idx];
		memset(run, 0, sizeof(*run));
		run->worker = worker;
		run->pid = getpid();
		run->agent = agent;
		run->ticket = hdr->next_ticket++;
		run->enqueued_ms = run->state_since_ms = shm_now_ms();
		snprintf(run->turn_id, sizeof(run->turn_id), "%s", turn_id);
		run->state = RUN_QUEUED;
		admit_waiters(r);
		*admitted = run->state == RUN_ADMITTED;
	}
	region_unlock(r);
	return idx;
}

bool shm_run_admitted(struct shm_region *r, int idx)
{
	return run_holds_slot(__atomic_load_n(&r->runs[idx].state, __ATOMIC_ACQUIRE));
}

int shm_run_position(struct shm_region *r, int idx)
{
	int position = 1;

	region_lock(r);
	const struct shm_run *me = &r->runs[idx];
	if (me->state != RUN_QUEUED) {
		position = 0;
	} else {
		for (int i = 0; i < r->hdr->run_capacity; i++)
			if (r->runs[i].state == RUN_QUEUED && r->runs[i].ticket < me->ticket)
				position++;
	}
	region_unlock(r);
	return position;
}

bool shm_run_release(struct shm_region *r, int idx)
{
	region_lock(r);
	bool held = run_holds_slot(r->runs[idx].state);
	r->runs[idx].state = RUN_FREE;
	if (held)
		admit_waiters(r);
	region_unlock(r);
	return held;
}

void shm_run_set_state(struct shm_region *r, int idx, enum shm_run_state state)
{
	struct shm_run *run = &r->runs[idx];
	if (!run_holds_slot(run->state) || !run_holds_slot((int32_t)state))
		return;
	run->state_since_ms = shm_now_ms();
	__atomic_store_n(&run->state, (int32_t)state, __ATOMIC_RELEASE);
}

int shm_reclaim_pid(struct shm_region *r, pid_t pid)
{
	int freed = 0;

	region_lock(r);
	for (int i = 0; i < r->hdr->run_capacity; i++) {
		if (r->runs[i].state != RUN_FREE && r->runs[i].pid == pid) {
			r->runs[i].state = RUN_FREE;
			freed++;
		}
	}
	admit_waiters(r);
	region_unlock(r);
	return freed;
}

void shm_set_slot_limit(struct shm_region *r, int slot_limit, int queue_limit)
{
	region_lock(r);
	if (slot_limit > r->hdr->run_capacity)
		slot_limit = r->hdr->run_capacity;
	r->hdr->slot_limit = slot_limit;
	r->hdr->queue_limit = queue_limit;
	admit_waiters(r);
	region_unlock(r);
}

struct shm_slot_counts shm_slot_counts(struct shm_region *r)
{
	struct shm_slot_counts c = { 0, 0 };

	for (int i = 0; i < r->hdr->run_capacity; i++) {
		int32_t state = __atomic_load_n(&r->runs[i].state, __ATOMIC_RELAXED);
		if (state == RUN_QUEUED)
			c.waiting++;
		else if (run_holds_slot(state))
			c.in_use++;
	}
	return c;
}

void shm_observe(struct shm_worker *w, enum shm_histogram_kind kind, int64_t us)
{
	struct shm_histogram *h = &w->hist[kind];
	double seconds = (double)us / 1e6;
	int b = 0;

	if (us < 0)
		us = 0;
	while (b < SHM_BUCKETS && seconds > shm_bucket_bounds[b])
		b++;
	shm_add(&h->buckets[b], 1);
	shm_add(&h->count, 1);
	shm_add(&h->sum_us, (uint64_t)us);
}

const char *shm_route_name(enum shm_route route)
{
	static const char *const names[ROUTE_COUNT] = {
		"chat", "page", "menu", "menu_item", "availability", "reservation_create",
		"reservation_get", "reservation_delete", "healthz", "readyz", "metrics", "stats", "other",
	};
	return route < ROUTE_COUNT ? names[route] : "other";
}

const char *shm_run_state_name(enum shm_run_state state)
{
	static const char *const names[RUN_STATE_COUNT] = {
		"free", "queued", "admitted", "waiting_first_token", "streaming", "running_tool", "guest_gone",
	};
	return state < RUN_STATE_COUNT ? names[state] : "unknown";
}

const char *shm_worker_state_name(enum shm_worker_state state)
{
	static const char *const names[] = { "empty", "starting", "ready", "draining", "dead" };
	return state <= WORKER_DEAD ? names[state] : "unknown";
}

const char *shm_model_error_name(enum shm_model_error kind)
{
	static const char *const names[MODEL_ERR_COUNT] = {
		"rate_limited", "timeout", "server", "bad_response", "connection",
	};
	return kind < MODEL_ERR_COUNT ? names[kind] : "unknown";
}

const char *shm_timeout_name(enum shm_timeout_kind kind)
{
	static const char *const names[TIMEOUT_COUNT] = {
		"connect", "first_token", "idle", "call", "turn",
	};
	return kind < TIMEOUT_COUNT ? names[kind] : "unknown";
}

const char *shm_outcome_name(enum shm_turn_outcome outcome)
{
	static const char *const names[OUTCOME_COUNT] = {
		"done", "error", "guest_gone", "queue_full", "queue_timeout", "rate_limited",
	};
	return outcome < OUTCOME_COUNT ? names[outcome] : "unknown";
}

const char *shm_histogram_name(enum shm_histogram_kind kind)
{
	static const char *const names[HIST_COUNT] = {
		"queue_wait", "time_to_first_token", "turn_duration", "model_call_duration", "request_duration",
	};
	return kind < HIST_COUNT ? names[kind] : "unknown";
}
