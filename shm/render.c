#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "shm/render.h"

struct text {
	char *buf;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 65536;
		char *grown = realloc(t->buf, cap);
		if (!grown)
			return;
		t->buf = grown;
		t->cap = cap;
	}
}

/* Copies worker i so the figures of one report agree with each other. */
static void copy_worker(struct shm_region *r, int i, struct shm_worker *out)
{
	memcpy(out, &r->workers[i], sizeof(*out));
}

static void help(struct text *t, const char *name, const char *type, const char *text)
{
	put(t, "# HELP maitred_%s %s\n# TYPE maitred_%s %s\n", name, text, name, type);
}

static void per_worker_counter(struct text *t, struct shm_worker *w, int n, const char *name,
			       const char *text, size_t offset)
{
	help(t, name, "counter", text);
	for (int i = 0; i < n; i++)
		put(t, "maitred_%s{worker=\"%d\"} %llu\n", name, i,
		    (unsigned long long)*(uint64_t *)((char *)&w[i] + offset));
}

static void per_worker_gauge(struct text *t, struct shm_worker *w, int n, const char *name,
			     const char *text, size_t offset)
{
	help(t, name, "gauge", text);
	for (int i = 0; i < n; i++)
		put(t, "maitred_%s{worker=\"%d\"} %lld\n", name, i,
		    (long long)*(int64_t *)((char *)&w[i] + offset));
}

static void histograms(struct text *t, struct shm_worker *w, int n)
{
	static const char *const help_text[HIST_COUNT] = {
		"Time a chat turn waited for an agent slot.",
		"Time from a chat request to the first token of its answer.",
		"Time from a chat request to its end.",
		"Duration of one model call.",
		"Duration of a request other than chat.",
	};
	for (int k = 0; k < HIST_COUNT; k++) {
		char name[64];
		snprintf(name, sizeof(name), "%s_seconds", shm_histogram_name(k));
		help(t, name, "histogram", help_text[k]);
		for (int i = 0; i < n; i++) {
			const struct shm_histogram *h = &w[i].hist[k];
			uint64_t cumulative = 0;
			for (int b = 0; b < SHM_BUCKETS; b++) {
				cumulative += h->buckets[b];
				put(t, "maitred_%s_bucket{worker=\"%d\",le=\"%g\"} %llu\n", name, i, shm_bucket_bounds[b],
				    (unsigned long long)cumulative);
			}
			cumulative += h->buckets[SHM_BUCKETS];
			put(t, "maitred_%s_bucket{worker=\"%d\",le=\"+Inf\"} %llu\n", name, i,
			    (unsigned long long)cumulative);
			put(t, "maitred_%s_sum{worker=\"%d\"} %.6f\n", name, i, (double)h->sum_us / 1e6);
			/* The buckets' total, not h->count: a sample being added may have
			 * reached one and not the other, and +Inf must equal the count. */
			put(t, "maitred_%s_count{worker=\"%d\"} %llu\n", name, i, (unsigned long long)cumulative);
		}
	}
}

static void requests(struct text *t, struct shm_worker *w, int n)
{
	help(t, "http_requests_total", "counter", "HTTP requests by route and status class.");
	for (int i = 0; i < n; i++)
		for (int route = 0; route < ROUTE_COUNT; route++)
			for (int c = 0; c < 4; c++)
				if (w[i].requests[route][c])
					put(t, "maitred_http_requests_total{worker=\"%d\",route=\"%s\",status=\"%dxx\"} %llu\n",
					    i, shm_route_name(route), c + 2,
					    (unsigned long long)w[i].requests[route][c]);
}

static void labelled(struct text *t, struct shm_worker *w, int n)
{
	help(t, "model_errors_total", "counter", "Failed model calls by kind.");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < MODEL_ERR_COUNT; k++)
			put(t, "maitred_model_errors_total{worker=\"%d\",kind=\"%s\"} %llu\n", i,
			    shm_model_error_name(k), (unsigned long long)w[i].model_errors[k]);
	help(t, "timeouts_total", "counter", "Deadlines that expired, by kind.");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < TIMEOUT_COUNT; k++)
			put(t, "maitred_timeouts_total{worker=\"%d\",kind=\"%s\"} %llu\n", i, shm_timeout_name(k),
			    (unsigned long long)w[i].timeouts[k]);
	help(t, "turns_total", "counter", "Chat turns by outcome.");
	for (int i = 0; i < n; i++)
		for (int k = 0; k < OUTCOME_COUNT; k++)
			put(t, "maitred_turns_total{worker=\"%d\",outcome=\"%s\"} %llu\n", i, shm_outcome_name(k),
			    (unsigned long long)w[i].turns[k]);
}

static int workers_ready(struct shm_region *r)
{
	int ready = 0;
	for (int i = 0; i < r->hdr->worker_count; i++)
		ready += __atomic_load_n(&r->workers[i].state, __ATOMIC_RELAXED) == WORKER_READY;
	return ready;
}

