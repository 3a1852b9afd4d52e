#ifndef MAITRED_TURN_H
#define MAITRED_TURN_H

/*
 * One chat turn: a guest's message on its way through rate limiting, the
 * session, the agent-slot queue, the model or the offline agent, the tools
 * and back out as Server-Sent Events or one JSON reply.
 *
 * Threads: the HTTP thread creates it and sends its output; the dispatcher
 * thread owns every state change; pool threads run its jobs one at a time
 * while the dispatcher waits for them; the watcher thread only flags a guest
 * who left. The output buffer and the flags under "mu" are shared; the rest
 * belongs to whoever the state says runs it. Two references: the HTTP side
 * drops its own when the request completes, the dispatcher when the turn ends.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "workers/http.h"
#include "workers/tools.h"

enum turn_state {
	TURN_PREPARING,     /* job: rate limit, session, router */
	TURN_QUEUED,        /* waiting for an agent slot */
	TURN_QUOTA,         /* job: reserving a model call in the shared quota */
	TURN_QUOTA_WAIT,    /* the shared quota is full: waiting to ask again */
	TURN_MODEL,         /* a model call is in flight */
	TURN_RETRY_WAIT,    /* backing off before the next model call */
	TURN_TOOLS,         /* job: running tool calls */
	TURN_OFFLINE,       /* job: the offline agent */
	TURN_SAVING,        /* job: storing the session */
	TURN_RESUMING,      /* job: reading a dropped stream's events from Redis */
	TURN_RESUME_WAIT,   /* waiting for more of that stream's events */
	TURN_ENDED,
};

struct turn {
	int refs;
	struct turn *prev, *next;      /* the dispatcher's list */

	/* Set at creation, read-only afterwards. */
	char id[40];                   /* the request id */
	char stream_id[24];            /* the server's own id of this answer: event ids
	                                * and the resume list use it, never the
	                                * client-chosen request id */
	char session_id[65];
	char client_ip[64];
	char *message;
	bool sse;
	bool new_session;
	int64_t started_ms;            /* monotonic */
	int64_t deadline_ms;

	/* Shared with the HTTP and watcher threads, under mu. */
	pthread_mutex_t mu;
	struct http_request *req;      /* NULL once the request completed */
	char *out;                     /* SSE bytes not yet sent */
	size_t out_len, out_cap, out_off;
	uint64_t next_event_id;
	bool suspended;                /* the connection waits for http_resume */
	bool decided;                  /* the response kind is chosen: stream or reply */
	bool finished;                 /* the last event is written */
	bool closing;                  /* end the stream now, with an error */
	bool gone;                     /* the guest left */
	int64_t last_write_ms;
	int fd;                        /* the connection's socket, for the watcher */
	bool watched;
	char *journal;                 /* every event written, for resumes */
	size_t journal_len, journal_cap, journal_persisted;
	pthread_mutex_t persist_mu;    /* held by the one job writing the journal */
	int persist_busy;

	/* A resuming turn replays another turn's events (Last-Event-ID). */
	bool resume;
	char resume_id[40];
	long resume_after;             /* last event number the guest has */
	long resume_index;             /* next element of the Redis list */
	long resume_last;              /* highest event number replayed or skipped */
	bool resume_complete;          /* done or error was replayed */
	bool resume_missing;           /* the list does not exist */

	/* Dispatcher (and the job it runs). */
	enum turn_state state;
	enum agent_kind agent;
	bool offline;
	json_t *session;               /* {"messages": [...], "state": {...}} */
	json_t *convo;                 /* this turn's model messages after the user's */
	int run_idx;                   /* shm run record, -1 when none */
	int64_t queued_ms, admitted_ms, first_token_ms, last_chunk_ms, last_status_ms;
	int last_position;
	int rounds, retries;
	int64_t retry_at_ms;
	bool text_sent;
	bool side_effects;
	CURL *easy;
	struct curl_slist *headers;
	char *request_body;
	struct llm_stream *parser;
	long http_status;
	char *error_body;
	size_t error_len;
	int retry_after_s;             /* ms, from Retry-After or x-ratelimit-reset-requests */
	long remaining_requests;       /* x-ratelimit-remaining-requests, or -1 */
	long quota_wait_ms;            /* the quota job's verdict: 0 granted, > 0 wait */
	long quota_reserved;           /* tokens reserved for the call in flight */
	long quota_delta;              /* real minus reserved tokens, not yet told to Redis */
	long pause_hint_ms;            /* ask every instance to pause this long */
	int64_t call_started_ms;
	char *reply;
	size_t reply_len;
	json_t *reservation;
	json_t *tool_calls_done;       /* [{"name", "ok"}] for the offline path */
	long prompt_tokens, completion_tokens;
	int early_status;              /* an error before the stream: HTTP status */
	char error_code[40];
	char error_message[256];
	int error_retry_after;
};

/* Allocates a turn for req holding one reference, the request's, which
 * chat_completed drops; the dispatcher takes its own when the turn starts.
 * Returns NULL when out of memory. The last turn_unref frees the turn. */
struct turn *turn_new(struct http_request *req, const char *message, const char *session_id, bool sse);
void turn_ref(struct turn *t);
void turn_unref(struct turn *t);

/* Appends an SSE event (data is consumed) and wakes the connection. */
void turn_emit(struct turn *t, const char *event, json_t *data);

/* Records an event for resumes only (the guest's connection is gone). */
void turn_journal_only(struct turn *t, const char *event, json_t *data);

/* Appends an already formatted event block (a resumed stream). */
void turn_emit_raw(struct turn *t, const char *text, size_t len);

/* Appends an SSE comment line. */
void turn_emit_comment(struct turn *t, const char *text);

/* Marks the output complete and wakes the connection. */
void turn_finish_output(struct turn *t);

/* Resumes the connection when it is suspended. Lock held. */
void turn_wake_locked(struct turn *t);

#endif
