#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/chat.h"
#include "workers/routes.h"
#include "workers/worker.h"

typedef void (*route_fn)(struct http_request *req);

struct route {
	const char *method;
	const char *path;        /* a trailing '*' matches one more path segment */
	enum shm_route id;
	route_fn fn;
	bool admin;
	bool has_body;
};

static void route_healthz(struct http_request *req)
{
	http_reply_text(&req->reply, 200, "text/plain; charset=utf-8", "ok\n", 3);
	http_reply_header(&req->reply, "Cache-Control", "no-store");
}

static const struct route routes[] = {
	{ "GET", "/", ROUTE_PAGE, route_page, false, false },
	{ "GET", "/static/*", ROUTE_PAGE, route_page, false, false },
	{ "GET", "/healthz", ROUTE_HEALTHZ, route_healthz, false, false },
	{ "GET", "/readyz", ROUTE_READYZ, route_readyz, false, false },
	{ "POST", "/v1/chat", ROUTE_CHAT, chat_start, false, true },
	{ "GET", "/v1/menu", ROUTE_MENU, route_menu, false, false },
	{ "GET", "/v1/menu/*", ROUTE_MENU_ITEM, route_menu_item, false, false },
	{ "GET", "/v1/availability", ROUTE_AVAILABILITY, route_availability, false, false },
	{ "POST", "/v1/reservations", ROUTE_RESERVATION_CREATE, route_reservation_create, false, true },
	{ "GET", "/v1/reservations/*", ROUTE_RESERVATION_GET, route_reservation_get, false, false },
	{ "DELETE", "/v1/reservations/*", ROUTE_RESERVATION_DELETE, route_reservation_delete, false, false },
	{ "GET", "/metrics", ROUTE_METRICS, route_metrics, true, false },
	{ "GET", "/stats", ROUTE_STATS, route_stats, true, false },
	{ "GET", "/healthz", ROUTE_HEALTHZ, route_healthz, true, false },
};

#define ROUTE_COUNT_TABLE (sizeof(routes) / sizeof(routes[0]))

static bool path_matches(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);
	if (pattern[n - 1] != '*')
		return strcmp(pattern, path) == 0;
	if (strncmp(pattern, path, n - 1) != 0)
		return false;
	const char *rest = path + n - 1;
	return *rest && !strchr(rest, '/');
}

/* Finds the route; *allow lists the methods the path takes when the
 * method does not fit. */
static const struct route *route_find(const struct http_request *req, char *allow, size_t len)
{
	const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
	allow[0] = '\0';
	for (size_t i = 0; i < ROUTE_COUNT_TABLE; i++) {
		const struct route *r = &routes[i];
		if (r->admin != req->admin || !path_matches(r->path, req->path))
			continue;
		if (strcmp(r->method, method) == 0)
			return r;
		size_t used = strlen(allow);
		snprintf(allow + used, len - used, "%s%s", used ? ", " : "", r->method);
	}
	return NULL;
}

static bool admin_authorized(struct http_request *req)
{
	const char *token = worker_self->cfg->admin_token;
	if (!token[0])
		return true;
	const char *auth = http_header(req, "Authorization");
	if (!auth || strncmp(auth, "Bearer ", 7) != 0)
		return false;
	/* Compare in constant time so the token cannot be guessed byte by byte. */
	const char *given = auth + 7;
	size_t a = strlen(given), b = strlen(token);
	unsigned diff = (unsigned)(a ^ b);
	for (size_t i = 0; i < a && i < b; i++)
		diff |= (unsigned)(given[i] ^ token[i]);
	return diff == 0;
}

/* Bodies are JSON with exactly one Content-Length no larger than the limit;
 * chunked uploads are refused before any of the body is read. */
static int check_body_headers(struct http_request *req)
{
	const struct config *cfg = worker_self->cfg;
	const char *type = http_header(req, "Content-Type");
	const char *te = http_header(req, "Transfer-Encoding");
	const char *cl = http_header(req, "Content-Length");

	if (te) {
		http_reply_error(&req->reply, 411, "length_required",
				 "Transfer-Encoding %.40s is not accepted; send the body with a Content-Length header", te);
		return -1;
	}
	if (!cl) {
		http_reply_error(&req->reply, 411, "length_required",
				 "a Content-Length header is required with a JSON body");
		return -1;
	}
	char *end;
	unsigned long long length = strtoull(cl, &end, 10);
	if (end == cl || *end || cl[0] == '-' || cl[0] == '+') {
		http_reply_error(&req->reply, 400, "invalid_request", "Content-Length %.40s is not a byte count", cl);
		return -1;
	}
	if (length > (unsigned long long)cfg->body_limit) {
		http_reply_error(&req->reply, 413, "body_too_large",
				 "request body of %llu bytes is over the limit of %d bytes", length, cfg->body_limit);
		return -1;
	}
	if (!type || strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] && type[16] != ';' && type[16] != ' ')) {
		http_reply_error(&req->reply, 415, "unsupported_media_type",
				 "Content-Type %.60s is not supported; send application/json",
				 type ? type : "(none)");
		return -1;
	}
	req->body_expected = (size_t)length;
	return 0;
}

int routes_begin(struct http_request *req)
{
	char allow[64];
	const struct route *r = route_find(req, allow, sizeof(allow));

	req->route = r ? r->id : ROUTE_OTHER;
	if (req->admin && !admin_authorized(req)) {
		http_reply_error(&req->reply, 401, "unauthorized",
				 "the admin listener needs the header Authorization: Bearer <ADMIN_TOKEN>");
		http_reply_header(&req->reply, "WWW-Authenticate", "Bearer");
		return -1;
	}
	if (!r && allow[0]) {
		http_reply_error(&req->reply, 405, "method_not_allowed", "%s is not allowed on %.100s; use %s",
				 req->method, req->path, allow);
		http_reply_header(&req->reply, "Allow", allow);
		return -1;
	}
	if (!r) {
		http_reply_error(&req->reply, 404, "not_found", "no route for %.100s", req->path);
		return -1;
	}
	if (r->has_body && check_body_headers(req) < 0)
		return -1;
	return 0;
}

/* A draining worker takes no new chat turn (route_readyz answers 503 on
 * its own). Returns true with the 503 reply set. */
static bool reject_while_draining(struct http_request *req, const struct route *r)
{
	if (r->id == ROUTE_CHAT && worker_self->draining) {
		http_reply_error(&req->reply, 503, "not_ready", "this server is shutting down; retry");
		http_reply_header(&req->reply, "Retry-After", "1");
		return true;
	}
	return false;
}

enum MHD_Result routes_dispatch(struct http_request *req)
{
	char allow[64];
	const struct route *r = route_find(req, allow, sizeof(allow));

	/* Checked once the body is read: a reply sent before that makes
	 * libmicrohttpd close the connection while the client still sends. */
	if (reject_while_draining(req, r))
		return http_send_reply(req);
	r->fn(req);
	if (req->phase == PHASE_DEFERRED)
		return MHD_YES;
	return http_send_reply(req);
}

json_t *routes_json_body(struct http_request *req)
{
	json_error_t error;
	json_t *body = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &error);

	if (!body) {
		http_reply_error(&req->reply, 400, "invalid_json",
				 "the body is not valid JSON: %s at byte %d", error.text, error.position);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		http_reply_error(&req->reply, 400, "invalid_json", "the body must be a JSON object");
		return NULL;
	}
	return body;
}
