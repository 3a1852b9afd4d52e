#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "server/log.h"
#include "server/utf8.h"
#include "workers/chat.h"
#include "workers/dispatch.h"
#include "workers/http.h"
#include "workers/proxy.h"
#include "workers/routes.h"
#include "workers/worker.h"

#define DEADLINE_CHECK_MS 200

static struct MHD_Daemon *public_daemon;
static struct MHD_Daemon *admin_daemon;
static int64_t open_connections;
static int64_t deferred_count;

/* Every open connection, so that a timer can close one whose request takes
 * longer than HEADER_TIMEOUT to arrive. The connection timeout of
 * libmicrohttpd 0.9.75 restarts at every byte received, so on its own it
 * lets a client that sends one byte a second keep a connection for ever. */
struct http_conn {
	int fd;
	int64_t deadline_ms;       /* monotonic; 0 while no request is being received */
	char peer[INET6_ADDRSTRLEN];
	struct http_conn *prev, *next;
};

static struct {
	pthread_mutex_t mu;        /* guards the list and every deadline */
	struct http_conn *head;
	pthread_t timer;
	bool timer_running;
	volatile int stop;
} conns = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void http_reply_clear(struct http_reply *reply)
{
	free(reply->body);
	for (int i = 0; i < reply->header_count; i++) {
		free(reply->header_names[i]);
		free(reply->header_values[i]);
	}
	memset(reply, 0, sizeof(*reply));
}

void http_reply_text(struct http_reply *reply, int status, const char *content_type,
		     const char *text, size_t len)
{
	free(reply->body);
	reply->status = status;
	reply->content_type = content_type;
	reply->body = malloc(len + 1);
	if (reply->body) {
		memcpy(reply->body, text, len);
		reply->body[len] = '\0';
		reply->body_len = len;
	}
}

void http_reply_json(struct http_reply *reply, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	free(reply->body);
	reply->status = status;
	reply->content_type = "application/json";
	reply->body = text;
	reply->body_len = text ? strlen(text) : 0;
}

bool http_utf8_valid(const char *text, size_t len)
{
	return utf8_valid(text, len);
}

/* Replaces each byte that does not start a valid UTF-8 sequence, and each
 * control character, with '?', in place: JSON needs valid UTF-8, and a
 * message may quote a client's bytes or be cut inside a character. */
static void utf8_repair(char *text)
{
	unsigned char *p = (unsigned char *)text;
	size_t len = strlen(text);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence(p + i, len - i);
		if (!n || p[i] < 0x20 || p[i] == 0x7f) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}

void http_log_escape(const char *text, char *out, size_t len)
{
	size_t used = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p && used + 4 < len; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '%')
			out[used++] = (char)*p;
		else
			used += (size_t)snprintf(out + used, len - used, "%%%02X", *p);
	}
	out[used] = '\0';
}

