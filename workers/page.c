/* The guest chat page and the readiness check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/embedded.h"
#include "server/log.h"
#include "workers/jobs.h"
#include "workers/routes.h"
#include "workers/worker.h"

/* The page runs only its own scripts and styles and talks only to its own
 * origin, so an injected script has nowhere to load from or send to. */
#define PAGE_CSP "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " \
		 "img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; " \
		 "frame-ancestors 'none'"

static const char *content_type_for(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return "application/octet-stream";
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	if (strcmp(dot, ".json") == 0)
		return "application/json";
	return "application/octet-stream";
}

static void page_site_json(struct http_request *req)
{
	const struct config *cfg = worker_self->cfg;
	json_t *site = json_pack("{s:s,s:s,s:s}", "name", cfg->restaurant_name[0] ? cfg->restaurant_name : "Maitred",
				 "primary_color", cfg->brand_color, "timezone", worker_self->timezone);
	http_reply_json(&req->reply, 200, site);
	http_reply_header(&req->reply, "Cache-Control", "no-cache");
}

void route_page(struct http_request *req)
{
	char path[300];
	if (strcmp(req->path, "/") == 0)
		snprintf(path, sizeof(path), "workers/static/index.html");
	else if (strcmp(req->path, "/static/site.json") == 0)
		return page_site_json(req);
	else
		snprintf(path, sizeof(path), "workers/static/%s", req->path + strlen("/static/"));

	const struct embedded_file *file = embedded_find(path);
	if (!file) {
		http_reply_error(&req->reply, 404, "not_found", "no file %.100s", req->path);
		return;
	}
	http_reply_text(&req->reply, 200, content_type_for(path), file->data, file->size);
	http_reply_header(&req->reply, "Content-Security-Policy", PAGE_CSP);
	http_reply_header(&req->reply, "Referrer-Policy", "no-referrer");
	http_reply_header(&req->reply, "X-Frame-Options", "DENY");
	http_reply_header(&req->reply, "Cache-Control", strcmp(req->path, "/") == 0 ? "no-cache" : "public, max-age=300");
}

static void readyz_job(struct job_conn *conn, void *arg)
{
	struct http_request *req = arg;
	char postgres[160] = "ok", redis[160] = "ok";

	PGconn *pg = job_pg(conn);
	PGresult *res = pg ? PQexec(pg, "SELECT 1") : NULL;
	if (!pg || PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(postgres, sizeof(postgres), "unavailable: %s", pg ? PQerrorMessage(pg) : "cannot connect");
		postgres[strcspn(postgres, "\n")] = '\0';
		job_pg_failed(conn);
	}
	PQclear(res);

	redisContext *rc = job_redis(conn);
	redisReply *pong = rc ? redisCommand(rc, "PING") : NULL;
	if (!pong || pong->type == REDIS_REPLY_ERROR) {
		snprintf(redis, sizeof(redis), "unavailable: %s", rc ? rc->errstr : "cannot connect");
		job_redis_failed(conn);
	}
	freeReplyObject(pong);

	const struct shm_header *hdr = worker_self->region->hdr;
	bool circuit = hdr->circuit_open_until_ms > shm_wall_ms();
	const char *agent = !config_online(worker_self->cfg) ? "offline (no OPENAI_API_KEY)" :
			    circuit ? "degraded: the model failed, the offline agent answers" : "model";
	bool draining = hdr->draining || worker_self->draining;
	bool ready = !strcmp(postgres, "ok") && !strcmp(redis, "ok") && !draining;
	http_reply_json(&req->reply, ready ? 200 : 503,
			json_pack("{s:s,s:{s:s,s:s},s:s,s:b}", "status", ready ? "ready" : "not_ready",
				  "dependencies", "postgres", postgres, "redis", redis, "agent", agent,
				  "draining", draining));
	http_reply_header(&req->reply, "Cache-Control", "no-store");
	if (!ready)
		http_reply_header(&req->reply, "Retry-After", "2");
	http_resume(req);
}

void route_readyz(struct http_request *req)
{
	http_defer(req);
	if (jobs_submit(readyz_job, req) < 0) {
		http_reply_error(&req->reply, 503, "not_ready", "this server is shutting down");
		http_resume(req);
	}
}
