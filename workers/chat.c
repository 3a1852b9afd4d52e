#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "server/log.h"
#include "workers/chat.h"
#include "workers/dispatch.h"
#include "workers/resume.h"
#include "workers/routes.h"
#include "workers/turn.h"
#include "workers/worker.h"

#define MESSAGE_MAX_CHARS 2000

static int suspended_turns;
static int active_turns;
static int64_t open_streams;

/* The watcher: an epoll set of suspended chat sockets, for EPOLLRDHUP. */
static int watch_fd = -1;
static pthread_t watch_thread;
static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int watch_stop;

int chat_active_count(void)
{
	return __atomic_load_n(&active_turns, __ATOMIC_RELAXED);
}

int chat_suspended_count(void)
{
	return __atomic_load_n(&suspended_turns, __ATOMIC_RELAXED);
}

int64_t chat_stream_count(void)
{
	return __atomic_load_n(&open_streams, __ATOMIC_RELAXED);
}

static void count_stream(int64_t delta)
{
	int64_t open = __atomic_add_fetch(&open_streams, delta, __ATOMIC_RELAXED);
	worker_set_gauge(&worker_self->slot->streams, open);
}

static size_t utf8_length(const char *text)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

/* Trims ASCII white space at both ends, in place; returns the start. */
static char *trim(char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	size_t len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
		       text[len - 1] == '\r'))
		text[--len] = '\0';
	return text;
}

static bool session_id_valid(const char *id)
{
	size_t len = strlen(id);
	return len >= 8 && len <= 64 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

static void session_id_new(char *out, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[22];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 7, sizeof(raw));
	size_t n = sizeof(raw) < len - 1 ? sizeof(raw) : len - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % 62];
	out[n] = '\0';
}

static bool wants_stream(struct http_request *req)
{
	const char *accept = http_header(req, "Accept");
	return accept && strstr(accept, "text/event-stream");
}

/* Checks the fields of the chat body. Returns the trimmed message inside
 * body, or NULL with a 400 reply set. */
static const char *chat_check_body(struct http_request *req, json_t *body, char *session_id, size_t len,
				   bool *new_session)
{
	const char *key;
	json_t *value;
	json_object_foreach(body, key, value) {
		if (strcmp(key, "message") && strcmp(key, "session_id")) {
			http_reply_error(&req->reply, 400, "invalid_request",
					 "unknown field %.40s; the body takes message and session_id", key);
			return NULL;
		}
	}
	json_t *message = json_object_get(body, "message");
	if (!json_is_string(message)) {
		http_reply_error(&req->reply, 400, "invalid_request", "message is required and must be a string");
		return NULL;
	}
	/* Checked before trimming, which ends the string early in place. */
	if (memchr(json_string_value(message), '\0', json_string_length(message))) {
		http_reply_error(&req->reply, 400, "invalid_request", "message must not contain NUL characters");
		return NULL;
	}
	char *text = trim((char *)json_string_value(message));
	size_t chars = utf8_length(text);
	if (chars < 1 || chars > MESSAGE_MAX_CHARS) {
		http_reply_error(&req->reply, 400, "invalid_request",
				 "message must be 1 to %d characters after trimming, got %zu",
				 MESSAGE_MAX_CHARS, chars);
		return NULL;
	}

	json_t *sid = json_object_get(body, "session_id");
	*new_session = sid == NULL || json_is_null(sid);
	if (*new_session) {
		session_id_new(session_id, len);
	} else if (!json_is_string(sid) || !session_id_valid(json_string_value(sid))) {
		http_reply_error(&req->reply, 400, "invalid_request",
				 "session_id must match [A-Za-z0-9_-]{8,64}; omit it to start a new session");
		return NULL;
	} else {
		snprintf(session_id, len, "%s", json_string_value(sid));
	}
	return text;
}

static void watch_add(struct turn *t)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(t->req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info || watch_fd < 0)
		return;
	t->fd = info->connect_fd;
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLET, .data.ptr = t };
	pthread_mutex_lock(&watch_mu);
	if (epoll_ctl(watch_fd, EPOLL_CTL_ADD, t->fd, &ev) == 0)
		t->watched = true;
	pthread_mutex_unlock(&watch_mu);
}

