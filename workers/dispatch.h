#ifndef MAITRED_DISPATCH_H
#define MAITRED_DISPATCH_H

/*
 * The worker's agent dispatcher: one thread that drives every chat turn of
 * the worker through its states, runs the model calls on a libcurl multi
 * handle, and waits for agent slots, jobs and timers, so no HTTP thread
 * ever waits for any of them.
 */
#include "workers/jobs.h"
#include "workers/turn.h"

enum dispatch_event { EV_NEW, EV_JOB_DONE, EV_GONE };

int dispatch_start(void);

/* Ends the turns still running (each gets an error) and joins the thread. */
void dispatch_stop(void);

/* Hands an event about t to the dispatcher; takes a reference to t. */
void dispatch_post(struct turn *t, enum dispatch_event event);

/* Runs fn(conn, t) on a pool thread, then posts EV_JOB_DONE. */
void dispatch_run_job(struct turn *t, job_fn fn);

/* Ends every turn still open with an error (the drain deadline passed). */
void dispatch_close_all(void);

/* Number of turns the dispatcher holds. */
int dispatch_turn_count(void);

#endif
