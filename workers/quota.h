#ifndef MAITRED_QUOTA_H
#define MAITRED_QUOTA_H

/*
 * The model provider's limits hold per organisation, not per process, so
 * requests and tokens per minute are counted in Redis over a sliding
 * 60-second window that every worker of every instance shares. Redis's own
 * clock (TIME) is used, so instances with skewed clocks still agree.
 * NOTE: all instances that share a Redis share one budget, whatever API key
 * they use.
 */
#include <hiredis/hiredis.h>

/* Reserves one request and est_tokens tokens. Returns 0 when granted, the
 * milliseconds to wait before asking again when the window is full (or the
 * provider asked everyone to pause), or -1 when Redis failed (the caller
 * goes ahead: a Redis outage must not stop the chat). */
long quota_acquire(redisContext *redis, int rpm, int tpm, long est_tokens, const char *member);

/* Corrects the token count by delta once the real usage is known. */
void quota_adjust(redisContext *redis, long delta_tokens);

/* Asks every instance to hold new model calls for ms milliseconds, when the
 * provider's x-ratelimit-remaining header says its budget is nearly spent. */
void quota_pause(redisContext *redis, long ms);

#endif
