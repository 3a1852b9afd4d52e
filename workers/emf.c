#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "server/log.h"
#include "workers/emf.h"
#include "workers/worker.h"

static struct {
	bool started;
	int64_t next_ms;             /* monotonic time of the next line */
	struct emf_sample last;
	int64_t memory_limit;
	bool write_failed_logged;
} emf;

void emf_sample_take(struct shm_region *r, int index, struct emf_sample *out)
{
	const struct shm_worker *self = &r->workers[index];

	memset(out, 0, sizeof(*out));
	out->wall_ms = shm_wall_ms();
	out->turns = __atomic_load_n(&self->hist[HIST_TURN].count, __ATOMIC_RELAXED);
	out->turn_us = __atomic_load_n(&self->hist[HIST_TURN].sum_us, __ATOMIC_RELAXED);
	out->rate_limit_errors = __atomic_load_n(&self->model_errors[MODEL_ERR_RATE_LIMITED], __ATOMIC_RELAXED);
	out->streams = __atomic_load_n(&self->streams, __ATOMIC_RELAXED);
	out->rss_bytes = __atomic_load_n(&self->rss_bytes, __ATOMIC_RELAXED);

	/* NOTE: each worker's RSS counts the shared libraries and the region
	 * again, so the sum overstates the instance's memory a little. */
	for (int i = 0; i < r->hdr->worker_count; i++) {
		const struct shm_worker *w = &r->workers[i];
		int32_t state = __atomic_load_n(&w->state, __ATOMIC_RELAXED);
		if (state == WORKER_EMPTY || state == WORKER_DEAD)
			continue;
		out->instance_streams += __atomic_load_n(&w->streams, __ATOMIC_RELAXED);
		out->instance_rss_bytes += __atomic_load_n(&w->rss_bytes, __ATOMIC_RELAXED);
	}

	struct shm_slot_counts counts = shm_slot_counts(r);
	out->slots_in_use = counts.in_use;
	out->slot_limit = r->hdr->slot_limit;
	out->queue_limit = r->hdr->queue_limit;
}

static uint64_t counter_delta(uint64_t before, uint64_t after)
{
	return after >= before ? after - before : 0;
}

static double percent(double part, double whole)
{
	return whole > 0 ? part * 100.0 / whole : 0.0;
}

/* Adds a metric's value to the root and its definition to the directive. */
static void add_metric(json_t *root, json_t *definitions, const char *name, const char *unit, json_t *value)
{
	json_object_set_new(root, name, value);
	json_array_append_new(definitions, json_pack("{s:s,s:s}", "Name", name, "Unit", unit));
}

static void add_interval_metrics(json_t *root, json_t *defs, const struct emf_sample *prev,
				 const struct emf_sample *now)
{
	uint64_t turns = counter_delta(prev->turns, now->turns);
	double turn_seconds = (double)counter_delta(prev->turn_us, now->turn_us) / 1e6;

	add_metric(root, defs, "Turns", "Count", json_integer((json_int_t)turns));
	add_metric(root, defs, "TurnDurationSum", "Seconds", json_real(turn_seconds));
	/* An average of no turns would pull the Average statistic towards 0. */
	if (turns > 0)
		add_metric(root, defs, "TurnDurationAverage", "Seconds", json_real(turn_seconds / (double)turns));
	add_metric(root, defs, "ModelRateLimitErrors", "Count",
		   json_integer((json_int_t)counter_delta(prev->rate_limit_errors, now->rate_limit_errors)));
}

static void add_gauge_metrics(json_t *root, json_t *defs, const struct emf_sample *now, int64_t memory_limit)
{
	add_metric(root, defs, "ActiveStreams", "Count", json_integer(now->streams));
	add_metric(root, defs, "MemoryResident", "Bytes", json_integer(now->rss_bytes));
	add_metric(root, defs, "SlotsInUse", "Count", json_integer(now->slots_in_use));
	add_metric(root, defs, "SlotLimit", "Count", json_integer(now->slot_limit));
	add_metric(root, defs, "SlotUtilization", "Percent",
		   json_real(percent(now->slots_in_use, now->slot_limit)));
	add_metric(root, defs, "StreamUtilization", "Percent",
		   json_real(percent((double)now->instance_streams, (double)now->slot_limit + now->queue_limit)));
	if (memory_limit > 0)
		add_metric(root, defs, "MemoryUtilization", "Percent",
			   json_real(percent((double)now->instance_rss_bytes, (double)memory_limit)));
}

