/* The REST routes over the restaurant's data: menu, availability and
 * reservations. Each runs its tool (workers/tools.h) on a pool thread. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "workers/jobs.h"
#include "workers/ratelimit.h"
#include "workers/routes.h"
#include "workers/tools.h"
#include "workers/worker.h"

struct data_job {
	struct http_request *req;
	const char *tool;
	json_t *args;
	bool cacheable;            /* menu replies: ETag and Cache-Control */
	bool lookup_limited;       /* reservation lookups: rate limited per client */
	char if_none_match[80];
};

/* The REST API says invalid_request where the tool layer says
 * invalid_arguments: both mean a field the caller must fix. */
static void rename_error_code(json_t *result, const char *tool)
{
	json_t *error = json_object_get(result, "error");
	const char *code = json_string_value(json_object_get(error, "code"));
	if (code && strcmp(code, "invalid_arguments") == 0)
		json_object_set_new(error, "code", json_string("invalid_request"));

	/* Tool messages start with the tool's name, which means nothing to a
	 * REST client. */
	const char *message = json_string_value(json_object_get(error, "message"));
	size_t n = strlen(tool);
	if (message && strncmp(message, tool, n) == 0 && message[n] == ':' && message[n + 1] == ' ')
		json_object_set_new(error, "message", json_string(message + n + 2));
}

static void set_cache_headers(struct data_job *job)
{
	struct http_reply *reply = &job->req->reply;
	uint64_t hash = 1469598103934665603ULL;
	for (size_t i = 0; i < reply->body_len; i++)
		hash = (hash ^ (unsigned char)reply->body[i]) * 1099511628211ULL;

	char etag[40];
	snprintf(etag, sizeof(etag), "\"%016llx\"", (unsigned long long)hash);
	http_reply_header(reply, "ETag", etag);
	http_reply_header(reply, "Cache-Control", "public, max-age=60");
	if (job->if_none_match[0] && strstr(job->if_none_match, etag)) {
		free(reply->body);
		reply->body = NULL;
		reply->body_len = 0;
		reply->status = 304;
	}
}

static bool lookup_allowed(struct job_conn *conn, struct data_job *job)
{
	redisContext *redis = job_redis(conn);
	int retry_after = 60;
	int limit = worker_self->cfg->lookup_rate_limit;

	if (!redis || ratelimit_hit(redis, "lookup", job->req->client_ip, limit, &retry_after) != 1) {
		if (redis && redis->err)
			job_redis_failed(conn);
		return true;
	}
	char value[16];
	snprintf(value, sizeof(value), "%d", retry_after);
	http_reply_error(&job->req->reply, 429, "rate_limited",
			 "too many reservation lookups from this client; retry in %d s", retry_after);
	http_reply_header(&job->req->reply, "Retry-After", value);
	return false;
}

static void data_job_run(struct job_conn *conn, void *arg)
{
	struct data_job *job = arg;
	struct http_request *req = job->req;

	if (job->lookup_limited && !lookup_allowed(conn, job))
		goto out;

	PGconn *pg = job_pg(conn);
	if (!pg) {
		http_reply_error(&req->reply, 503, "not_ready", "the database is unavailable; retry shortly");
		http_reply_header(&req->reply, "Retry-After", "2");
		goto out;
	}
	struct tool_ctx ctx = { .pg = pg, .now = time(NULL) };
	int status = 500;
	json_t *result = tool_run(&ctx, job->tool, job->args, &status);
	if (status == 503) {
		job_pg_failed(conn);
		http_reply_header(&req->reply, "Retry-After", "2");
	}
	rename_error_code(result, job->tool);
	http_reply_json(&req->reply, status, result);
	if (job->cacheable && status == 200)
		set_cache_headers(job);
out:
	json_decref(job->args);
	free(job);
	http_resume(req);
}

static void run_tool_deferred(struct http_request *req, const char *tool, json_t *args, bool cacheable,
			      bool lookup_limited)
{
	struct data_job *job = calloc(1, sizeof(*job));
	if (!job) {
		json_decref(args);
		http_reply_error(&req->reply, 503, "overloaded", "out of memory");
		return;
	}
	job->req = req;
	job->tool = tool;
	job->args = args;
	job->cacheable = cacheable;
	job->lookup_limited = lookup_limited;
	const char *inm = http_header(req, "If-None-Match");
	if (inm)
		snprintf(job->if_none_match, sizeof(job->if_none_match), "%s", inm);

	http_defer(req);
	if (jobs_submit(data_job_run, job) < 0) {
		http_reply_error(&req->reply, 503, "not_ready", "this server is shutting down; retry");
		json_decref(job->args);
		free(job);
		http_resume(req);
	}
}