void http_reply_error(struct http_reply *reply, int status, const char *code, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	utf8_repair(message);
	http_reply_json(reply, status,
			json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

void http_reply_header(struct http_reply *reply, const char *name, const char *value)
{
	for (int i = 0; i < reply->header_count; i++) {
		if (strcasecmp(reply->header_names[i], name) == 0) {
			free(reply->header_values[i]);
			reply->header_values[i] = strdup(value);
			return;
		}
	}
	if (reply->header_count == HTTP_MAX_HEADERS)
		return;
	reply->header_names[reply->header_count] = strdup(name);
	reply->header_values[reply->header_count] = strdup(value);
	reply->header_count++;
}

const char *http_header(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_defer(struct http_request *req)
{
	req->phase = PHASE_DEFERRED;
	__atomic_fetch_add(&deferred_count, 1, __ATOMIC_RELAXED);
	MHD_suspend_connection(req->conn);
}

void http_resume(struct http_request *req)
{
	MHD_resume_connection(req->conn);
	__atomic_fetch_sub(&deferred_count, 1, __ATOMIC_RELAXED);
}

/* Headers every reply carries. */
static void add_common_headers(struct http_request *req, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Request-ID", req->request_id);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	http_close_if_draining(resp);
}

void http_close_if_draining(struct MHD_Response *resp)
{
	/* A client sent Connection: close opens its next request to a worker that stays. */
	if (worker_self->draining && !MHD_get_response_header(resp, "Connection"))
		MHD_add_response_header(resp, "Connection", "close");
}

enum MHD_Result http_send_reply(struct http_request *req)
{
	struct http_reply *reply = &req->reply;
	if (!reply->status)
		http_reply_error(reply, 500, "internal_error", "the server produced no reply");

	struct MHD_Response *resp = MHD_create_response_from_buffer(
		reply->body_len, reply->body ? reply->body : (char *)"", MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (reply->content_type)
		MHD_add_response_header(resp, "Content-Type", reply->content_type);
	for (int i = 0; i < reply->header_count; i++)
		MHD_add_response_header(resp, reply->header_names[i], reply->header_values[i]);
	add_common_headers(req, resp);

	req->status_sent = reply->status;
	req->bytes_sent = reply->body_len;
	req->phase = PHASE_SENT;
	enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)reply->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Keeps a client's X-Request-ID when it is short and plain, else makes one. */
static void request_id_init(struct http_request *req)
{
	const char *given = http_header(req, "X-Request-ID");
	if (given && strlen(given) >= 8 && strlen(given) < sizeof(req->request_id) &&
	    strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(given)) {
		snprintf(req->request_id, sizeof(req->request_id), "%s", given);
		return;
	}
	unsigned char raw[8];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(req->request_id + i * 2, 3, "%02x", raw[i]);
}

static void client_ip_init(struct http_request *req)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[64] = "unknown";
	if (info && info->client_addr) {
		const struct sockaddr *sa = info->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof(peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof(peer));
	}
	proxy_client_ip(peer, http_header(req, "X-Forwarded-For"), req->client_ip, sizeof(req->client_ip));
}

static int64_t header_timeout_ms(void)
{
	return (int64_t)worker_self->cfg->header_timeout * 1000;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

/* Sets when the connection's next request must have arrived; 0 clears it.
 * With keep_earlier, an earlier deadline already set stays. */
static void conn_set_deadline(struct MHD_Connection *conn, int64_t deadline_ms, bool keep_earlier)
{
	pthread_mutex_lock(&conns.mu);
	struct http_conn *c = conn_of(conn);
	if (c && !(keep_earlier && c->deadline_ms && c->deadline_ms < deadline_ms))
		c->deadline_ms = deadline_ms;
	pthread_mutex_unlock(&conns.mu);
}

/* libmicrohttpd calls this once a request line has arrived: a keep-alive
 * connection that starts its next request has HEADER_TIMEOUT from now. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	conn_set_deadline(conn, shm_now_ms() + header_timeout_ms(), true);
	return NULL;
}

static struct http_request *request_new(struct MHD_Connection *conn, const char *url,
					const char *method, bool admin)
{
	struct http_request *req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->conn = conn;
	req->admin = admin;
	req->started_us = now_us();
	req->too_long = strlen(method) >= sizeof(req->method) || strlen(url) >= sizeof(req->path);
	snprintf(req->method, sizeof(req->method), "%s", method);
	snprintf(req->path, sizeof(req->path), "%s", url);
	request_id_init(req);
	client_ip_init(req);
	return req;
}

/* Appends a piece of the body; the first call already bounded its size by
 * Content-Length, so more bytes than announced are dropped. */
static void request_append_body(struct http_request *req, const char *data, size_t len)
{
	if (!req->body) {
		req->body = malloc(req->body_expected + 1);
		if (!req->body)
			return;
	}
	if (len > req->body_expected - req->body_len)
		len = req->body_expected - req->body_len;
	memcpy(req->body + req->body_len, data, len);
	req->body_len += len;
	req->body[req->body_len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	bool admin = cls != NULL;
	struct http_request *req = *con_cls;

	if (!req) {
		req = request_new(conn, url, method, admin);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		if (routes_begin(req) < 0) {
			conn_set_deadline(conn, 0, false);
			return http_send_reply(req);
		}
		req->phase = PHASE_BODY;
		return MHD_YES;
	}
	if (*upload_data_size) {
		request_append_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->phase == PHASE_BODY) {
		conn_set_deadline(conn, 0, false);
		return routes_dispatch(req);
	}
	if (req->phase == PHASE_DEFERRED)
		return req->turn ? chat_resumed(req) : http_send_reply(req);
	return MHD_YES;
}

static void access_log(const struct http_request *req, int64_t duration_us)
{
	const struct config *cfg = worker_self->cfg;
	if (!cfg->access_log)
		return;
	char method[80], path[400];
	http_log_escape(req->method, method, sizeof(method));
	http_log_escape(req->path, path, sizeof(path));
	log_write(LOG_INFO, req->request_id, "access",
		  "client=%s method=%s path=%s status=%d bytes=%llu duration_ms=%.1f",
		  req->client_ip, method, path, req->status_sent,
		  (unsigned long long)req->bytes_sent, (double)duration_us / 1000.0);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct http_request *req = *con_cls;
	if (!req)
		return;
	*con_cls = NULL;

	int64_t duration = now_us() - req->started_us;
	struct shm_worker *slot = worker_self->slot;
	int status_class = req->status_sent / 100 - 2;
	if (status_class >= 0 && status_class < 4)
		shm_add(&slot->requests[req->route][status_class], 1);
	if (req->route != ROUTE_CHAT)
		shm_observe(slot, HIST_REQUEST, duration);
	access_log(req, duration);

	if (req->turn)
		chat_completed(req, code != MHD_REQUEST_TERMINATED_COMPLETED_OK);
	http_reply_clear(&req->reply);
	free(req->body);
	free(req);

	/* Back to the keep-alive timeout until the next request's headers. The
	 * deadline bounds an idle time plus a request sent a byte at a time. */
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
				  (unsigned int)worker_self->cfg->timeout_keep_alive);
	conn_set_deadline(conn, shm_now_ms() + (int64_t)worker_self->cfg->timeout_keep_alive * 1000 +
				header_timeout_ms(), false);
}

static void conn_peer(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "unknown");
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
}

static void conn_track(struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct http_conn *c = calloc(1, sizeof(*c));
	*socket_context = c;
	if (!c || !info)
		return;
	c->fd = info->connect_fd;
	c->deadline_ms = shm_now_ms() + header_timeout_ms();
	conn_peer(conn, c->peer, sizeof(c->peer));

	pthread_mutex_lock(&conns.mu);
	c->next = conns.head;
	if (conns.head)
		conns.head->prev = c;
	conns.head = c;
	pthread_mutex_unlock(&conns.mu);
}

/* Runs before libmicrohttpd closes the socket, so the timer, which shuts
 * sockets down under the same lock, never touches a reused descriptor. */
static void conn_untrack(void **socket_context)
{
	struct http_conn *c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&conns.mu);
	if (c->prev)
		c->prev->next = c->next;
	else if (conns.head == c)
		conns.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&conns.mu);
	free(c);
	*socket_context = NULL;
}

/* Shuts down the sockets whose request is overdue; libmicrohttpd then
 * reads the end of the stream and closes the connection itself. */
static int conns_cut_overdue(char *peer, size_t len)
{
	int64_t now = shm_now_ms();
	int cut = 0;

	pthread_mutex_lock(&conns.mu);
	for (struct http_conn *c = conns.head; c; c = c->next) {
		if (!c->deadline_ms || now <= c->deadline_ms)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->deadline_ms = 0;
		if (!cut++)
			snprintf(peer, len, "%s", c->peer);
	}
	pthread_mutex_unlock(&conns.mu);
	return cut;
}

static void *deadline_main(void *unused)
{
	while (!conns.stop) {
		struct timespec pause = { 0, DEADLINE_CHECK_MS * 1000000L };
		nanosleep(&pause, NULL);
		char peer[INET6_ADDRSTRLEN];
		int cut = conns_cut_overdue(peer, sizeof(peer));
		if (cut)
			log_info("request_timeout",
				 "closed %d connections (the first from %s) that sent no whole request within HEADER_TIMEOUT=%d s",
				 cut, peer, worker_self->cfg->header_timeout);
	}
	return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	int64_t delta = code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
	int64_t open = __atomic_add_fetch(&open_connections, delta, __ATOMIC_RELAXED);
	worker_set_gauge(&worker_self->slot->connections, open);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
					  (unsigned int)worker_self->cfg->header_timeout);
		conn_track(conn, socket_context);
	} else {
		conn_untrack(socket_context);
	}
}

