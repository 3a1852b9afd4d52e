#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "server/listen.h"
#include "server/log.h"
#include "server/master.h"
#include "server/migrate.h"
#include "server/notify.h"
#include "shm/region.h"
#include "workers/prompts.h"
#include "workers/proxy.h"
#include "workers/tools.h"
#include "workers/worker.h"

#define CHILDREN_MAX (SHM_WORKERS_MAX * 2)
#define CRASH_WINDOW_MS 10000
#define CRASH_LIMIT 5

struct child {
	pid_t pid;
	int index;
	uint32_t generation;
	bool draining;
	int64_t started_ms;
	int64_t kill_at_ms;        /* SIGKILL a draining child after this */
};

static struct {
	struct config cfg;
	struct shm_region region;
	int public_fd, admin_fd;
	char timezone[64];
	uint32_t generation;
	struct child children[CHILDREN_MAX];
	int64_t crash_times[CRASH_LIMIT];
	int crash_next;
	int64_t respawn_delay_ms;
	int64_t respawn_at_ms[SHM_WORKERS_MAX];
	bool stopping;
	int64_t stop_deadline_ms;
	int argc;
	char **argv;
} m;

static struct child *child_find(pid_t pid)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (m.children[i].pid == pid)
			return &m.children[i];
	return NULL;
}

static struct child *child_for_index(int index)
{
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (m.children[i].pid && m.children[i].index == index && !m.children[i].draining)
			return &m.children[i];
	return NULL;
}

static int children_alive(void)
{
	int n = 0;
	for (int i = 0; i < CHILDREN_MAX; i++)
		n += m.children[i].pid != 0;
	return n;
}

static pid_t spawn_worker(int index)
{
	struct child *c = child_find(0);
	if (!c)
		return -1;
	struct shm_worker *slot = &m.region.workers[index];

	/* Filled before the fork: a child that gets ready before the master
	 * runs again must not have its state set back to starting. */
	int32_t old_state = slot->state;
	int64_t old_started_ms = slot->started_ms;
	uint32_t old_generation = slot->generation;
	slot->state = WORKER_STARTING;
	slot->started_ms = shm_wall_ms();
	slot->heartbeat_ms = shm_now_ms();
	slot->generation = m.generation;
	slot->connections = 0;
	slot->streams = 0;
	pid_t master = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork_failed", "fork() failed: %s", strerror(errno));
		slot->state = old_state;
		slot->started_ms = old_started_ms;
		slot->generation = old_generation;
		return -1;
	}
	if (pid == 0) {
		/* A worker outliving the master would keep the port, and no one
		 * would replace it: SIGTERM makes it drain and exit. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != master)
			_exit(0);
		static struct worker w;
		w.index = index;
		w.cfg = &m.cfg;
		w.region = &m.region;
		w.public_fd = m.public_fd;
		w.admin_fd = m.admin_fd;
		snprintf(w.timezone, sizeof(w.timezone), "%s", m.timezone);
		m.region.owner = false;
		slot->pid = getpid();
		_exit(worker_main(&w));
	}

	/* The child stores its pid too, so whichever runs first, a reader
	 * never sees the old one once the child serves. */
	slot->pid = pid;
	*c = (struct child){ .pid = pid, .index = index, .generation = m.generation, .started_ms = shm_now_ms() };
	log_info("worker_spawned", "worker %d pid %d generation %u", index, (int)pid, m.generation);
	return pid;
}

/* Counts workers that died before they were ready in a sliding window and
 * doubles the respawn delay while that goes on, so a broken deploy does not
 * fork in a tight loop. */
static int64_t crash_backoff(void)
{
	int64_t now = shm_now_ms();
	m.crash_times[m.crash_next] = now;
	m.crash_next = (m.crash_next + 1) % CRASH_LIMIT;

	int recent = 0;
	for (int i = 0; i < CRASH_LIMIT; i++)
		recent += m.crash_times[i] && now - m.crash_times[i] < CRASH_WINDOW_MS;
	if (recent < CRASH_LIMIT) {
		m.respawn_delay_ms = 0;
		return 0;
	}
	m.respawn_delay_ms = m.respawn_delay_ms ? m.respawn_delay_ms * 2 : 500;
	if (m.respawn_delay_ms > 30000)
		m.respawn_delay_ms = 30000;
	return m.respawn_delay_ms;
}

