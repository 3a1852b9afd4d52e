#ifndef MAITRED_RESUME_H
#define MAITRED_RESUME_H

/*
 * Resumable answers. Every event of a stream is also written, in batches,
 * to the Redis list "maitred:stream:<request id>" for RESUME_TTL seconds.
 * A guest whose connection dropped sends the turn again with the header
 * Last-Event-ID: <request id>-<n>; the worker that takes it replays the
 * events after n from Redis and follows the list until the turn's done or
 * error event, wherever the turn itself runs.
 */
#include <stdbool.h>
#include <stddef.h>

#include "workers/jobs.h"
#include "workers/turn.h"

#define RESUME_TTL 300
#define RESUME_POLL_MS 200

/* Parses "<request id>-<n>". Returns 0, or -1 when it is not such an id. */
int resume_parse_id(const char *text, char *request_id, size_t len, long *after);

/* Records an event's SSE text for a later resume. Turn lock held. */
void resume_journal(struct turn *t, const char *text, size_t len);

/* Writes what the journal holds beyond what Redis has, on a pool thread.
 * Call from the dispatcher; a write already under way is left to finish. */
void resume_persist(struct turn *t, bool final);

/* The job of a resuming turn: reads the list from where it left off and
 * emits the events after t->resume_after. */
void resume_job_fetch(struct job_conn *conn, void *turn);

#endif