static void watch_remove(struct turn *t)
{
	pthread_mutex_lock(&watch_mu);
	if (t->watched) {
		epoll_ctl(watch_fd, EPOLL_CTL_DEL, t->fd, NULL);
		t->watched = false;
	}
	pthread_mutex_unlock(&watch_mu);
}

void chat_start(struct http_request *req)
{
	json_t *body = routes_json_body(req);
	if (!body)
		return;

	char session_id[65];
	bool new_session;
	const char *message = chat_check_body(req, body, session_id, sizeof(session_id), &new_session);
	if (!message) {
		json_decref(body);
		return;
	}
	struct turn *t = turn_new(req, message, session_id, wants_stream(req));
	json_decref(body);
	if (!t) {
		http_reply_error(&req->reply, 503, "overloaded", "out of memory; retry shortly");
		http_reply_header(&req->reply, "Retry-After", "1");
		return;
	}
	t->new_session = new_session;
	const char *last_id = http_header(req, "Last-Event-ID");
	if (last_id && t->sse) {
		if (resume_parse_id(last_id, t->resume_id, sizeof(t->resume_id), &t->resume_after) < 0) {
			http_reply_error(&req->reply, 400, "invalid_request",
					 "Last-Event-ID %.60s is not an event id of this server (<request id>-<n>)", last_id);
			turn_unref(t);
			return;
		}
		if (new_session) {
			http_reply_error(&req->reply, 400, "invalid_request",
					 "resuming with Last-Event-ID needs the conversation's session_id in the body");
			turn_unref(t);
			return;
		}
		t->resume = true;
	}
	req->turn = t;
	__atomic_fetch_add(&active_turns, 1, __ATOMIC_RELAXED);
	watch_add(t);

	pthread_mutex_lock(&t->mu);
	t->suspended = true;
	__atomic_fetch_add(&suspended_turns, 1, __ATOMIC_RELAXED);
	req->phase = PHASE_DEFERRED;
	MHD_suspend_connection(req->conn);
	pthread_mutex_unlock(&t->mu);

	dispatch_post(t, EV_NEW);
}

