#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/jobs.h"

struct job {
	job_fn fn;
	void *arg;
	struct job *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct job *head, *tail;
	bool stopping;
	int threads;
	pthread_t *tids;
	const char *database_url;
	const char *redis_url;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

int redis_url_parse(const char *url, char *host, size_t hostlen, int *port, char *password,
		    size_t passlen, int *db)
{
	const char *p = url + strlen("redis://");
	const char *at = strchr(p, '@');

	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	password[0] = '\0';
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		if ((size_t)(at - pw) >= passlen)
			return -1;
		memcpy(password, pw, (size_t)(at - pw));
		password[at - pw] = '\0';
		p = at + 1;
	}
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	p += hl;
	*port = 6379;
	*db = 0;
	if (*p == ':') {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (end == p + 1 || n < 1 || n > 65535)
			return -1;
		*port = (int)n;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end || n < 0 || n > 1000)
			return -1;
		*db = (int)n;
	}
	return 0;
}

PGconn *job_pg(struct job_conn *conn)
{
	if (conn->pg && PQstatus(conn->pg) == CONNECTION_OK)
		return conn->pg;
	if (conn->pg)
		PQfinish(conn->pg);
	conn->pg = PQconnectdb(conn->database_url);
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		log_error("postgres_connect_failed", "PQconnectdb() failed: %s", PQerrorMessage(conn->pg));
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
	return conn->pg;
}

void job_pg_failed(struct job_conn *conn)
{
	if (conn->pg && PQstatus(conn->pg) != CONNECTION_OK) {
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
}

redisContext *job_redis(struct job_conn *conn)
{
	if (conn->redis && !conn->redis->err)
		return conn->redis;
	if (conn->redis)
		redisFree(conn->redis);
	conn->redis = NULL;

	char host[256], password[256];
	int port, db;
	if (redis_url_parse(conn->redis_url, host, sizeof(host), &port, password, sizeof(password), &db) < 0) {
		log_error("redis_url_invalid", "REDIS_URL is not redis://[:password@]host[:port][/db]");
		return NULL;
	}
	struct timeval timeout = { 2, 0 };
	redisContext *c = redisConnectWithTimeout(host, port, timeout);
	if (!c || c->err) {
		log_error("redis_connect_failed", "redisConnect(%s:%d) failed: %s", host, port,
			  c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, timeout);
	redisReply *reply = NULL;
	if (password[0])
		reply = redisCommand(c, "AUTH %s", password);
	if (password[0] && (!reply || reply->type == REDIS_REPLY_ERROR)) {
		log_error("redis_auth_failed", "Redis AUTH failed: %s", reply ? reply->str : c->errstr);
		freeReplyObject(reply);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(reply);
	if (db) {
		reply = redisCommand(c, "SELECT %d", db);
		freeReplyObject(reply);
	}
	conn->redis = c;
	return c;
}

void job_redis_failed(struct job_conn *conn)
{
	if (conn->redis && conn->redis->err) {
		redisFree(conn->redis);
		conn->redis = NULL;
	}
}

static void *pool_thread(void *unused)
{
	struct job_conn conn = {
		.database_url = pool.database_url,
		.redis_url = pool.redis_url,
	};

	pthread_mutex_lock(&pool.mu);
	for (;;) {
		while (!pool.head && !pool.stopping)
			pthread_cond_wait(&pool.cond, &pool.mu);
		struct job *job = pool.head;
		if (!job)
			break;
		pool.head = job->next;
		if (!pool.head)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.mu);

		job->fn(&conn, job->arg);
		free(job);

		pthread_mutex_lock(&pool.mu);
	}
	pthread_mutex_unlock(&pool.mu);

	if (conn.pg)
		PQfinish(conn.pg);
	if (conn.redis)
		redisFree(conn.redis);
	return NULL;
}

int jobs_start(int threads, const char *database_url, const char *redis_url)
{
	pool.database_url = database_url;
	pool.redis_url = redis_url;
	pool.stopping = false;
	pool.tids = calloc((size_t)threads, sizeof(pthread_t));
	if (!pool.tids)
		return -1;
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&pool.tids[i], NULL, pool_thread, NULL);
		if (rc) {
			log_error("thread_start_failed", "pthread_create() failed: %s", strerror(rc));
			return -1;
		}
		pool.threads++;
	}
	return 0;
}

int jobs_submit(job_fn fn, void *arg)
{
	struct job *job = malloc(sizeof(*job));
	if (!job)
		return -1;
	job->fn = fn;
	job->arg = arg;
	job->next = NULL;

	pthread_mutex_lock(&pool.mu);
	if (pool.stopping) {
		pthread_mutex_unlock(&pool.mu);
		free(job);
		return -1;
	}
	if (pool.tail)
		pool.tail->next = job;
	else
		pool.head = job;
	pool.tail = job;
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

void jobs_stop(void)
{
	pthread_mutex_lock(&pool.mu);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.mu);
	for (int i = 0; i < pool.threads; i++)
		pthread_join(pool.tids[i], NULL);
	free(pool.tids);
	pool.tids = NULL;
	pool.threads = 0;
}
