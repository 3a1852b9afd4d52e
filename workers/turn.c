#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server/log.h"
#include "shm/region.h"
#include "workers/llm_stream.h"
#include "workers/resume.h"
#include "workers/turn.h"
#include "workers/worker.h"

struct turn *turn_new(struct http_request *req, const char *message, const char *session_id, bool sse)
{
	struct turn *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->message = strdup(message);
	if (!t->message) {
		free(t);
		return NULL;
	}
	t->refs = 1;   /* the request's reference, dropped in chat_completed */
	t->req = req;
	t->sse = sse;
	t->run_idx = -1;
	t->fd = -1;
	t->next_event_id = 1;
	t->started_ms = shm_now_ms();
	t->deadline_ms = t->started_ms + worker_self->cfg->turn_timeout;
	t->last_write_ms = t->started_ms;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->persist_mu, NULL);
	snprintf(t->id, sizeof(t->id), "%s", req->request_id);
	unsigned char raw[8];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(t->stream_id + i * 2, 3, "%02x", raw[i]);
	snprintf(t->session_id, sizeof(t->session_id), "%s", session_id);
	snprintf(t->client_ip, sizeof(t->client_ip), "%s", req->client_ip);
	return t;
}

void turn_ref(struct turn *t)
{
	__atomic_fetch_add(&t->refs, 1, __ATOMIC_RELAXED);
}

static void turn_free(struct turn *t)
{
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	llm_stream_free(t->parser);
	json_decref(t->session);
	json_decref(t->convo);
	json_decref(t->reservation);
	json_decref(t->tool_calls_done);
	free(t->request_body);
	free(t->error_body);
	free(t->reply);
	free(t->out);
	free(t->message);
	free(t->journal);
	pthread_mutex_destroy(&t->persist_mu);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void turn_unref(struct turn *t)
{
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
		turn_free(t);
}

static int out_reserve(struct turn *t, size_t more)
{
	if (t->out_len + more + 1 <= t->out_cap)
		return 0;
	size_t cap = t->out_cap ? t->out_cap : 1024;
	while (cap < t->out_len + more + 1)
		cap *= 2;
	char *grown = realloc(t->out, cap);
	if (!grown)
		return -1;
	t->out = grown;
	t->out_cap = cap;
	return 0;
}

static void out_append_locked(struct turn *t, const char *text, size_t len)
{
	if (out_reserve(t, len) < 0)
		return;
	memcpy(t->out + t->out_len, text, len);
	t->out_len += len;
	t->out[t->out_len] = '\0';
	t->last_write_ms = shm_now_ms();
}

void turn_emit(struct turn *t, const char *event, json_t *data)
{
	char *json = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!json)
		return;

	pthread_mutex_lock(&t->mu);
	if (t->sse && !t->finished && t->req) {
		char head[128];
		int n = snprintf(head, sizeof(head), "id: %s-%llu\nevent: %s\ndata: ", t->stream_id,
				 (unsigned long long)t->next_event_id++, event);
		out_append_locked(t, head, (size_t)n);
		out_append_locked(t, json, strlen(json));
		out_append_locked(t, "\n\n", 2);
		resume_journal(t, head, (size_t)n);
		resume_journal(t, json, strlen(json));
		resume_journal(t, "\n\n", 2);
		turn_wake_locked(t);
	}
	pthread_mutex_unlock(&t->mu);
	free(json);
}

void turn_journal_only(struct turn *t, const char *event, json_t *data)
{
	char *json = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!json)
		return;
	pthread_mutex_lock(&t->mu);
	char head[128];
	int n = snprintf(head, sizeof(head), "id: %s-%llu\nevent: %s\ndata: ", t->stream_id,
			 (unsigned long long)t->next_event_id++, event);
	resume_journal(t, head, (size_t)n);
	resume_journal(t, json, strlen(json));
	resume_journal(t, "\n\n", 2);
	pthread_mutex_unlock(&t->mu);
	free(json);
}

void turn_emit_raw(struct turn *t, const char *text, size_t len)
{
	pthread_mutex_lock(&t->mu);
	if (t->sse && !t->finished && t->req) {
		out_append_locked(t, text, len);
		turn_wake_locked(t);
	}
	pthread_mutex_unlock(&t->mu);
}

void turn_emit_comment(struct turn *t, const char *text)
{
	pthread_mutex_lock(&t->mu);
	if (t->sse && t->decided && !t->finished && t->req) {
		out_append_locked(t, ": ", 2);
		out_append_locked(t, text, strlen(text));
		out_append_locked(t, "\n\n", 2);
		turn_wake_locked(t);
	}
	pthread_mutex_unlock(&t->mu);
}

void turn_finish_output(struct turn *t)
{
	pthread_mutex_lock(&t->mu);
	t->finished = true;
	turn_wake_locked(t);
	pthread_mutex_unlock(&t->mu);
}
