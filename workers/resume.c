#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/resume.h"

int resume_parse_id(const char *text, char *request_id, size_t len, long *after)
{
	const char *dash = strrchr(text, '-');
	if (!dash || dash == text || (size_t)(dash - text) >= len)
		return -1;
	char *end;
	long n = strtol(dash + 1, &end, 10);
	if (end == dash + 1 || *end || n < 0)
		return -1;
	size_t idlen = (size_t)(dash - text);
	if (strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") < idlen)
		return -1;
	memcpy(request_id, text, idlen);
	request_id[idlen] = '\0';
	*after = n;
	return 0;
}

void resume_journal(struct turn *t, const char *text, size_t len)
{
	if (t->journal_len + len + 1 > t->journal_cap) {
		size_t cap = t->journal_cap ? t->journal_cap : 2048;
		while (cap < t->journal_len + len + 1)
			cap *= 2;
		char *grown = realloc(t->journal, cap);
		if (!grown)
			return;
		t->journal = grown;
		t->journal_cap = cap;
	}
	memcpy(t->journal + t->journal_len, text, len);
	t->journal_len += len;
}

static void persist_job(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;

	/* One writer at a time keeps the list in event order. */
	pthread_mutex_lock(&t->persist_mu);
	pthread_mutex_lock(&t->mu);
	size_t from = t->journal_persisted, to = t->journal_len;
	char *chunk = to > from ? malloc(to - from) : NULL;
	if (chunk)
		memcpy(chunk, t->journal + from, to - from);
	pthread_mutex_unlock(&t->mu);

	redisContext *redis = chunk ? job_redis(conn) : NULL;
	if (redis) {
		char key[96], owner[112];
		snprintf(key, sizeof(key), "maitred:stream:%s", t->stream_id);
		snprintf(owner, sizeof(owner), "maitred:stream:%s:session", t->stream_id);
		redisAppendCommand(redis, "RPUSH %s %b", key, chunk, to - from);
		redisAppendCommand(redis, "EXPIRE %s %d", key, RESUME_TTL);
		redisAppendCommand(redis, "SET %s %s EX %d", owner, t->session_id, RESUME_TTL);
		redisReply *a = NULL, *b = NULL, *c = NULL;
		if (redisGetReply(redis, (void **)&a) == REDIS_OK && redisGetReply(redis, (void **)&b) == REDIS_OK &&
		    redisGetReply(redis, (void **)&c) == REDIS_OK && a->type == REDIS_REPLY_INTEGER) {
			pthread_mutex_lock(&t->mu);
			t->journal_persisted = to;
			pthread_mutex_unlock(&t->mu);
		} else {
			log_write(LOG_WARN, t->id, "resume_persist_failed", "Redis RPUSH failed: %s", redis->errstr);
			job_redis_failed(conn);
		}
		freeReplyObject(a);
		freeReplyObject(b);
		freeReplyObject(c);
	}
	free(chunk);
	__atomic_store_n(&t->persist_busy, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->persist_mu);
	turn_unref(t);
}

void resume_persist(struct turn *t, bool final)
{
	pthread_mutex_lock(&t->mu);
	bool pending = t->journal_len > t->journal_persisted;
	pthread_mutex_unlock(&t->mu);
	if (!pending)
		return;
	/* The final write may queue behind one under way; others just wait. */
	if (!final && __atomic_exchange_n(&t->persist_busy, 1, __ATOMIC_ACQ_REL))
		return;
	if (final)
		__atomic_store_n(&t->persist_busy, 1, __ATOMIC_RELEASE);
	turn_ref(t);
	if (jobs_submit(persist_job, t) < 0) {
		__atomic_store_n(&t->persist_busy, 0, __ATOMIC_RELEASE);
		turn_unref(t);
	}
}

/* Returns the number after "id: <request id>-" in one event block, or -1. */
static long block_event_number(const char *block, size_t len)
{
	if (len < 4 || strncmp(block, "id: ", 4) != 0)
		return -1;
	const char *eol = memchr(block, '\n', len);
	const char *dash = eol ? memrchr(block, '-', (size_t)(eol - block)) : NULL;
	return dash ? strtol(dash + 1, NULL, 10) : -1;
}

/* Emits the whole events of a chunk whose number is past resume_after. */
static void emit_chunk(struct turn *t, const char *chunk, size_t len)
{
	const char *p = chunk, *end = chunk + len;
	while (p < end) {
		const char *stop = memmem(p, (size_t)(end - p), "\n\n", 2);
		size_t block = stop ? (size_t)(stop - p) + 2 : (size_t)(end - p);
		long n = block_event_number(p, block);
		if (n > t->resume_last)
			t->resume_last = n;
		if (memmem(p, block, "\nevent: done\n", 13) || memmem(p, block, "\nevent: error\n", 14))
			t->resume_complete = true;
		if (n > t->resume_after) {
			turn_emit_raw(t, p, block);
			t->resume_after = n;
		}
		p += block;
	}
}

/* A stream is resumed only within the conversation it belongs to, so an
 * event id seen elsewhere (a log, a shared screen) replays nothing. */
static bool resume_owned_by(redisContext *redis, const char *key, const char *session_id)
{
	redisReply *reply = redisCommand(redis, "GET %s:session", key);
	bool owned = reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, session_id) == 0;
	freeReplyObject(reply);
	return owned;
}

void resume_job_fetch(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	redisContext *redis = job_redis(conn);
	if (!redis) {
		t->resume_missing = true;
		return;
	}
	char key[96];
	snprintf(key, sizeof(key), "maitred:stream:%s", t->resume_id);
	if (t->resume_index == 0 && !resume_owned_by(redis, key, t->session_id)) {
		t->resume_missing = true;
		return;
	}
	redisReply *reply = redisCommand(redis, "LRANGE %s %ld -1", key, t->resume_index);
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		job_redis_failed(conn);
		freeReplyObject(reply);
		t->resume_missing = true;
		return;
	}
	if (reply->elements == 0 && t->resume_index == 0)
		t->resume_missing = true;
	for (size_t i = 0; i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			emit_chunk(t, reply->element[i]->str, reply->element[i]->len);
	t->resume_index += (long)reply->elements;
	freeReplyObject(reply);
}