static void describe_status(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

static int reap_children(void)
{
	int status;
	pid_t pid;
	int fatal = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_find(pid);
		char how[96];
		describe_status(status, how, sizeof(how));
		int freed = shm_reclaim_pid(&m.region, pid);
		if (!c) {
			log_warn("child_exited", "unknown child pid %d %s", (int)pid, how);
			continue;
		}
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		struct shm_worker *slot = &m.region.workers[c->index];
		bool served = slot->pid == pid && slot->state == WORKER_READY;
		log_write(clean ? LOG_INFO : LOG_WARN, NULL, "worker_exited",
			  "worker %d pid %d %s; %d agent runs reclaimed", c->index, (int)pid, how, freed);
		if (slot->pid == pid) {
			slot->state = WORKER_DEAD;
			slot->connections = 0;
			slot->streams = 0;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL)
			fatal = 1;
		int index = c->index;
		bool was_draining = c->draining;
		*c = (struct child){ 0 };
		if (!m.stopping && !was_draining && !fatal) {
			slot->restarts++;
			/* Only deaths before ready are a crash loop (a broken deploy);
			 * a worker that served is replaced at once however often it dies. */
			m.respawn_at_ms[index] = shm_now_ms() + (served ? 0 : crash_backoff());
			if (m.respawn_at_ms[index] > shm_now_ms())
				log_warn("respawn_delayed", "workers keep dying; worker %d restarts in %lld ms", index,
					 (long long)(m.respawn_at_ms[index] - shm_now_ms()));
		}
	}
	return fatal;
}

static void respawn_due(void)
{
	int64_t now = shm_now_ms();
	for (int i = 0; i < m.cfg.workers; i++) {
		if (!child_for_index(i) && m.respawn_at_ms[i] && now >= m.respawn_at_ms[i]) {
			m.respawn_at_ms[i] = 0;
			spawn_worker(i);
		}
	}
}

/* A worker whose dispatcher stopped beating is stuck: kill and replace it. */
static void check_heartbeats(void)
{
	int64_t now = shm_now_ms();
	for (int i = 0; i < CHILDREN_MAX; i++) {
		struct child *c = &m.children[i];
		if (!c->pid)
			continue;
		if (c->draining) {
			if (c->kill_at_ms && now > c->kill_at_ms) {
				log_warn("worker_drain_timeout", "worker %d pid %d did not drain in time; killing it",
					 c->index, (int)c->pid);
				kill(c->pid, SIGKILL);
				c->kill_at_ms = 0;
			}
			continue;
		}
		struct shm_worker *slot = &m.region.workers[c->index];
		int64_t beat = __atomic_load_n(&slot->heartbeat_ms, __ATOMIC_RELAXED);
		if (slot->pid == c->pid && now - beat > (int64_t)m.cfg.worker_timeout * 1000) {
			log_error("worker_hung", "worker %d pid %d has not beaten for %lld ms; killing it", c->index,
				  (int)c->pid, (long long)(now - beat));
			kill(c->pid, SIGKILL);
			slot->heartbeat_ms = now;   /* kill once */
		}
	}
}

/* Frees run records whose owner no longer exists (belt and braces for a
 * death that waitpid reported before its records were written). */
