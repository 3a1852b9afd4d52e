#ifndef MAITRED_SESSION_H
#define MAITRED_SESSION_H

/*
 * The jobs a turn runs on the pool threads: getting ready (rate limit,
 * session, router), running the model's tool calls, answering offline, and
 * storing the session. A session is one Redis string
 * "maitred:session:<id>" holding {"messages": [...], "state": {...}} with a
 * time to live of SESSION_TTL, so any worker or instance can take the next
 * turn.
 */
#include "workers/jobs.h"

/* Rate limit, load the session, pick the agent. Sets t->early_status on
 * a rate limit. */
void session_job_prepare(struct job_conn *conn, void *turn);

/* Runs the tool calls of the last model answer and appends the assistant
 * message and the tool results to t->convo. */
void session_job_tools(struct job_conn *conn, void *turn);

/* Answers the turn with the offline agent. */
void session_job_offline(struct job_conn *conn, void *turn);

/* Reserves the next model call in the shared per-minute quota
 * (OPENAI_RPM, OPENAI_TPM); sets t->quota_wait_ms. */
void session_job_quota(struct job_conn *conn, void *turn);

/* Appends the guest's message and the reply to the history and stores it. */
void session_job_save(struct job_conn *conn, void *turn);

/* Messages of history kept per session (older ones are dropped). */
#define SESSION_HISTORY_MAX 24

#endif
