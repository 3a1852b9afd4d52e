#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "workers/llm_stream.h"
#include "workers/offline.h"
#include "workers/prompts.h"
#include "workers/quota.h"
#include "workers/ratelimit.h"
#include "workers/router.h"
#include "workers/session.h"
#include "workers/turn.h"
#include "workers/worker.h"

#define REBOOKS_MAX 3

static void session_key(const struct turn *t, char *key, size_t len)
{
	snprintf(key, len, "maitred:session:%s", t->session_id);
}

static json_t *session_empty(void)
{
	return json_pack("{s:[],s:{}}", "messages", "state");
}

/* Loads the session, or an empty one when there is none or Redis fails:
 * a guest then loses the history but still gets an answer. */
static json_t *session_load(struct job_conn *conn, struct turn *t)
{
	redisContext *redis = job_redis(conn);
	if (!redis)
		return session_empty();

	char key[128];
	session_key(t, key, sizeof(key));
	redisReply *reply = redisCommand(redis, "GET %s", key);
	if (!reply) {
		log_write(LOG_WARN, t->id, "session_load_failed", "Redis GET failed: %s", redis->errstr);
		job_redis_failed(conn);
		return session_empty();
	}
	json_t *session = NULL;
	if (reply->type == REDIS_REPLY_STRING)
		session = json_loadb(reply->str, reply->len, 0, NULL);
	freeReplyObject(reply);
	if (!json_is_object(session) || !json_is_array(json_object_get(session, "messages")) ||
	    !json_is_object(json_object_get(session, "state"))) {
		json_decref(session);
		return session_empty();
	}
	return session;
}

static void set_early_error(struct turn *t, int status, const char *code, int retry_after, const char *message)
{
	t->early_status = status;
	t->error_retry_after = retry_after;
	snprintf(t->error_code, sizeof(t->error_code), "%s", code);
	snprintf(t->error_message, sizeof(t->error_message), "%s", message);
}

void session_job_prepare(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	const struct config *cfg = worker_self->cfg;
	redisContext *redis = job_redis(conn);
	int retry_after = 60;

	if (redis && ratelimit_hit(redis, "chat", t->client_ip, cfg->chat_rate_limit, &retry_after) == 1) {
		char message[128];
		snprintf(message, sizeof(message), "too many chat turns from this client; retry in %d s", retry_after);
		set_early_error(t, 429, "rate_limited", retry_after, message);
		return;
	}
	if (redis && redis->err)
		job_redis_failed(conn);

	t->session = session_load(conn, t);
	t->agent = router_pick(t->message, json_object_get(t->session, "state"));
}

/* Returns the text with everything but letters and digits removed and
 * letters upper-cased, so "abc-23 4" and "ABC234" compare equal. */
static void squeeze(const char *text, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = text; *p && n + 1 < len; p++)
		if (isalnum((unsigned char)*p))
			out[n++] = (char)toupper((unsigned char)*p);
	out[n] = '\0';
}

static void digits_only(const char *text, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = text; *p && n + 1 < len; p++)
		if (isdigit((unsigned char)*p))
			out[n++] = *p;
	out[n] = '\0';
}

/* The guest's own words in this conversation, squeezed and as digits. */
static void guest_words(struct turn *t, char *letters, char *digits, size_t len)
{
	char all[16384];
	size_t used = 0;
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(t->session, "messages"), i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *content = json_string_value(json_object_get(m, "content"));
		if (role && content && strcmp(role, "user") == 0)
			used += (size_t)snprintf(all + used, sizeof(all) - used, "%s ", content);
		if (used >= sizeof(all))
			used = sizeof(all) - 1;
	}
	snprintf(all + used, sizeof(all) - used, "%s", t->message);
	squeeze(all, letters, len);
	digits_only(all, digits, len);
}

/* Finding or cancelling a booking needs a code and phone number that the
 * guest typed in this conversation, whatever the model was told. */
static bool reservation_args_allowed(struct turn *t, json_t *args)
{
	const char *code = json_string_value(json_object_get(args, "code"));
	const char *phone = json_string_value(json_object_get(args, "phone"));
	if (!code || !phone)
		return true;   /* the schema check rejects it */

	char letters[16384], digits[16384], want_code[64], want_phone[64];
	guest_words(t, letters, digits, sizeof(letters));
	squeeze(code, want_code, sizeof(want_code));
	digits_only(phone, want_phone, sizeof(want_phone));
	/* Compare the last 9 digits so +33 6... and 06... both match. */
	size_t pl = strlen(want_phone);
	const char *tail = pl > 9 ? want_phone + pl - 9 : want_phone;
	return want_code[0] && strstr(letters, want_code) && pl >= 6 && strstr(digits, tail);
}

