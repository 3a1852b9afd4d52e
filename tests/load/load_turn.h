#ifndef MAITRED_LOAD_TURN_H
#define MAITRED_LOAD_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/load/load_counts.h"
#include "tests/load/load_sse.h"

/*
 * One chat turn as the client sees it: the response status, the SSE events
 * of the stream, the time to the first delta, and at the end either success
 * or one error kind. The first error found is the one counted.
 *
 * Error kinds: http_429, http_503, http_other (any other status than 200),
 * not_sse (200 without text/event-stream), sse_error:<code> (an error
 * event), reply_mismatch (the delta texts joined differ from done.reply),
 * bad_event (an event whose data is not the JSON the contract gives),
 * bad_stream (a line, an event or the reply over LOAD_TURN_MAX_BYTES),
 * cut (the stream ended without done or error), timeout (the per-turn
 * limit), connect (no connection), deadline (the run's --duration ended it).
 */

#define LOAD_TURN_MAX_BYTES (1u << 20)
#define LOAD_SESSION_ID_MAX 64

/* Events seen, by type; comments are the ": keep-alive" lines. */
struct load_events {
	uint64_t meta;
	uint64_t queued;
	uint64_t status;
	uint64_t tool;
	uint64_t delta;
	uint64_t done;
	uint64_t error;
	uint64_t other;
	uint64_t comments;
};

/* How the transfer ended, as the transport saw it. */
enum load_transport {
	LOAD_TRANSPORT_OK,       /* the response ended normally */
	LOAD_TRANSPORT_CONNECT,  /* the connection could not be made */
	LOAD_TRANSPORT_TIMEOUT,  /* the per-turn limit passed */
	LOAD_TRANSPORT_FAILED,   /* the connection broke after it was made */
	LOAD_TRANSPORT_DEADLINE, /* the run stopped it */
};

struct load_turn {
	double start_ms;
	double first_delta_ms; /* since start_ms; negative until the first delta */
	double total_ms;       /* since start_ms; set by load_turn_finish */
	long status;           /* HTTP status; 0 until the headers arrive */
	bool response_seen;
	bool streaming;        /* 200 with text/event-stream: the body is parsed */
	bool got_done;
	bool got_error;
	uint64_t bytes;        /* response body bytes */
	char error[LOAD_COUNT_NAME_MAX]; /* error kind; "" while none */
	char session_id[LOAD_SESSION_ID_MAX + 1]; /* from meta; "" while none */
	struct load_events events;

	char *reply; /* the delta texts joined */
	size_t reply_len;
	size_t reply_cap;
	double now_ms; /* time of the bytes being parsed */
	struct load_sse sse;
};

/* Prepares a turn record for reuse over many turns. */
void load_turn_init(struct load_turn *turn);

/* Frees the buffers; the struct itself is the caller's. */
void load_turn_free(struct load_turn *turn);

/* Starts a new turn at now_ms (any monotonic clock in milliseconds),
 * forgetting the previous one but keeping the buffers. */
void load_turn_begin(struct load_turn *turn, double now_ms);

/* Records the response's status and Content-Type (which may be NULL) once
 * the headers are in. Later calls change nothing. */
void load_turn_set_response(struct load_turn *turn, long status, const char *content_type);

/* Takes len bytes of response body received at now_ms. Returns 0, or -1
 * when the stream broke a limit (error bad_stream) and the transfer should
 * be aborted. */
int load_turn_feed(struct load_turn *turn, const char *bytes, size_t len, double now_ms);

/* Ends the turn at now_ms: sets total_ms and, unless an error is already
 * recorded, the error kind that follows from transport, status and events.
 * Returns true when the turn succeeded. */
bool load_turn_finish(struct load_turn *turn, enum load_transport transport, double now_ms);

/* Adds the counts of from to into. */
void load_events_add(struct load_events *into, const struct load_events *from);

#endif
