#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "server/log.h"
#include "workers/chat.h"
#include "workers/dispatch.h"
#include "workers/emf.h"
#include "workers/http.h"
#include "workers/jobs.h"
#include "workers/worker.h"

#define WORKER_DB_THREADS 4

struct worker *worker_self;

static int64_t read_rss_bytes(void)
{
	long pages_total = 0, pages_resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
		pages_resident = 0;
	fclose(f);
	return (int64_t)pages_resident * sysconf(_SC_PAGESIZE);
}

static bool slot_is_mine(const struct worker *w)
{
	return w->slot->pid == getpid();
}

void worker_set_gauge(int64_t *gauge, int64_t value)
{
	if (slot_is_mine(worker_self))
		__atomic_store_n(gauge, value, __ATOMIC_RELAXED);
}

static void set_state(struct worker *w, enum shm_worker_state state)
{
	if (slot_is_mine(w))
		__atomic_store_n(&w->slot->state, (int32_t)state, __ATOMIC_RELEASE);
}

/* Blocks the signals the main thread waits for, so threads started later
 * never take them. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int worker_start_parts(struct worker *w)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("worker_start_failed", "curl_global_init() failed");
		return -1;
	}
	if (jobs_start(WORKER_DB_THREADS, w->cfg->database_url, w->cfg->redis_url) < 0 ||
	    dispatch_start() < 0 || chat_watcher_start() < 0 || http_start() < 0)
		return -1;
	return 0;
}

/* Waits for signals. Each second it stores memory, connections and streams
 * and lets emf_tick write its metrics line when one is due (the dispatcher
 * beats the heartbeat). Returns on SIGTERM or SIGINT. */
static void worker_wait(struct worker *w, const sigset_t *set)
{
	struct timespec second = { 1, 0 };
	for (;;) {
		worker_set_gauge(&w->slot->rss_bytes, read_rss_bytes());
		worker_set_gauge(&w->slot->connections, http_open_connections());
		worker_set_gauge(&w->slot->streams, chat_stream_count());
		emf_tick(w);
		int sig = sigtimedwait(set, NULL, &second);
		if (sig == SIGTERM || sig == SIGINT)
			return;
		if (sig == SIGUSR1 && log_open(w->cfg->log_file) < 0)
			log_error("log_reopen_failed", "open(%s) failed: %s", w->cfg->log_file, strerror(errno));
	}
}

int worker_main(struct worker *w)
{
	char role[32];
	sigset_t set;

	worker_self = w;
	w->slot = &w->region->workers[w->index];
	snprintf(role, sizeof(role), "worker-%d", w->index);
	log_setup(role, strcmp(w->cfg->log_format, "json") == 0, (enum log_level)log_level_parse(w->cfg->log_level));
	block_signals(&set);

	if (worker_start_parts(w) < 0)
		return WORKER_EXIT_FATAL;
	w->slot->heartbeat_ms = shm_now_ms();
	set_state(w, WORKER_READY);
	log_info("worker_ready", "serving with %d HTTP threads, generation %u", w->cfg->threads_per_worker,
		 w->slot->generation);

	worker_wait(w, &set);

	/* /readyz already answers 503 (the master marked the region draining);
	 * keep serving while the load balancer notices. */
	if (w->cfg->drain_delay > 0) {
		struct timespec delay = { w->cfg->drain_delay, 0 };
		nanosleep(&delay, NULL);
	}
	set_state(w, WORKER_DRAINING);
	w->draining = 1;
	int64_t deadline = shm_now_ms() + (int64_t)w->cfg->drain_timeout * 1000;
	log_info("worker_draining", "finishing %d turns within %d s", dispatch_turn_count(), w->cfg->drain_timeout);
	http_stop(deadline);
	chat_watcher_stop();
	dispatch_stop();
	jobs_stop();
	curl_global_cleanup();
	log_info("worker_stopped", "drained");
	return 0;
}