/* Replaces the model's idempotency_key of create_reservation with one made
 * from the session and the other arguments. The saved history keeps only the
 * text of each turn, so a model may send the same booking again in a later
 * turn. With this key the repeat returns the first booking instead of taking
 * a second table. A key that the model chose could also match another
 * session's key. after_code, when set, is the code of a cancelled booking
 * that the guest requests again. */
static void set_booking_key(struct turn *t, json_t *args, const char *after_code)
{
	json_object_del(args, "idempotency_key");
	char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t hash = 1469598103934665603ULL;   /* 64-bit FNV-1a */
	for (const char *p = text ? text : ""; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 1099511628211ULL;
	free(text);

	char key[128];
	snprintf(key, sizeof(key), "model:%s:%016llx%s%s", t->session_id, (unsigned long long)hash,
		 after_code ? ":after:" : "", after_code ? after_code : "");
	json_object_set_new(args, "idempotency_key", json_string(key));
}

static bool is_cancelled_replay(json_t *result)
{
	const char *state = json_string_value(json_object_get(result, "status"));
	return json_is_true(json_object_get(result, "idempotent_replay")) && state &&
	       strcmp(state, "cancelled") == 0 && json_is_string(json_object_get(result, "code"));
}

/* Runs create_reservation with the session's key. When the key returns a
 * booking that was cancelled since, the guest requests the same table again,
 * so it books anew under a key derived from the cancelled code, up to
 * REBOOKS_MAX times per turn. */
static json_t *run_create(struct tool_ctx *ctx, struct turn *t, json_t *args, int *status)
{
	set_booking_key(t, args, NULL);
	json_t *result = tool_run(ctx, "create_reservation", args, status);

	for (int rebooks = 0; rebooks < REBOOKS_MAX && is_cancelled_replay(result); rebooks++) {
		char cancelled[32];
		snprintf(cancelled, sizeof(cancelled), "%s", json_string_value(json_object_get(result, "code")));
		json_decref(result);
		set_booking_key(t, args, cancelled);
		result = tool_run(ctx, "create_reservation", args, status);
	}
	return result;
}

static json_t *run_one_tool(struct job_conn *conn, struct turn *t, const struct llm_tool_call *call,
			    int *status)
{
	json_error_t error;
	json_t *args = json_loads(call->arguments && *call->arguments ? call->arguments : "{}", 0, &error);
	if (!json_is_object(args)) {
		json_decref(args);
		*status = 400;
		return json_pack("{s:{s:s,s:s}}", "error", "code", "invalid_arguments", "message",
				 "the arguments are not a JSON object");
	}
	if ((strcmp(call->name, "find_reservation") == 0 || strcmp(call->name, "cancel_reservation") == 0) &&
	    !reservation_args_allowed(t, args)) {
		json_decref(args);
		*status = 403;
		return json_pack("{s:{s:s,s:s}}", "error", "code", "not_permitted", "message",
				 "ask the guest for their reservation code and phone number; only those the guest "
				 "typed in this conversation can be used");
	}
	PGconn *pg = job_pg(conn);
	if (!pg) {
		json_decref(args);
		*status = 503;
		return json_pack("{s:{s:s,s:s}}", "error", "code", "database_unavailable", "message",
				 "the reservation system is unavailable right now");
	}
	struct tool_ctx ctx = { .pg = pg, .now = time(NULL) };
	json_t *result = strcmp(call->name, "create_reservation") == 0 ? run_create(&ctx, t, args, status)
								       : tool_run(&ctx, call->name, args, status);
	json_decref(args);
	if (*status == 503)
		job_pg_failed(conn);
	return result;
}

static bool is_reservation_tool(const char *name)
{
	return strstr(name, "reservation") != NULL;
}

void session_job_tools(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	const struct llm_result *r = llm_stream_result(t->parser);
	json_t *calls = json_array();

	for (size_t i = 0; i < r->ncalls; i++) {
		const struct llm_tool_call *c = &r->calls[i];
		json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", c->id, "type", "function",
						       "function", "name", c->name, "arguments",
						       c->arguments ? c->arguments : ""));
	}
	json_t *assistant = json_pack("{s:s,s:n,s:o}", "role", "assistant", "content", "tool_calls", calls);
	if (r->content_len)
		json_object_set_new(assistant, "content", json_string(r->content));
	json_array_append_new(t->convo, assistant);

	for (size_t i = 0; i < r->ncalls; i++) {
		const struct llm_tool_call *c = &r->calls[i];
		int status = 500;
		json_t *result = run_one_tool(conn, t, c, &status);
		bool ok = status < 300;
		if (tool_has_side_effects(c->name) && ok)
			t->side_effects = true;
		if (ok && is_reservation_tool(c->name) && json_object_get(result, "code")) {
			json_decref(t->reservation);
			t->reservation = json_incref(result);
		}
		shm_add(&worker_self->slot->tool_calls, 1);
		if (!ok)
			shm_add(&worker_self->slot->tool_failures, 1);
		log_write(LOG_INFO, t->id, "tool_call", "tool=%s status=%d", c->name, status);
		turn_emit(t, "tool", json_pack("{s:s,s:b}", "name", c->name, "ok", ok));

		char *content = json_dumps(result, JSON_COMPACT);
		json_decref(result);
		json_array_append_new(t->convo, json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id", c->id,
							  "content", content ? content : "{}"));
		free(content);
	}
}

