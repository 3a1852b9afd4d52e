#ifndef MAITRED_JOBS_H
#define MAITRED_JOBS_H

/*
 * A worker's pool of database threads. libpq and hiredis calls block, so
 * they run here and never on an HTTP thread or the dispatcher. Each thread
 * owns one PostgreSQL and one Redis connection, made on first use and made
 * again after a failure.
 */
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

struct job_conn {
	PGconn *pg;
	redisContext *redis;
	const char *database_url;
	const char *redis_url;
};

typedef void (*job_fn)(struct job_conn *conn, void *arg);

/* Starts threads threads. Returns 0, or -1 when a thread cannot start. */
int jobs_start(int threads, const char *database_url, const char *redis_url);

/* Queues fn(conn, arg) to run on a pool thread. Never blocks. Returns 0,
 * or -1 once the pool is stopping (fn is then not called). */
int jobs_submit(job_fn fn, void *arg);

/* Runs what is queued, then stops and joins the threads. */
void jobs_stop(void);

/* Returns a live connection, reconnecting when the last one failed, or
 * NULL when PostgreSQL cannot be reached (the reason is logged). */
PGconn *job_pg(struct job_conn *conn);

/* The same for Redis. */
redisContext *job_redis(struct job_conn *conn);

/* Marks the connection broken after a failed call, so the next use
 * reconnects. */
void job_pg_failed(struct job_conn *conn);
void job_redis_failed(struct job_conn *conn);

/* Parses redis://[:password@]host[:port][/db]. Returns 0 or -1. */
int redis_url_parse(const char *url, char *host, size_t hostlen, int *port, char *password,
		    size_t passlen, int *db);

#endif