static void instance(struct text *t, struct shm_region *r)
{
	struct shm_slot_counts c = shm_slot_counts(r);
	int64_t open_until = r->hdr->circuit_open_until_ms;

	help(t, "agent_slots_limit", "gauge", "Agent runs allowed at once in this instance.");
	put(t, "maitred_agent_slots_limit %d\n", r->hdr->slot_limit);
	help(t, "agent_slots_in_use", "gauge", "Agent runs holding a slot now.");
	put(t, "maitred_agent_slots_in_use %d\n", c.in_use);
	help(t, "agent_queue_waiting", "gauge", "Chat turns waiting for an agent slot.");
	put(t, "maitred_agent_queue_waiting %d\n", c.waiting);
	help(t, "agent_queue_limit", "gauge", "Chat turns allowed to wait (MAX_QUEUE).");
	put(t, "maitred_agent_queue_limit %d\n", r->hdr->queue_limit);
	help(t, "connections_limit", "gauge", "Open HTTP connections allowed per worker (LIMIT_CONCURRENCY).");
	put(t, "maitred_connections_limit %d\n", r->hdr->connection_limit);
	help(t, "workers_ready", "gauge", "Worker processes ready to serve.");
	put(t, "maitred_workers_ready %d\n", workers_ready(r));
	help(t, "circuit_open", "gauge", "1 while model calls are suspended and the offline agent answers.");
	put(t, "maitred_circuit_open %d\n", open_until > shm_wall_ms() ? 1 : 0);
	help(t, "start_time_seconds", "gauge", "Start time of the master, in seconds since the epoch.");
	put(t, "maitred_start_time_seconds %.3f\n", (double)r->hdr->started_ms / 1000.0);
	help(t, "build_info", "gauge", "Version of this maitred.");
	put(t, "maitred_build_info{version=\"%s\"} 1\n", r->hdr->version);
}

char *render_prometheus(struct shm_region *r, size_t *len)
{
	int n = r->hdr->worker_count;
	struct shm_worker *w = calloc((size_t)n, sizeof(*w));
	struct text t = { 0 };
	if (!w)
		return NULL;
	for (int i = 0; i < n; i++)
		copy_worker(r, i, &w[i]);

	instance(&t, r);
	requests(&t, w, n);
#define COUNTER(field, name, text) per_worker_counter(&t, w, n, name, text, offsetof(struct shm_worker, field))
#define GAUGE(field, name, text) per_worker_gauge(&t, w, n, name, text, offsetof(struct shm_worker, field))
	GAUGE(connections, "connections", "Open HTTP connections.");
	GAUGE(streams, "active_streams", "Open chat event streams.");
	GAUGE(rss_bytes, "resident_memory_bytes", "Resident memory of the worker process.");
	COUNTER(restarts, "worker_restarts_total", "Times this worker position was restarted after an exit.");
	COUNTER(model_calls, "model_calls_total", "Model calls started.");
	COUNTER(model_retries, "model_retries_total", "Model calls retried after a failure.");
	COUNTER(tokens_in, "model_tokens_in_total", "Prompt tokens reported by the model server.");
	COUNTER(tokens_out, "model_tokens_out_total", "Completion tokens reported by the model server.");
	COUNTER(cost_microdollars, "model_cost_microdollars_total", "Estimated model cost in millionths of a US dollar.");
	COUNTER(tool_calls, "tool_calls_total", "Tool calls run for the model.");
	COUNTER(tool_failures, "tool_failures_total", "Tool calls that returned an error.");
	COUNTER(offline_turns, "offline_turns_total", "Chat turns answered by the offline agent.");
	COUNTER(circuit_fallbacks, "circuit_fallbacks_total", "Turns sent to the offline agent because the model failed.");
	COUNTER(upstream_aborts, "upstream_aborts_total", "Model calls aborted (guest gone or deadline).");
	COUNTER(rate_limit_waits, "model_quota_waits_total", "Model calls held back to stay within OPENAI_RPM or OPENAI_TPM.");
#undef COUNTER
#undef GAUGE
	labelled(&t, w, n);
	histograms(&t, w, n);
	free(w);
	*len = t.len;
	return t.buf;
}

static json_t *worker_json(const struct shm_worker *w, int index)
{
	uint64_t requests = 0, errors = 0;
	for (int route = 0; route < ROUTE_COUNT; route++) {
		for (int c = 0; c < 4; c++)
			requests += w->requests[route][c];
		errors += w->requests[route][3];
	}
	return json_pack("{s:i,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "index", index, "pid", (int)w->pid, "state", shm_worker_state_name(w->state),
			 "start_time_ms", (json_int_t)w->started_ms, "restarts", (json_int_t)w->restarts,
			 "generation", (json_int_t)w->generation, "connections", (json_int_t)w->connections,
			 "streams", (json_int_t)w->streams, "requests", (json_int_t)requests,
			 "errors", (json_int_t)errors, "rss_bytes", (json_int_t)w->rss_bytes,
			 "heartbeat_age_ms", (json_int_t)(shm_now_ms() - w->heartbeat_ms));
}