static enum MHD_Result collect_tag(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	if (strcmp(key, "tag") == 0 && value)
		json_array_append_new(cls, json_string(value));
	return MHD_YES;
}

void route_menu(struct http_request *req)
{
	json_t *args = json_object();
	const char *names[] = { "q", "category", "max_price" };

	for (size_t i = 0; i < 3; i++) {
		const char *value = http_query(req, names[i]);
		if (value && *value)
			json_object_set_new(args, names[i], json_string(value));
	}
	json_t *tags = json_array();
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_tag, tags);
	if (json_array_size(tags))
		json_object_set_new(args, "tags", tags);
	else
		json_decref(tags);
	run_tool_deferred(req, "search_menu", args, true, false);
}

/* The last path segment, after the route's fixed prefix. */
static const char *path_tail(const struct http_request *req)
{
	return strrchr(req->path, '/') + 1;
}

void route_menu_item(struct http_request *req)
{
	const char *id = path_tail(req);
	char *end;
	long n = strtol(id, &end, 10);
	if (strspn(id, "0123456789") != strlen(id) || end == id || *end || n <= 0 || n > INT32_MAX) {
		http_reply_error(&req->reply, 404, "not_found", "no dish with id %.40s", id);
		return;
	}
	run_tool_deferred(req, "get_dish", json_pack("{s:i}", "id", (json_int_t)n), true, false);
}

void route_availability(struct http_request *req)
{
	const char *date = http_query(req, "date");
	const char *party = http_query(req, "party_size");

	if (!date || !*date) {
		http_reply_error(&req->reply, 400, "invalid_request", "date is required, as YYYY-MM-DD");
		return;
	}
	char *end = NULL;
	long n = party ? strtol(party, &end, 10) : 0;
	if (!party || end == party || *end) {
		http_reply_error(&req->reply, 400, "invalid_request",
				 "party_size must be a whole number, got %.20s", party ? party : "(none)");
		return;
	}
	json_t *args = json_pack("{s:s,s:I}", "date", date, "party_size", (json_int_t)n);
	const char *time_of_day = http_query(req, "time");
	if (time_of_day)
		json_object_set_new(args, "time", json_string(time_of_day));
	run_tool_deferred(req, "check_availability", args, false, false);
}

void route_reservation_create(struct http_request *req)
{
	json_t *body = routes_json_body(req);
	if (!body)
		return;
	if (json_object_get(body, "idempotency_key")) {
		json_decref(body);
		http_reply_error(&req->reply, 400, "invalid_request",
				 "unknown field idempotency_key; send the key in the Idempotency-Key header");
		return;
	}
	const char *key = http_header(req, "Idempotency-Key");
	if (key) {
		size_t len = strlen(key);
		bool printable = true;
		for (const char *p = key; *p; p++)
			printable &= *p > 0x20 && *p < 0x7f;
		if (len < 1 || len > 128 || !printable) {
			json_decref(body);
			http_reply_error(&req->reply, 400, "invalid_request",
					 "Idempotency-Key must be 1 to 128 printable ASCII characters without spaces");
			return;
		}
		json_object_set_new(body, "idempotency_key", json_string(key));
	}
	run_tool_deferred(req, "create_reservation", body, false, false);
}

static json_t *code_and_phone(struct http_request *req)
{
	const char *phone = http_query(req, "phone");
	if (!phone || !*phone) {
		http_reply_error(&req->reply, 400, "invalid_request",
				 "phone is required: add ?phone=<the number booked with>");
		return NULL;
	}
	/* An unencoded "+33..." in a query string arrives as " 33...": a
	 * leading space before digits can only have been the plus. */
	char fixed[64];
	if (phone[0] == ' ' && phone[1] >= '0' && phone[1] <= '9' && strlen(phone) < sizeof(fixed)) {
		snprintf(fixed, sizeof(fixed), "+%s", phone + 1);
		phone = fixed;
	}
	return json_pack("{s:s,s:s}", "code", path_tail(req), "phone", phone);
}

void route_reservation_get(struct http_request *req)
{
	json_t *args = code_and_phone(req);
	if (args)
		run_tool_deferred(req, "find_reservation", args, false, true);
}

void route_reservation_delete(struct http_request *req)
{
	json_t *args = code_and_phone(req);
	if (args)
		run_tool_deferred(req, "cancel_reservation", args, false, true);
}