static void sweep_orphans(void)
{
	for (int i = 0; i < m.region.hdr->run_capacity; i++) {
		struct shm_run *run = &m.region.runs[i];
		pid_t pid = run->pid;
		if (run->state != RUN_FREE && pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			shm_reclaim_pid(&m.region, pid);
	}
}

static void drain_child(struct child *c, int64_t extra_ms)
{
	c->draining = true;
	c->kill_at_ms = shm_now_ms() + (int64_t)(m.cfg.drain_timeout + m.cfg.drain_delay) * 1000 + extra_ms;
	kill(c->pid, SIGTERM);
}

static void begin_stop(int sig)
{
	m.stopping = true;
	m.region.hdr->draining = 1;
	m.stop_deadline_ms = shm_now_ms() + (int64_t)(m.cfg.drain_timeout + m.cfg.drain_delay) * 1000 + 3000;
	log_info("master_stopping", "signal %d: draining %d workers for up to %d s", sig, children_alive(),
		 m.cfg.drain_timeout);
	notify_systemd("STOPPING=1");
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (m.children[i].pid)
			drain_child(&m.children[i], 2000);
}

/* Waits up to timeout_ms for the worker at index to report ready. */
static bool wait_ready(int index, pid_t pid, int64_t timeout_ms)
{
	int64_t until = shm_now_ms() + timeout_ms;
	while (shm_now_ms() < until) {
		struct shm_worker *slot = &m.region.workers[index];
		if (slot->pid == pid && slot->state == WORKER_READY)
			return true;
		if (reap_children())
			return false;
		struct timespec pause = { 0, 20 * 1000000 };
		nanosleep(&pause, NULL);
	}
	return false;
}

static int validate_config(const struct config *cfg, char *err, size_t errlen)
{
	if (proxy_configure(cfg->trusted_proxies, err, errlen) < 0)
		return -1;
	return prompts_load(cfg->prompts_dir, err, errlen);
}

/* SIGHUP: a new configuration, then each worker replaced by a new one; the
 * old one stops only once its successor serves, and drains its streams. */
static void reload(void)
{
	struct config fresh;
	char err[512];

	if (config_load(&fresh, m.argc, m.argv, NULL, err, sizeof(err)) < 0 ||
	    validate_config(&fresh, err, sizeof(err)) < 0) {
		log_error("reload_rejected", "%s; keeping the running configuration", err);
		validate_config(&m.cfg, err, sizeof(err));
		return;
	}
	if (fresh.port != m.cfg.port || strcmp(fresh.host, m.cfg.host) || fresh.workers != m.cfg.workers ||
	    strcmp(fresh.admin_listen, m.cfg.admin_listen) || strcmp(fresh.shm_name, m.cfg.shm_name))
		log_warn("reload_partial", "HOST, PORT, ADMIN_LISTEN, WORKERS and SHM_NAME change only at restart");
	fresh.port = m.cfg.port;
	fresh.workers = m.cfg.workers;
	snprintf(fresh.host, sizeof(fresh.host), "%s", m.cfg.host);
	snprintf(fresh.admin_listen, sizeof(fresh.admin_listen), "%s", m.cfg.admin_listen);
	snprintf(fresh.shm_name, sizeof(fresh.shm_name), "%s", m.cfg.shm_name);
	m.cfg = fresh;
	m.generation++;
	m.region.hdr->generation = m.generation;
	m.region.hdr->connection_limit = m.cfg.limit_concurrency;
	shm_set_slot_limit(&m.region, m.cfg.max_concurrent_crews, m.cfg.max_queue);
	log_info("reload_started", "generation %u: replacing %d workers one at a time", m.generation, m.cfg.workers);
	notify_systemd("RELOADING=1");

	for (int i = 0; i < m.cfg.workers && !m.stopping; i++) {
		struct child *old = child_for_index(i);
		pid_t old_pid = old ? old->pid : 0;
		pid_t pid = spawn_worker(i);
		if (pid < 0 || !wait_ready(i, pid, 15000)) {
			log_error("reload_failed", "worker %d of generation %u did not become ready", i, m.generation);
			continue;
		}
		old = old_pid ? child_find(old_pid) : NULL;
		if (old)
			drain_child(old, 2000);
	}
	notify_systemd("READY=1");
	log_info("reload_done", "generation %u serving", m.generation);
}

/* SIGUSR1, after logrotate renamed LOG_FILE: the master and every worker
 * open it again (workers forked later inherit the master's new file). */
static void reopen_logs(void)
{
	if (log_open(m.cfg.log_file) < 0)
		log_error("log_reopen_failed", "open(%s) failed: %s", m.cfg.log_file, strerror(errno));
	for (int i = 0; i < CHILDREN_MAX; i++)
		if (m.children[i].pid)
			kill(m.children[i].pid, SIGUSR1);
}

static void supervise(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	int64_t last_sweep = 0;
	for (;;) {
		struct timespec tick = { 0, 250 * 1000000 };
		int sig = sigtimedwait(&set, NULL, &tick);
		if ((sig == SIGTERM || sig == SIGINT) && !m.stopping)
			begin_stop(sig);
		else if (sig == SIGHUP && !m.stopping)
			reload();
		else if (sig == SIGUSR1)
			reopen_logs();

		if (reap_children() && !m.stopping) {
			log_error("worker_fatal", "a worker cannot serve; stopping (see its log lines above)");
			begin_stop(SIGTERM);
		}
		if (m.stopping) {
			if (children_alive() == 0)
				return;
			if (shm_now_ms() > m.stop_deadline_ms) {
				for (int i = 0; i < CHILDREN_MAX; i++)
					if (m.children[i].pid)
						kill(m.children[i].pid, SIGKILL);
			}
			continue;
		}
		respawn_due();
		check_heartbeats();
		notify_watchdog();
		if (shm_now_ms() - last_sweep > 1000) {
			sweep_orphans();
			last_sweep = shm_now_ms();
		}
	}
}

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Connects, retrying for up to 30 s: in a container task the database may
 * come up after maitred. */
static PGconn *connect_database(const char *url)
{
	for (int attempt = 1;; attempt++) {
		PGconn *pg = PQconnectdb(url);
		if (PQstatus(pg) == CONNECTION_OK)
			return pg;
		log_warn("postgres_connect_failed", "attempt %d: %s", attempt, PQerrorMessage(pg));
		PQfinish(pg);
		if (attempt == 15)
			return NULL;
		sleep(2);
	}
}

int master_prepare_database(const struct config *cfg, char *timezone, size_t tzlen)
{
	char err[512];
	PGconn *pg = connect_database(cfg->database_url);
	if (!pg) {
		log_error("startup_failed", "PostgreSQL at DATABASE_URL cannot be reached; start it or fix the URL");
		return -1;
	}
	if (migrate_apply(pg, err, sizeof(err)) < 0) {
		log_error("migration_failed", "%s", err);
		PQfinish(pg);
		return -1;
	}
	if (timezone && restaurant_timezone(pg, timezone, tzlen, err, sizeof(err)) < 0) {
		log_error("startup_failed", "cannot read the restaurant's time zone: %s", err);
		PQfinish(pg);
		return -1;
	}
	PQfinish(pg);
	return 0;
}

static int open_listeners(void)
{
	char err[256], host[96];
	int port;

	m.public_fd = listen_open(m.cfg.host, m.cfg.port, err, sizeof(err));
	if (m.public_fd < 0) {
		log_error("startup_failed", "public listener: %s", err);
		return -1;
	}
	m.admin_fd = -1;
	if (strcmp(m.cfg.admin_listen, "off") == 0)
		return 0;
	if (listen_split(m.cfg.admin_listen, host, sizeof(host), &port) < 0) {
		log_error("startup_failed", "invalid ADMIN_LISTEN=%s: expected host:port or off", m.cfg.admin_listen);
		return -1;
	}
	m.admin_fd = listen_open(host, port, err, sizeof(err));
	if (m.admin_fd < 0) {
		log_error("startup_failed", "admin listener: %s", err);
		return -1;
	}
	return 0;
}

int master_main(struct config *cfg, int argc, char **argv)
{
	char err[512];

	m.cfg = *cfg;
	m.argc = argc;
	m.argv = argv;
	m.generation = 1;
	signal(SIGPIPE, SIG_IGN);
	if (validate_config(&m.cfg, err, sizeof(err)) < 0) {
		log_error("startup_failed", "%s", err);
		return 1;
	}
	raise_fd_limit();
	if (master_prepare_database(&m.cfg, m.timezone, sizeof(m.timezone)) < 0)
		return 1;
	/* Every local date and time the workers compute is the restaurant's. */
	setenv("TZ", m.timezone, 1);
	tzset();
	if (open_listeners() < 0)
		return 1;
	if (shm_region_create(&m.region, m.cfg.shm_name, m.cfg.workers, m.cfg.max_concurrent_crews,
			      m.cfg.max_queue, MAITRED_VERSION, err, sizeof(err)) < 0) {
		log_error("startup_failed", "%s", err);
		return 1;
	}
	m.region.hdr->generation = m.generation;
	m.region.hdr->connection_limit = m.cfg.limit_concurrency;

	log_info("master_started",
		 "maitred %s on %s:%d (admin %s), %d workers x %d threads, %d agent slots, queue %d, agent %s, time zone %s",
		 MAITRED_VERSION, m.cfg.host, m.cfg.port, m.cfg.admin_listen, m.cfg.workers,
		 m.cfg.threads_per_worker, m.cfg.max_concurrent_crews, m.cfg.max_queue,
		 config_online(&m.cfg) ? "model" : "offline (no OPENAI_API_KEY)", m.timezone);
	for (int i = 0; i < m.cfg.workers; i++)
		spawn_worker(i);
	for (int i = 0; i < m.cfg.workers; i++)
		wait_ready(i, m.region.workers[i].pid, 10000);
	notify_systemd("READY=1");

	supervise();
	shm_region_close(&m.region);
	log_info("master_stopped", "all workers stopped");
	return 0;
}
