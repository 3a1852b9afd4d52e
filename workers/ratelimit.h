#ifndef MAITRED_RATELIMIT_H
#define MAITRED_RATELIMIT_H

#include <hiredis/hiredis.h>

/* Counts one event of kind for client in a fixed one-minute window kept in
 * Redis, so the limit holds across workers and instances. Returns 1 when
 * the client is over limit (and sets *retry_after to the seconds left in
 * the window), 0 when allowed, -1 when Redis failed (callers let the
 * request through: a Redis outage must not lock guests out). */
int ratelimit_hit(redisContext *redis, const char *kind, const char *client, int limit,
		  int *retry_after);

#endif