static json_t *runs_json(struct shm_region *r)
{
	json_t *runs = json_array();
	int64_t now = shm_now_ms();
	for (int i = 0; i < r->hdr->run_capacity; i++) {
		struct shm_run run;
		memcpy(&run, &r->runs[i], sizeof(run));
		if (run.state == RUN_FREE)
			continue;
		run.turn_id[SHM_TURN_ID_LEN - 1] = '\0';
		json_array_append_new(runs, json_pack("{s:i,s:i,s:s,s:s,s:s,s:I,s:I,s:I}",
						      "worker", run.worker, "pid", (int)run.pid,
						      "turn_id", run.turn_id, "agent", run.agent ? "booking" : "food",
						      "state", shm_run_state_name(run.state),
						      "seconds_in_state", (json_int_t)((now - run.state_since_ms) / 1000),
						      "ticket", (json_int_t)run.ticket,
						      "tokens_out", (json_int_t)run.tokens_out));
	}
	return runs;
}

json_t *render_stats(struct shm_region *r)
{
	struct shm_slot_counts c = shm_slot_counts(r);
	const struct shm_header *hdr = r->hdr;
	json_t *workers = json_array();

	for (int i = 0; i < hdr->worker_count; i++) {
		struct shm_worker w;
		copy_worker(r, i, &w);
		json_array_append_new(workers, worker_json(&w, i));
	}
	json_t *inst = json_pack("{s:i,s:I,s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:b,s:b,s:I}",
				 "pid", (int)hdr->master_pid, "start_time_ms", (json_int_t)hdr->started_ms,
				 "version", hdr->version, "slot_limit", hdr->slot_limit, "slots_in_use", c.in_use,
				 "waiters", c.waiting, "queue_limit", hdr->queue_limit,
				 "connection_limit", hdr->connection_limit, "workers_ready", workers_ready(r),
				 "draining", hdr->draining != 0,
				 "circuit_open", hdr->circuit_open_until_ms > shm_wall_ms(),
				 "generation", (json_int_t)hdr->generation);
	return json_pack("{s:o,s:o,s:o}", "instance", inst, "workers", workers, "runs", runs_json(r));
}

void render_stats_table(struct shm_region *r, FILE *out)
{
	struct shm_slot_counts c = shm_slot_counts(r);
	const struct shm_header *hdr = r->hdr;

	fprintf(out, "maitred %s  master pid %d  slots %d/%d in use  waiting %d/%d%s%s\n", hdr->version,
		(int)hdr->master_pid, c.in_use, hdr->slot_limit, c.waiting, hdr->queue_limit,
		hdr->draining ? "  DRAINING" : "", hdr->circuit_open_until_ms > shm_wall_ms() ? "  CIRCUIT OPEN" : "");
	fprintf(out, "%-6s %-8s %-9s %8s %6s %8s %10s %8s %9s\n", "worker", "pid", "state", "restarts", "conns",
		"streams", "requests", "errors", "rss_mb");
	for (int i = 0; i < hdr->worker_count; i++) {
		struct shm_worker w;
		copy_worker(r, i, &w);
		uint64_t requests = 0, errors = 0;
		for (int route = 0; route < ROUTE_COUNT; route++) {
			for (int k = 0; k < 4; k++)
				requests += w.requests[route][k];
			errors += w.requests[route][3];
		}
		fprintf(out, "%-6d %-8d %-9s %8llu %6lld %8lld %10llu %8llu %9.1f\n", i, (int)w.pid,
			shm_worker_state_name(w.state), (unsigned long long)w.restarts, (long long)w.connections,
			(long long)w.streams, (unsigned long long)requests, (unsigned long long)errors,
			(double)w.rss_bytes / 1048576.0);
	}
	json_t *runs = runs_json(r);
	if (json_array_size(runs)) {
		fprintf(out, "%-6s %-18s %-8s %-20s %8s %7s\n", "worker", "turn", "agent", "state", "seconds", "tokens");
		size_t i;
		json_t *run;
		json_array_foreach(runs, i, run)
			fprintf(out, "%-6lld %-18s %-8s %-20s %8lld %7lld\n",
				json_integer_value(json_object_get(run, "worker")),
				json_string_value(json_object_get(run, "turn_id")),
				json_string_value(json_object_get(run, "agent")),
				json_string_value(json_object_get(run, "state")),
				json_integer_value(json_object_get(run, "seconds_in_state")),
				json_integer_value(json_object_get(run, "tokens_out")));
	}
	json_decref(runs);
}