int64_t http_open_connections(void)
{
	return __atomic_load_n(&open_connections, __ATOMIC_RELAXED);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_debug("libmicrohttpd", "%s", msg);
}

/* Poll, not epoll: MHD 0.9.75 can abort in MHD_quiesce_daemon() with an
 * epoll thread pool when a worker thread races it, and a drain must not
 * crash. Suspended streams leave the poll set, so poll stays cheap. */
static struct MHD_Daemon *daemon_start(int fd, int threads, unsigned limit, void *cls)
{
	const struct config *cfg = worker_self->cfg;
	return MHD_start_daemon(
		MHD_USE_POLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, cls,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->timeout_keep_alive,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, on_request_line, NULL,
		/* One thread means no pool: MHD warns about a pool of 0 or 1, so
		 * the option list simply ends there. */
		threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (unsigned int)threads,
		MHD_OPTION_END);
}

int http_start(void)
{
	const struct config *cfg = worker_self->cfg;
	/* MHD splits the limit across its threads. */
	unsigned limit = (unsigned)cfg->limit_concurrency;

	conns.stop = 0;
	int rc = pthread_create(&conns.timer, NULL, deadline_main, NULL);
	if (rc) {
		log_error("http_start_failed", "pthread_create() failed: %s", strerror(rc));
		return -1;
	}
	conns.timer_running = true;

	public_daemon = daemon_start(worker_self->public_fd, cfg->threads_per_worker, limit, NULL);
	if (!public_daemon) {
		log_error("http_start_failed", "MHD_start_daemon() failed for the public listener");
		return -1;
	}
	if (worker_self->admin_fd >= 0) {
		admin_daemon = daemon_start(worker_self->admin_fd, 1, 256, (void *)1);
		if (!admin_daemon) {
			log_error("http_start_failed", "MHD_start_daemon() failed for the admin listener");
			return -1;
		}
	}
	return 0;
}