void turn_wake_locked(struct turn *t)
{
	if (!t->suspended || !t->req)
		return;
	t->suspended = false;
	__atomic_fetch_sub(&suspended_turns, 1, __ATOMIC_RELAXED);
	MHD_resume_connection(t->req->conn);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct turn *t = cls;
	ssize_t rc;

	pthread_mutex_lock(&t->mu);
	if (t->out_off < t->out_len) {
		size_t n = t->out_len - t->out_off;
		if (n > max)
			n = max;
		memcpy(buf, t->out + t->out_off, n);
		t->out_off += n;
		if (t->out_off == t->out_len)
			t->out_off = t->out_len = 0;
		if (t->req)
			t->req->bytes_sent += n;
		rc = (ssize_t)n;
	} else if (t->finished) {
		rc = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (t->closing || !t->req) {
		rc = MHD_CONTENT_READER_END_WITH_ERROR;
	} else {
		/* Nothing to send: park the connection until turn_emit wakes it. */
		t->suspended = true;
		__atomic_fetch_add(&suspended_turns, 1, __ATOMIC_RELAXED);
		MHD_suspend_connection(t->req->conn);
		rc = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static enum MHD_Result send_stream(struct http_request *req, struct turn *t)
{
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, t, NULL);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	MHD_add_response_header(resp, "X-Request-ID", req->request_id);
	http_close_if_draining(resp);
	req->status_sent = 200;
	req->phase = PHASE_SENT;
	count_stream(1);
	enum MHD_Result rc = MHD_queue_response(req->conn, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* The JSON reply of a finished turn, or its error. */
static void build_json_reply(struct http_request *req, struct turn *t)
{
	if (t->error_code[0]) {
		int status = t->early_status ? t->early_status : 502;
		if (strcmp(t->error_code, "upstream_timeout") == 0)
			status = 504;
		else if (strcmp(t->error_code, "overloaded") == 0 || strcmp(t->error_code, "not_ready") == 0)
			status = 503;
		http_reply_error(&req->reply, status, t->error_code, "%s", t->error_message);
		return;
	}
	json_t *body = json_pack("{s:s,s:s,s:s,s:s#,s:{s:I,s:I}}",
				 "session_id", t->session_id, "request_id", t->id,
				 "agent", t->agent == AGENT_BOOKING ? "booking" : "food",
				 "reply", t->reply ? t->reply : "", t->reply_len,
				 "usage", "prompt_tokens", (json_int_t)t->prompt_tokens,
				 "completion_tokens", (json_int_t)t->completion_tokens);
	if (t->reservation)
		json_object_set(body, "reservation", t->reservation);
	http_reply_json(&req->reply, 200, body);
}

enum MHD_Result chat_resumed(struct http_request *req)
{
	struct turn *t = req->turn;

	pthread_mutex_lock(&t->mu);
	if (t->early_status) {
		http_reply_error(&req->reply, t->early_status, t->error_code, "%s", t->error_message);
		if (t->error_retry_after > 0) {
			char value[16];
			snprintf(value, sizeof(value), "%d", t->error_retry_after);
			http_reply_header(&req->reply, "Retry-After", value);
		}
		pthread_mutex_unlock(&t->mu);
		return http_send_reply(req);
	}
	if (t->sse && t->decided) {
		pthread_mutex_unlock(&t->mu);
		return send_stream(req, t);
	}
	if (!t->sse && (t->finished || t->closing)) {
		if (!t->finished && !t->error_code[0]) {
			snprintf(t->error_code, sizeof(t->error_code), "not_ready");
			snprintf(t->error_message, sizeof(t->error_message), "the server is shutting down; retry");
		}
		build_json_reply(req, t);
		pthread_mutex_unlock(&t->mu);
		return http_send_reply(req);
	}
	/* Woken before there was anything to send: wait again. */
	t->suspended = true;
	__atomic_fetch_add(&suspended_turns, 1, __ATOMIC_RELAXED);
	MHD_suspend_connection(req->conn);
	pthread_mutex_unlock(&t->mu);
	return MHD_YES;
}

void chat_completed(struct http_request *req, bool aborted)
{
	struct turn *t = req->turn;
	bool gone;

	watch_remove(t);
	pthread_mutex_lock(&t->mu);
	if (t->suspended) {
		t->suspended = false;
		__atomic_fetch_sub(&suspended_turns, 1, __ATOMIC_RELAXED);
	}
	t->req = NULL;
	gone = !t->finished;
	if (gone)
		t->gone = true;
	pthread_mutex_unlock(&t->mu);

	if (gone)
		dispatch_post(t, EV_GONE);
	/* Only send_stream sends 200 to a turn that asked for a stream. */
	if (t->sse && req->status_sent == 200)
		count_stream(-1);
	__atomic_fetch_sub(&active_turns, 1, __ATOMIC_RELAXED);
	turn_unref(t);
}

static void *watch_main(void *unused)
{
	struct epoll_event events[64];

	while (!watch_stop) {
		int n = epoll_wait(watch_fd, events, 64, 200);
		for (int i = 0; i < n; i++) {
			struct turn *t = events[i].data.ptr;
			pthread_mutex_lock(&watch_mu);
			if (!t->watched) {
				pthread_mutex_unlock(&watch_mu);
				continue;
			}
			/* Once is enough: the turn is ended from here on. */
			epoll_ctl(watch_fd, EPOLL_CTL_DEL, t->fd, NULL);
			t->watched = false;
			turn_ref(t);
			pthread_mutex_unlock(&watch_mu);

			pthread_mutex_lock(&t->mu);
			t->gone = true;
			t->closing = true;
			turn_wake_locked(t);
			pthread_mutex_unlock(&t->mu);
			dispatch_post(t, EV_GONE);
			turn_unref(t);
		}
	}
	return NULL;
}

int chat_watcher_start(void)
{
	watch_fd = epoll_create1(EPOLL_CLOEXEC);
	if (watch_fd < 0) {
		log_error("watcher_start_failed", "epoll_create1() failed: %s", strerror(errno));
		return -1;
	}
	watch_stop = 0;
	int rc = pthread_create(&watch_thread, NULL, watch_main, NULL);
	if (rc) {
		log_error("watcher_start_failed", "pthread_create() failed: %s", strerror(rc));
		return -1;
	}
	return 0;
}

void chat_watcher_stop(void)
{
	watch_stop = 1;
	pthread_join(watch_thread, NULL);
	close(watch_fd);
	watch_fd = -1;
}