char *emf_format_line(const struct emf_sample *prev, const struct emf_sample *now, const char *service,
		      int worker, int pid, int64_t memory_limit)
{
	json_t *defs = json_array();
	json_t *root = json_pack("{s:{s:I,s:[{s:s,s:[[s]],s:O}]},s:s,s:i,s:i,s:f}",
				 "_aws", "Timestamp", (json_int_t)now->wall_ms, "CloudWatchMetrics",
				 "Namespace", EMF_NAMESPACE, "Dimensions", "Service", "Metrics", defs,
				 "Service", service, "Worker", worker, "Pid", pid,
				 "IntervalSeconds", (double)(now->wall_ms - prev->wall_ms) / 1000.0);
	if (!root) {
		json_decref(defs);
		return NULL;
	}

	add_interval_metrics(root, defs, prev, now);
	add_gauge_metrics(root, defs, now, memory_limit);
	json_decref(defs);

	char *line = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(root);
	return line;
}

/* Reads the first integer of a file; "max" (cgroup v2 without a limit)
 * and unreadable files give -1. */
static int64_t read_limit_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long long value = -1;
	if (fscanf(f, "%lld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

static int64_t lower_limit(int64_t current, int64_t candidate)
{
	if (candidate <= 0)
		return current;
	return current <= 0 || candidate < current ? candidate : current;
}

/* Takes the lowest limit in file name of the cgroup at path and of each
 * cgroup above it, up to the hierarchy's root at base. */
static int64_t cgroup_limit(const char *base, const char *cgroup, const char *name)
{
	char path[1024], dir[512];
	int64_t limit = 0;

	snprintf(dir, sizeof(dir), "%s", cgroup);
	for (;;) {
		size_t len = strlen(dir);
		while (len && dir[len - 1] == '/')
			dir[--len] = '\0';
		snprintf(path, sizeof(path), "%s%s/%s", base, dir, name);
		limit = lower_limit(limit, read_limit_file(path));
		char *slash = strrchr(dir, '/');
		if (!len || !slash)
			break;
		*slash = '\0';
	}
	return limit;
}

static int64_t cgroups_limit(const char *root)
{
	char path[600], line[700], base[600];
	int64_t limit = 0;

	snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* "0::/path" is cgroup v2; "4:memory:/path" the v1 memory controller. */
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(base, sizeof(base), "%s/sys/fs/cgroup", root);
			limit = lower_limit(limit, cgroup_limit(base, line + 3, "memory.max"));
		}
		char *controllers = strchr(line, ':');
		char *cgroup = controllers ? strchr(controllers + 1, ':') : NULL;
		if (cgroup && strncmp(controllers, ":memory:", 8) == 0) {
			snprintf(base, sizeof(base), "%s/sys/fs/cgroup/memory", root);
			limit = lower_limit(limit, cgroup_limit(base, cgroup + 1, "memory.limit_in_bytes"));
		}
	}
	fclose(f);
	return limit;
}

static int64_t mem_total(const char *root)
{
	char path[600], line[256];
	long long kib = 0;

	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return (int64_t)kib * 1024;
}

int64_t emf_memory_limit(const char *root)
{
	return lower_limit(cgroups_limit(root), mem_total(root));
}

/* One write per line keeps the lines of several workers apart, as the log does. */
static void write_line(const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	if (!buf)
		return;
	memcpy(buf, line, len);
	buf[len] = '\n';

	ssize_t n;
	do {
		n = write(STDOUT_FILENO, buf, len + 1);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)(len + 1) && !emf.write_failed_logged) {
		emf.write_failed_logged = true;
		log_warn("emf_write_failed", "write() of a metric line to stdout failed: %s; later failures are not logged",
			 n < 0 ? strerror(errno) : "short write");
	}
	free(buf);
}

void emf_tick(struct worker *w)
{
	if (!w->cfg->metrics_emf || w->slot->pid != getpid())
		return;

	int64_t now_ms = shm_now_ms();
	if (!emf.started) {
		/* NOTE: what a replaced worker counted after its last line is lost. */
		emf.started = true;
		emf.memory_limit = emf_memory_limit("");
		emf.next_ms = now_ms + (int64_t)w->cfg->emf_interval * 1000;
		emf_sample_take(w->region, w->index, &emf.last);
		return;
	}
	if (now_ms < emf.next_ms)
		return;

	struct emf_sample sample;
	emf_sample_take(w->region, w->index, &sample);
	char *line = emf_format_line(&emf.last, &sample, w->cfg->emf_service, w->index, (int)getpid(),
				     emf.memory_limit);
	if (line)
		write_line(line);
	free(line);
	emf.last = sample;
	emf.next_ms += (int64_t)w->cfg->emf_interval * 1000;
	if (emf.next_ms <= now_ms)
		emf.next_ms = now_ms + (int64_t)w->cfg->emf_interval * 1000;
}
