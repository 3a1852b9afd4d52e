#ifndef MAITRED_HTTP_H
#define MAITRED_HTTP_H

/*
 * The HTTP layer over libmicrohttpd: one request's life from its first
 * header to its completion, the JSON error shape, and deferred replies.
 * A handler that must wait (database, Redis, an agent) suspends the
 * connection with http_defer() and returns; whoever finishes the work fills
 * req->reply and calls http_resume(), and the reply is sent from the HTTP
 * thread. No HTTP thread ever blocks on I/O other than its own sockets.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "shm/region.h"

#define HTTP_MAX_HEADERS 8

struct http_reply {
	int status;
	char *body;                 /* malloc'd */
	size_t body_len;
	const char *content_type;
	char *header_names[HTTP_MAX_HEADERS];
	char *header_values[HTTP_MAX_HEADERS];
	int header_count;
};

enum http_phase { PHASE_HEADERS, PHASE_BODY, PHASE_DEFERRED, PHASE_SENT };

struct turn;

struct http_request {
	struct MHD_Connection *conn;
	bool admin;
	enum shm_route route;
	enum http_phase phase;
	char method[24];
	char path[1024];
	bool too_long;              /* the method or path did not fit: 414 or 501 */
	char request_id[40];
	char client_ip[64];
	int64_t started_us;
	char *body;
	size_t body_len;
	size_t body_expected;
	struct http_reply reply;
	struct turn *turn;          /* POST /v1/chat only */
	int status_sent;
	uint64_t bytes_sent;
};

/* Starts the public and admin daemons on the inherited sockets. Returns 0,
 * or -1 with the reason logged. */
int http_start(void);

/* Stops accepting connections (the listening sockets stay open for the
 * other workers), finishes what is in flight, then stops the daemons. When
 * the whole instance stops, it keeps accepting until the chat turns in
 * flight have ended. deadline_ms is a monotonic time (shm_now_ms). */
void http_stop(int64_t deadline_ms);

/* Counts connections open now in this worker. */
int64_t http_open_connections(void);

/* Adds "Connection: close" to resp while this worker drains. */
void http_close_if_draining(struct MHD_Response *resp);

/* Suspends the request until http_resume(). Call from the handler only. */
void http_defer(struct http_request *req);

/* Resumes a deferred request; its handler then sends req->reply. Safe from
 * any thread, once per http_defer(). */
void http_resume(struct http_request *req);

/* Sets req->reply to a JSON body; takes the reference to body. */
void http_reply_json(struct http_reply *reply, int status, json_t *body);

/* Sets req->reply to {"error": {"code", "message"}} with the status. */
void http_reply_error(struct http_reply *reply, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Adds a header to the reply (copied). */
void http_reply_header(struct http_reply *reply, const char *name, const char *value);

void http_reply_text(struct http_reply *reply, int status, const char *content_type,
		     const char *text, size_t len);

void http_reply_clear(struct http_reply *reply);

/* Returns true when text is valid UTF-8 (no NUL inside len). */
bool http_utf8_valid(const char *text, size_t len);

/* Writes text to out for a log line: bytes that are not printable ASCII
 * become %HH, so a path cannot forge log lines or break JSON. */
void http_log_escape(const char *text, char *out, size_t len);

/* Returns a request header or a query argument, or NULL. */
const char *http_header(struct http_request *req, const char *name);
const char *http_query(struct http_request *req, const char *name);

/* Builds an MHD response from a reply and queues it. */
enum MHD_Result http_send_reply(struct http_request *req);

#endif