void session_job_offline(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	PGconn *pg = job_pg(conn);
	struct offline_reply reply = { 0 };

	if (!pg) {
		t->reply = strdup("I'm sorry, our reservation and menu system is unavailable right now. "
				  "Please try again in a moment.");
		t->reply_len = strlen(t->reply);
		return;
	}
	struct tool_ctx ctx = { .pg = pg, .now = time(NULL) };
	json_t *state = json_object_get(t->session, "state");
	offline_turn(&ctx, t->agent, state, t->message, &reply);
	t->reply = reply.text ? strdup(reply.text) : strdup("I'm sorry, I could not answer that.");
	t->reply_len = strlen(t->reply);
	if (reply.reservation)
		t->reservation = json_incref(reply.reservation);
	if (reply.tools)
		t->tool_calls_done = json_incref(reply.tools);
	offline_reply_free(&reply);
	if (PQstatus(pg) != CONNECTION_OK)
		job_pg_failed(conn);
}

/* Estimates a request's tokens from its text: about four bytes a token,
 * plus the tool definitions and the answer's ceiling. */
static long estimate_tokens(struct turn *t)
{
	char *history = json_dumps(t->session, JSON_COMPACT);
	char *convo = json_dumps(t->convo, JSON_COMPACT);
	long bytes = (long)(strlen(t->message) + (history ? strlen(history) : 0) + (convo ? strlen(convo) : 0));
	free(history);
	free(convo);
	return bytes / 4 + 800 + prompts_max_tokens(t->agent);
}

void session_job_quota(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	const struct config *cfg = worker_self->cfg;
	redisContext *redis = job_redis(conn);

	t->quota_wait_ms = 0;
	if (!redis)
		return;
	if (t->pause_hint_ms > 0) {
		quota_pause(redis, t->pause_hint_ms);
		t->pause_hint_ms = 0;
	}
	if (t->quota_delta) {
		quota_adjust(redis, t->quota_delta);
		t->quota_delta = 0;
	}
	char member[64];
	snprintf(member, sizeof(member), "%s:%d:%d", t->id, t->rounds, t->retries);
	long est = estimate_tokens(t);
	long wait = quota_acquire(redis, cfg->openai_rpm, cfg->openai_tpm, est, member);
	if (wait < 0)
		job_redis_failed(conn);
	t->quota_wait_ms = wait > 0 ? wait : 0;
	t->quota_reserved = wait == 0 ? est : 0;
}

/* Keeps the last SESSION_HISTORY_MAX messages. */
static void history_trim(json_t *messages)
{
	while (json_array_size(messages) > SESSION_HISTORY_MAX)
		json_array_remove(messages, 0);
}

void session_job_save(struct job_conn *conn, void *arg)
{
	struct turn *t = arg;
	json_t *messages = json_object_get(t->session, "messages");

	json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", t->message));
	json_array_append_new(messages, json_pack("{s:s,s:s#}", "role", "assistant", "content",
						  t->reply ? t->reply : "", t->reply_len));
	history_trim(messages);
	json_object_set_new(json_object_get(t->session, "state"), "agent",
			    json_string(agent_name(t->agent)));

	redisContext *redis = job_redis(conn);
	if (redis && t->quota_delta && worker_self->cfg->openai_tpm) {
		quota_adjust(redis, t->quota_delta);
		t->quota_delta = 0;
	}
	if (redis && t->pause_hint_ms > 0) {
		quota_pause(redis, t->pause_hint_ms);
		t->pause_hint_ms = 0;
	}
	char *text = json_dumps(t->session, JSON_COMPACT);
	if (redis && text) {
		char key[128];
		session_key(t, key, sizeof(key));
		redisReply *reply = redisCommand(redis, "SET %s %s EX %d", key, text,
						 worker_self->cfg->session_ttl);
		if (!reply || reply->type == REDIS_REPLY_ERROR) {
			log_write(LOG_WARN, t->id, "session_save_failed", "Redis SET failed: %s",
				  reply ? reply->str : redis->errstr);
			job_redis_failed(conn);
		}
		freeReplyObject(reply);
	}
	free(text);
}
