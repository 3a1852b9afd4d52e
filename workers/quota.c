#include <stdio.h>

#include "server/log.h"
#include "workers/quota.h"

#define KEY_REQUESTS "maitred:quota:requests"
#define KEY_TOKENS "maitred:quota:tokens"
#define KEY_PAUSE "maitred:quota:pause"

/* A grant counts for WINDOW_MS, a little over a minute: a request granted
 * now may reach the provider later (a busy machine, a slow connect), and
 * the provider counts arrivals, so two requests granted 60 s apart must
 * not arrive within one of its minutes.
 * KEYS: requests zset, tokens hash (second -> tokens), pause key.
 * ARGV: rpm, tpm, estimated tokens, a unique member. Returns 0 or ms to wait. */
static const char acquire_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local rpm, tpm, est = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local pause = tonumber(redis.call('GET', KEYS[3]) or '0')\n"
	"if pause > now then return pause - now end\n"
	"if rpm > 0 then\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 62000)\n"
	"  if redis.call('ZCARD', KEYS[1]) >= rpm then\n"
	"    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"    return math.max(1, tonumber(oldest[2]) + 62000 - now)\n"
	"  end\n"
	"end\n"
	"local sec = math.floor(now / 1000)\n"
	"if tpm > 0 then\n"
	"  local all = redis.call('HGETALL', KEYS[2])\n"
	"  local sum, first = 0, nil\n"
	"  for i = 1, #all, 2 do\n"
	"    local s = tonumber(all[i])\n"
	"    if s <= sec - 62 then redis.call('HDEL', KEYS[2], all[i])\n"
	"    else sum = sum + tonumber(all[i + 1]); if not first or s < first then first = s end end\n"
	"  end\n"
	"  if sum > 0 and sum + est > tpm then return math.max(1, (first + 63) * 1000 - now) end\n"
	"end\n"
	"if rpm > 0 then redis.call('ZADD', KEYS[1], now, ARGV[4]); redis.call('PEXPIRE', KEYS[1], 63000) end\n"
	"if tpm > 0 then redis.call('HINCRBY', KEYS[2], sec, est); redis.call('EXPIRE', KEYS[2], 64) end\n"
	"return 0\n";

long quota_acquire(redisContext *redis, int rpm, int tpm, long est_tokens, const char *member)
{
	redisReply *reply = redisCommand(redis, "EVAL %s 3 %s %s %s %d %d %ld %s", acquire_script, KEY_REQUESTS,
					 KEY_TOKENS, KEY_PAUSE, rpm, tpm, est_tokens, member);
	if (!reply || reply->type != REDIS_REPLY_INTEGER) {
		log_warn("quota_failed", "Redis EVAL for the model quota failed: %s",
			 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : redis->errstr);
		freeReplyObject(reply);
		return -1;
	}
	long wait = (long)reply->integer;
	freeReplyObject(reply);
	return wait;
}

void quota_adjust(redisContext *redis, long delta_tokens)
{
	if (!delta_tokens)
		return;
	redisReply *reply = redisCommand(redis,
		"EVAL %s 1 %s %ld",
		"local t = redis.call('TIME') redis.call('HINCRBY', KEYS[1], t[1], ARGV[1]) "
		"redis.call('EXPIRE', KEYS[1], 64) return 0",
		KEY_TOKENS, delta_tokens);
	freeReplyObject(reply);
}

void quota_pause(redisContext *redis, long ms)
{
	redisReply *reply = redisCommand(redis,
		"EVAL %s 1 %s %ld",
		"local t = redis.call('TIME') "
		"local until = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1]) "
		"local old = tonumber(redis.call('GET', KEYS[1]) or '0') "
		"if until > old then redis.call('SET', KEYS[1], until, 'PX', ARGV[1]) end return 0",
		KEY_PAUSE, ms);
	freeReplyObject(reply);
}
