#include <stdio.h>
#include <time.h>

#include "server/log.h"
#include "workers/ratelimit.h"

int ratelimit_hit(redisContext *redis, const char *kind, const char *client, int limit,
		  int *retry_after)
{
	if (limit <= 0)
		return 0;

	time_t now = time(NULL);
	long window = (long)(now / 60);
	char key[200];
	snprintf(key, sizeof(key), "maitred:rl:%s:%s:%ld", kind, client, window);

	redisAppendCommand(redis, "INCR %s", key);
	redisAppendCommand(redis, "EXPIRE %s %d", key, 120);
	redisReply *count = NULL, *expire = NULL;
	if (redisGetReply(redis, (void **)&count) != REDIS_OK ||
	    redisGetReply(redis, (void **)&expire) != REDIS_OK || count->type != REDIS_REPLY_INTEGER) {
		log_warn("ratelimit_failed", "Redis INCR %s failed: %s", kind,
			 redis->err ? redis->errstr : "unexpected reply");
		freeReplyObject(count);
		freeReplyObject(expire);
		return -1;
	}
	long long n = count->integer;
	freeReplyObject(count);
	freeReplyObject(expire);

	*retry_after = (int)(60 - now % 60);
	return n > limit ? 1 : 0;
}