/* Quiesced daemons stop accepting, but the shared listening socket stays
 * open and is never shut down: the other workers keep accepting on it. */
void http_stop(int64_t deadline_ms)
{
	/* When the whole instance stops, no other worker takes the connections
	 * that still arrive: keep accepting while the turns in flight finish, so
	 * such a client gets an answer (503 not_ready to a chat turn) instead of
	 * waiting in the listen queue until the instance exits. */
	while (worker_self->region->hdr->draining && shm_now_ms() < deadline_ms && chat_active_count() > 0) {
		struct timespec pause = { 0, 20 * 1000000 };
		nanosleep(&pause, NULL);
	}

	if (public_daemon)
		MHD_quiesce_daemon(public_daemon);
	if (admin_daemon)
		MHD_quiesce_daemon(admin_daemon);

	while (shm_now_ms() < deadline_ms && (chat_active_count() > 0 || http_open_connections() > 0)) {
		struct timespec pause = { 0, 20 * 1000000 };
		nanosleep(&pause, NULL);
		if (chat_active_count() == 0)
			break;
	}
	dispatch_close_all();
	/* MHD aborts when stopped with suspended connections, so every stream
	 * must have been resumed and ended before this. */
	while (chat_suspended_count() > 0 || __atomic_load_n(&deferred_count, __ATOMIC_RELAXED) > 0) {
		struct timespec pause = { 0, 10 * 1000000 };
		nanosleep(&pause, NULL);
	}
	if (public_daemon)
		MHD_stop_daemon(public_daemon);
	if (admin_daemon)
		MHD_stop_daemon(admin_daemon);
	public_daemon = admin_daemon = NULL;
	if (conns.timer_running) {
		conns.stop = 1;
		pthread_join(conns.timer, NULL);
		conns.timer_running = false;
	}
}
