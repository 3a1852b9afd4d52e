#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "server/log.h"
#include "workers/dispatch.h"
#include "workers/llm.h"
#include "workers/llm_stream.h"
#include "workers/resume.h"
#include "workers/router.h"
#include "workers/session.h"
#include "workers/worker.h"

#define TICK_MS 100
#define POSITION_EVERY_MS 500

struct inbox_item {
	struct turn *turn;
	enum dispatch_event event;
	struct inbox_item *next;
};

static struct {
	pthread_t thread;
	CURLM *multi;
	pthread_mutex_t mu;
	struct inbox_item *head, *tail;
	volatile int stop;
	volatile int close_all;
	struct turn *turns;          /* dispatcher thread only */
	int count;
	int64_t last_tick_ms, last_position_ms;
} d = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void turn_start_model(struct turn *t);
static void turn_launch_call(struct turn *t);
static void turn_fail(struct turn *t, const char *code, const char *message);

int dispatch_turn_count(void)
{
	return __atomic_load_n(&d.count, __ATOMIC_RELAXED);
}

void dispatch_post(struct turn *t, enum dispatch_event event)
{
	struct inbox_item *item = malloc(sizeof(*item));
	if (!item)
		return;
	turn_ref(t);
	item->turn = t;
	item->event = event;
	item->next = NULL;

	pthread_mutex_lock(&d.mu);
	if (d.tail)
		d.tail->next = item;
	else
		d.head = item;
	d.tail = item;
	pthread_mutex_unlock(&d.mu);
	curl_multi_wakeup(d.multi);
}

static void job_then_post(struct job_conn *conn, void *arg);

struct turn_job {
	struct turn *turn;
	job_fn fn;
};

static void job_then_post(struct job_conn *conn, void *arg)
{
	struct turn_job *job = arg;
	job->fn(conn, job->turn);
	dispatch_post(job->turn, EV_JOB_DONE);
	turn_unref(job->turn);
	free(job);
}

void dispatch_run_job(struct turn *t, job_fn fn)
{
	struct turn_job *job = malloc(sizeof(*job));
	if (!job) {
		turn_fail(t, "overloaded", "the server is out of memory");
		return;
	}
	turn_ref(t);
	job->turn = t;
	job->fn = fn;
	if (jobs_submit(job_then_post, job) < 0) {
		turn_unref(t);
		free(job);
		turn_fail(t, "not_ready", "the server is shutting down; retry");
	}
}

/* ---- the end of a turn ---- */

static void turn_release_slot(struct turn *t)
{
	if (t->run_idx >= 0) {
		shm_run_release(worker_self->region, t->run_idx);
		t->run_idx = -1;
	}
}

static void turn_end(struct turn *t, enum shm_turn_outcome outcome)
{
	struct shm_worker *slot = worker_self->slot;
	if (t->state == TURN_ENDED)
		return;
	if (t->easy) {
		llm_call_abort(d.multi, t);
		shm_add(&slot->upstream_aborts, 1);
	}
	turn_release_slot(t);
	t->state = TURN_ENDED;
	/* The model call stopped with the guest: a resume learns it at once. */
	if (outcome == OUTCOME_GUEST_GONE && t->sse && t->decided && !t->resume)
		turn_journal_only(t, "error", json_pack("{s:{s:s,s:s}}", "error", "code", "interrupted", "message",
							"the answer stopped when the connection dropped; please send your message again"));
	if (!t->resume)
		resume_persist(t, true);

	int64_t duration = shm_now_ms() - t->started_ms;
	shm_add(&slot->turns[outcome], 1);
	shm_observe(slot, HIST_TURN, duration * 1000);
	log_write(LOG_INFO, t->id, "turn_end",
		  "session=%s agent=%s outcome=%s offline=%d duration_ms=%lld rounds=%d tokens_in=%ld tokens_out=%ld",
		  t->session_id, agent_name(t->agent), shm_outcome_name(outcome), t->offline,
		  (long long)duration, t->rounds, t->prompt_tokens, t->completion_tokens);

	if (t->prev)
		t->prev->next = t->next;
	else
		d.turns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	__atomic_fetch_sub(&d.count, 1, __ATOMIC_RELAXED);
	turn_finish_output(t);
	turn_unref(t);
}

/* An error before anything was streamed: a plain JSON error response. */
static void turn_fail_early(struct turn *t, enum shm_turn_outcome outcome)
{
	pthread_mutex_lock(&t->mu);
	t->decided = false;
	pthread_mutex_unlock(&t->mu);
	turn_end(t, outcome);
}

/* An error once the stream is open: an error event, or the JSON error. */
static void turn_fail(struct turn *t, const char *code, const char *message)
{
	if (t->state == TURN_ENDED)
		return;
	snprintf(t->error_code, sizeof(t->error_code), "%s", code);
	snprintf(t->error_message, sizeof(t->error_message), "%s", message);
	turn_emit(t, "error", json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
	log_write(LOG_WARN, t->id, "turn_failed", "code=%s %s", code, message);
	turn_end(t, OUTCOME_ERROR);
}

/* ---- streaming out ---- */

static void turn_open_stream(struct turn *t)
{
	turn_emit(t, "meta", json_pack("{s:s,s:s,s:s}", "session_id", t->session_id, "request_id", t->id,
				      "agent", agent_name(t->agent)));
	pthread_mutex_lock(&t->mu);
	t->decided = true;
	if (t->sse)
		turn_wake_locked(t);
	pthread_mutex_unlock(&t->mu);
}

static void turn_append_reply(struct turn *t, const char *text, size_t len)
{
	char *grown = realloc(t->reply, t->reply_len + len + 1);
	if (!grown)
		return;
	memcpy(grown + t->reply_len, text, len);
	t->reply_len += len;
	grown[t->reply_len] = '\0';
	t->reply = grown;
}

void llm_on_delta(struct turn *t, const char *text, size_t len)
{
	int64_t now = shm_now_ms();
	if (!t->first_token_ms) {
		t->first_token_ms = now;
		shm_observe(worker_self->slot, HIST_FIRST_TOKEN, (now - t->started_ms) * 1000);
		shm_run_set_state(worker_self->region, t->run_idx, RUN_STREAMING);
	}
	turn_append_reply(t, text, len);
	/* A JSON reply goes out whole at the end, so until then no text reached the guest. */
	if (t->sse)
		t->text_sent = true;
	__atomic_fetch_add(&worker_self->region->runs[t->run_idx].tokens_out, 1, __ATOMIC_RELAXED);
	turn_emit(t, "delta", json_pack("{s:s#}", "text", text, len));
}

static void turn_emit_done(struct turn *t)
{
	json_t *done = json_pack("{s:s#,s:s,s:{s:I,s:I}}", "reply", t->reply ? t->reply : "", t->reply_len,
				 "agent", agent_name(t->agent), "usage",
				 "prompt_tokens", (json_int_t)t->prompt_tokens,
				 "completion_tokens", (json_int_t)t->completion_tokens);
	if (t->reservation)
		json_object_set(done, "reservation", t->reservation);
	double price_in = 0, price_out = 0;
	bool used_model = t->prompt_tokens || t->completion_tokens;
	if (sscanf(worker_self->cfg->price_table, "%lf:%lf", &price_in, &price_out) == 2 && used_model) {
		double cost = ((double)t->prompt_tokens * price_in + (double)t->completion_tokens * price_out) / 1e6;
		json_object_set_new(done, "cost_usd", json_real(cost));
		shm_add(&worker_self->slot->cost_microdollars, (uint64_t)(cost * 1e6));
	}
	turn_emit(t, "done", done);
}

/* ---- states ---- */

static bool circuit_open(void)
{
	int64_t until = __atomic_load_n(&worker_self->region->hdr->circuit_open_until_ms, __ATOMIC_RELAXED);
	return until > shm_wall_ms();
}

static void turn_go_offline(struct turn *t, const char *notice)
{
	/* The offline agent's reply replaces any model text that a JSON reply
	 * would have carried. */
	free(t->reply);
	t->reply = NULL;
	t->reply_len = 0;
	t->offline = true;
	turn_release_slot(t);
	shm_add(&worker_self->slot->offline_turns, 1);
	if (notice)
		turn_emit(t, "status", json_pack("{s:s}", "text", notice));
	t->state = TURN_OFFLINE;
	dispatch_run_job(t, session_job_offline);
}

static void turn_after_prepare(struct turn *t)
{
	if (t->early_status) {
		turn_fail_early(t, OUTCOME_RATE_LIMITED);
		return;
	}
	t->convo = json_array();
	if (!config_online(worker_self->cfg)) {
		turn_open_stream(t);
		turn_go_offline(t, NULL);
		return;
	}
	if (circuit_open()) {
		turn_open_stream(t);
		shm_add(&worker_self->slot->circuit_fallbacks, 1);
		turn_go_offline(t, "Our assistant is briefly limited, so the offline assistant is answering.");
		return;
	}

	bool admitted = false;
	t->run_idx = shm_run_enqueue(worker_self->region, worker_self->index, t->id, (int)t->agent, &admitted);
	if (t->run_idx < 0) {
		t->early_status = 503;
		t->error_retry_after = 5;
		snprintf(t->error_code, sizeof(t->error_code), "overloaded");
		snprintf(t->error_message, sizeof(t->error_message),
			 "all %d agents are busy and %d guests are waiting; retry in a few seconds",
			 worker_self->region->hdr->slot_limit, worker_self->region->hdr->queue_limit);
		turn_fail_early(t, OUTCOME_QUEUE_FULL);
		return;
	}
	t->queued_ms = shm_now_ms();
	turn_open_stream(t);
	if (admitted) {
		turn_start_model(t);
		return;
	}
	t->state = TURN_QUEUED;
	t->last_position = shm_run_position(worker_self->region, t->run_idx);
	turn_emit(t, "queued", json_pack("{s:i}", "position", t->last_position));
}

/* Starts the next model call, after reserving it in the shared quota when
 * OPENAI_RPM or OPENAI_TPM is set. */
static void turn_start_model(struct turn *t)
{
	const struct config *cfg = worker_self->cfg;
	if (cfg->openai_rpm || cfg->openai_tpm) {
		t->state = TURN_QUOTA;
		dispatch_run_job(t, session_job_quota);
		return;
	}
	turn_launch_call(t);
}

static void turn_after_quota(struct turn *t)
{
	if (t->quota_wait_ms <= 0) {
		turn_launch_call(t);
		return;
	}
	shm_add(&worker_self->slot->rate_limit_waits, 1);
	if (shm_now_ms() + t->quota_wait_ms > t->deadline_ms) {
		char message[160];
		snprintf(message, sizeof(message),
			 "the assistant's request budget is used up for the moment; retry in %ld s",
			 (t->quota_wait_ms + 999) / 1000);
		turn_fail(t, "overloaded", message);
		return;
	}
	t->state = TURN_QUOTA_WAIT;
	t->retry_at_ms = shm_now_ms() + t->quota_wait_ms;
}

static void turn_launch_call(struct turn *t)
{
	char err[200];
	if (t->state == TURN_QUEUED || !t->admitted_ms) {
		t->admitted_ms = shm_now_ms();
		shm_observe(worker_self->slot, HIST_QUEUE_WAIT, (t->admitted_ms - t->queued_ms) * 1000);
	}
	shm_run_set_state(worker_self->region, t->run_idx, RUN_FIRST_TOKEN_WAIT);
	t->state = TURN_MODEL;
	bool with_tools = t->rounds < worker_self->cfg->max_tool_rounds;
	if (llm_call_start(d.multi, t, with_tools, err, sizeof(err)) < 0)
		turn_fail(t, "internal_error", err);
}

static void turn_save(struct turn *t)
{
	t->state = TURN_SAVING;
	dispatch_run_job(t, session_job_save);
}

/* Streams the offline agent's answer: its tool events, then the text. */
static void turn_after_offline(struct turn *t)
{
	size_t i;
	json_t *tool;
	json_array_foreach(t->tool_calls_done, i, tool)
		turn_emit(t, "tool", json_incref(tool));

	/* A few words per delta, so a page shows the answer growing. */
	const char *p = t->reply ? t->reply : "";
	while (*p) {
		const char *end = p;
		for (int words = 0; *end && words < 4; words++) {
			while (*end && *end != ' ')
				end++;
			while (*end == ' ')
				end++;
		}
		turn_emit(t, "delta", json_pack("{s:s#}", "text", p, (size_t)(end - p)));
		p = end;
	}
	if (!t->first_token_ms) {
		t->first_token_ms = shm_now_ms();
		shm_observe(worker_self->slot, HIST_FIRST_TOKEN, (t->first_token_ms - t->started_ms) * 1000);
	}
	turn_save(t);
}

static void turn_after_save(struct turn *t)
{
	turn_emit_done(t);
	turn_end(t, OUTCOME_DONE);
}

/* A resumed stream: its events come from Redis until done or error. */
static void turn_after_resume_fetch(struct turn *t)
{
	/* The whole stream was read and the guest claims an event after its
	 * last one: that id was never sent. */
	if (!t->decided && t->resume_complete && t->resume_after > t->resume_last)
		t->resume_missing = true;
	if (t->resume_missing && !t->decided) {
		t->early_status = 404;
		snprintf(t->error_code, sizeof(t->error_code), "not_found");
		snprintf(t->error_message, sizeof(t->error_message),
			 "there is no answer %s to resume in this conversation (it ended more than %d s ago, never had that event, "
			 "or belongs to another session); send your message again", t->resume_id, RESUME_TTL);
		turn_fail_early(t, OUTCOME_ERROR);
		return;
	}
	if (!t->decided) {
		pthread_mutex_lock(&t->mu);
		t->decided = true;
		turn_wake_locked(t);
		pthread_mutex_unlock(&t->mu);
	}
	if (t->resume_complete) {
		turn_end(t, OUTCOME_DONE);
		return;
	}
	t->state = TURN_RESUME_WAIT;
	t->retry_at_ms = shm_now_ms() + RESUME_POLL_MS;
}

static void on_job_done(struct turn *t)
{
	if (t->state == TURN_ENDED)
		return;
	if (t->gone && t->state != TURN_SAVING) {
		turn_end(t, OUTCOME_GUEST_GONE);
		return;
	}
	if (d.close_all && t->state != TURN_SAVING) {
		turn_fail(t, "not_ready", "the server is restarting; please send your message again");
		return;
	}
	switch (t->state) {
	case TURN_PREPARING:
		turn_after_prepare(t);
		break;
	case TURN_QUOTA:
		turn_after_quota(t);
		break;
	case TURN_RESUMING:
		turn_after_resume_fetch(t);
		break;
	case TURN_TOOLS:
		t->rounds++;
		shm_run_set_state(worker_self->region, t->run_idx, RUN_FIRST_TOKEN_WAIT);
		turn_start_model(t);
		break;
	case TURN_OFFLINE:
		turn_after_offline(t);
		break;
	case TURN_SAVING:
		turn_after_save(t);
		break;
	default:
		break;
	}
}

/* ---- model call outcomes ---- */

/* Counts failures in a row across the instance's workers: a guest's turns
 * land on any worker, so a count per worker would open the circuit only
 * after up to WORKERS times as many failures. */
static void circuit_record(bool success)
{
	struct shm_header *hdr = worker_self->region->hdr;

	if (success) {
		if (__atomic_load_n(&hdr->circuit_failures, __ATOMIC_RELAXED))
			__atomic_store_n(&hdr->circuit_failures, 0, __ATOMIC_RELAXED);
		return;
	}
	int32_t failures = __atomic_add_fetch(&hdr->circuit_failures, 1, __ATOMIC_RELAXED);
	if (failures < worker_self->cfg->circuit_failures)
		return;

	/* The worker that resets the count opens the circuit, so it logs once. */
	if (!__atomic_compare_exchange_n(&hdr->circuit_failures, &failures, 0, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return;
	int64_t until = shm_wall_ms() + (int64_t)worker_self->cfg->circuit_cooldown * 1000;
	__atomic_store_n(&hdr->circuit_open_until_ms, until, __ATOMIC_RELAXED);
	log_warn("circuit_open", "model calls failed %d times in a row; the offline agent answers for %d s",
		 worker_self->cfg->circuit_failures, worker_self->cfg->circuit_cooldown);
}

static long backoff_ms(struct turn *t, const struct llm_failure *f)
{
	unsigned int noise = 0;
	if (getrandom(&noise, sizeof(noise), 0) != (ssize_t)sizeof(noise))
		noise = 0;
	long base = 250L << (t->retries < 6 ? t->retries : 6);
	long wait = base + (long)(noise % (unsigned)base);   /* full jitter on top of the base */
	if (f->retry_after_ms > wait)
		wait = f->retry_after_ms;
	return wait;
}

/* Ends a turn whose model call failed after a reservation was made or
 * cancelled. The guest saw no text about it yet, so the error names it. */
static void turn_fail_after_booking(struct turn *t)
{
	const char *code = json_string_value(json_object_get(t->reservation, "code"));
	const char *status = json_string_value(json_object_get(t->reservation, "status"));
	const char *date = json_string_value(json_object_get(t->reservation, "date"));
	const char *time = json_string_value(json_object_get(t->reservation, "time"));
	json_int_t party = json_integer_value(json_object_get(t->reservation, "party_size"));
	char message[256];

	if (code && status && strcmp(status, "cancelled") == 0)
		snprintf(message, sizeof(message), "the assistant stopped before finishing its answer, "
			 "but your reservation %s is cancelled", code);
	else if (code && date && time)
		snprintf(message, sizeof(message), "the assistant stopped before finishing its answer, "
			 "but your reservation is made: code %s, %lld guests on %s at %s",
			 code, (long long)party, date, time);
	else
		snprintf(message, sizeof(message), "the assistant stopped before finishing its answer, "
			 "but your reservation change was saved");
	turn_fail(t, "upstream_error", message);
}

/* Removes the failed call's text from the reply before the call runs again.
 * Only a JSON reply can have any at this point, because a turn whose text
 * was streamed is never replayed. */
static void turn_drop_call_text(struct turn *t)
{
	size_t len = llm_stream_result(t->parser)->content_len;

	if (len > t->reply_len)
		len = t->reply_len;
	t->reply_len -= len;
	if (t->reply)
		t->reply[t->reply_len] = '\0';
}

static void turn_model_failed(struct turn *t, const struct llm_failure *f)
{
	struct shm_worker *slot = worker_self->slot;
	shm_add(&slot->model_errors[f->kind], 1);
	if (f->timeout)
		shm_add(&slot->timeouts[f->timeout_kind], 1);
	log_write(LOG_WARN, t->id, "model_call_failed", "kind=%s retry=%d %s", shm_model_error_name(f->kind),
		  t->retries, f->message);

	bool replay_safe = !t->text_sent && !t->side_effects;
	if (replay_safe)
		turn_drop_call_text(t);
	long wait = backoff_ms(t, f);
	if (f->retryable && replay_safe && t->retries < worker_self->cfg->openai_max_retries &&
	    shm_now_ms() + wait < t->deadline_ms) {
		t->retries++;
		shm_add(&slot->model_retries, 1);
		t->state = TURN_RETRY_WAIT;
		t->retry_at_ms = shm_now_ms() + wait;
		return;
	}
	circuit_record(false);
	if (replay_safe) {
		shm_add(&slot->circuit_fallbacks, 1);
		turn_go_offline(t, "Our assistant is briefly limited, so the offline assistant is answering.");
		return;
	}
	if (t->side_effects)
		turn_fail_after_booking(t);
	else
		turn_fail(t, f->timeout ? "upstream_timeout" : "upstream_error",
			  "the assistant stopped before finishing its answer; please ask again");
}

static void on_transfer_done(struct turn *t, CURLcode code)
{
	struct llm_failure f;
	enum llm_outcome outcome = llm_call_finish(t, code, &f);

	shm_observe(worker_self->slot, HIST_MODEL_CALL, (shm_now_ms() - t->call_started_ms) * 1000);
	shm_add(&worker_self->slot->tokens_in, (uint64_t)llm_stream_result(t->parser)->prompt_tokens);
	shm_add(&worker_self->slot->tokens_out, (uint64_t)llm_stream_result(t->parser)->completion_tokens);
	curl_multi_remove_handle(d.multi, t->easy);
	curl_easy_cleanup(t->easy);
	t->easy = NULL;

	/* The provider's budget is nearly spent: slow every instance down. */
	if (t->remaining_requests >= 0 && t->remaining_requests <= 1)
		t->pause_hint_ms = t->retry_after_s > 0 ? t->retry_after_s : 1000;
	if (t->quota_reserved) {
		const struct llm_result *r = llm_stream_result(t->parser);
		t->quota_delta += r->prompt_tokens + r->completion_tokens - t->quota_reserved;
		t->quota_reserved = 0;
	}

	if (outcome == LLM_FAILED) {
		turn_model_failed(t, &f);
		return;
	}
	circuit_record(true);
	if (outcome == LLM_TOOLS) {
		t->state = TURN_TOOLS;
		shm_run_set_state(worker_self->region, t->run_idx, RUN_TOOL);
		dispatch_run_job(t, session_job_tools);
		return;
	}
	turn_release_slot(t);
	turn_save(t);
}

static void process_transfers(void)
{
	int left;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(d.multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct turn *t = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (t)
			on_transfer_done(t, msg->data.result);
	}
}

/* ---- events, admissions and timers ---- */

static void on_new(struct turn *t)
{
	turn_ref(t);   /* the dispatcher's own reference, dropped in turn_end */
	t->next = d.turns;
	if (d.turns)
		d.turns->prev = t;
	d.turns = t;
	__atomic_fetch_add(&d.count, 1, __ATOMIC_RELAXED);
	if (t->resume) {
		t->state = TURN_RESUMING;
		dispatch_run_job(t, resume_job_fetch);
		return;
	}
	t->state = TURN_PREPARING;
	dispatch_run_job(t, session_job_prepare);
}

static void on_gone(struct turn *t)
{
	if (t->state == TURN_ENDED)
		return;
	if (t->run_idx >= 0)
		shm_run_set_state(worker_self->region, t->run_idx, RUN_GUEST_GONE);
	/* A job in flight cannot be stopped; its completion ends the turn. */
	if (t->state == TURN_MODEL || t->state == TURN_QUEUED || t->state == TURN_RETRY_WAIT ||
	    t->state == TURN_QUOTA_WAIT || t->state == TURN_RESUME_WAIT)
		turn_end(t, OUTCOME_GUEST_GONE);
}

static void process_inbox(void)
{
	pthread_mutex_lock(&d.mu);
	struct inbox_item *item = d.head;
	d.head = d.tail = NULL;
	pthread_mutex_unlock(&d.mu);

	while (item) {
		struct inbox_item *next = item->next;
		if (item->event == EV_NEW)
			on_new(item->turn);
		else if (item->event == EV_JOB_DONE)
			on_job_done(item->turn);
		else
			on_gone(item->turn);
		turn_unref(item->turn);
		free(item);
		item = next;
	}
}

static void check_admissions(void)
{
	for (struct turn *t = d.turns, *next; t; t = next) {
		next = t->next;
		if (t->state == TURN_QUEUED && shm_run_admitted(worker_self->region, t->run_idx))
			turn_start_model(t);
	}
}

static void tick_queued(struct turn *t, int64_t now, bool positions)
{
	const struct config *cfg = worker_self->cfg;
	if (now - t->queued_ms > (int64_t)cfg->queue_timeout * 1000) {
		/* Admitted in the meantime: go on instead. */
		if (shm_run_admitted(worker_self->region, t->run_idx)) {
			turn_start_model(t);
			return;
		}
		shm_run_release(worker_self->region, t->run_idx);
		t->run_idx = -1;
		snprintf(t->error_code, sizeof(t->error_code), "overloaded");
		snprintf(t->error_message, sizeof(t->error_message),
			 "no agent was free within %d s; retry in a few seconds", cfg->queue_timeout);
		t->error_retry_after = 5;
		if (!t->sse) {
			t->early_status = 503;
			turn_fail_early(t, OUTCOME_QUEUE_TIMEOUT);
			return;
		}
		turn_emit(t, "error", json_pack("{s:{s:s,s:s,s:i}}", "error", "code", "overloaded", "message",
						t->error_message, "retry_after", 5));
		turn_end(t, OUTCOME_QUEUE_TIMEOUT);
		return;
	}
	if (positions) {
		int position = shm_run_position(worker_self->region, t->run_idx);
		if (position > 0 && position != t->last_position) {
			t->last_position = position;
			turn_emit(t, "queued", json_pack("{s:i}", "position", position));
		}
	}
}

/* True once the call brought text or a tool call. A server may send its
 * role chunk or comments at once and the first token much later, so those
 * do not count. */
static bool call_has_token(const struct turn *t)
{
	const struct llm_result *r = llm_stream_result(t->parser);
	return r->content_len > 0 || r->ncalls > 0;
}

static void tick_model(struct turn *t, int64_t now)
{
	const struct config *cfg = worker_self->cfg;
	struct llm_failure f = { .retryable = true, .timeout = true, .kind = MODEL_ERR_TIMEOUT, .retry_after_ms = -1 };
	bool has_token = call_has_token(t);

	if (!has_token && now - t->call_started_ms > cfg->openai_first_token_timeout) {
		f.timeout_kind = TIMEOUT_FIRST_TOKEN;
		snprintf(f.message, sizeof(f.message), "no first token within %d ms", cfg->openai_first_token_timeout);
	} else if (has_token && now - t->last_chunk_ms > cfg->openai_idle_timeout) {
		f.timeout_kind = TIMEOUT_IDLE;
		snprintf(f.message, sizeof(f.message), "no chunk for %d ms", cfg->openai_idle_timeout);
	} else {
		return;
	}
	llm_call_abort(d.multi, t);
	shm_add(&worker_self->slot->upstream_aborts, 1);
	turn_model_failed(t, &f);
}

static void tick_turn(struct turn *t, int64_t now, bool positions)
{
	const struct config *cfg = worker_self->cfg;

	if (t->state != TURN_ENDED && now > t->deadline_ms && t->state != TURN_SAVING &&
	    t->state != TURN_PREPARING && t->state != TURN_TOOLS && t->state != TURN_OFFLINE &&
	    t->state != TURN_QUOTA && t->state != TURN_RESUMING) {
		shm_add(&worker_self->slot->timeouts[TIMEOUT_TURN], 1);
		turn_fail(t, "upstream_timeout", "the assistant did not answer in time; please ask again");
		return;
	}
	if (t->state == TURN_QUEUED)
		tick_queued(t, now, positions);
	else if (t->state == TURN_MODEL)
		tick_model(t, now);
	else if ((t->state == TURN_RETRY_WAIT || t->state == TURN_QUOTA_WAIT) && now >= t->retry_at_ms)
		turn_start_model(t);
	else if (t->state == TURN_RESUME_WAIT && now >= t->retry_at_ms) {
		t->state = TURN_RESUMING;
		dispatch_run_job(t, resume_job_fetch);
	}
	if (t->state == TURN_ENDED || !t->sse)
		return;
	if (!t->resume)
		resume_persist(t, false);

	/* A calm notice while the model or a tool keeps the guest waiting. */
	bool waiting = (t->state == TURN_MODEL && !call_has_token(t)) || t->state == TURN_TOOLS ||
		       t->state == TURN_RETRY_WAIT || t->state == TURN_QUOTA_WAIT;
	int64_t quiet_since = t->last_status_ms > t->last_chunk_ms ? t->last_status_ms : t->last_chunk_ms;
	if (quiet_since < t->call_started_ms)
		quiet_since = t->call_started_ms;
	if (waiting && now - quiet_since > (int64_t)cfg->status_after * 1000) {
		t->last_status_ms = now;
		turn_emit(t, "status", json_pack("{s:s}", "text", t->agent == AGENT_BOOKING ?
						  "Still checking the tables..." : "Still working on it..."));
	}
	pthread_mutex_lock(&t->mu);
	bool idle = now - t->last_write_ms >= (int64_t)cfg->heartbeat_interval * 1000;
	pthread_mutex_unlock(&t->mu);
	if (idle)
		turn_emit_comment(t, "keep-alive");
}

static void tick(void)
{
	int64_t now = shm_now_ms();
	if (now - d.last_tick_ms < TICK_MS)
		return;
	d.last_tick_ms = now;
	bool positions = now - d.last_position_ms >= POSITION_EVERY_MS;
	if (positions)
		d.last_position_ms = now;

	for (struct turn *t = d.turns, *next; t; t = next) {
		next = t->next;
		bool in_job = t->state == TURN_PREPARING || t->state == TURN_TOOLS || t->state == TURN_QUOTA ||
			      t->state == TURN_RESUMING ||
			      t->state == TURN_OFFLINE || t->state == TURN_SAVING;
		if (d.close_all && !in_job && t->state != TURN_ENDED) {
			turn_fail(t, "not_ready", "the server is restarting; please send your message again");
			continue;
		}
		tick_turn(t, now, positions);
	}
}

static void *dispatch_main(void *unused)
{
	struct curl_waitfd wake = { .fd = worker_self->slot->wake_fd, .events = CURL_WAIT_POLLIN };

	while (!d.stop || d.count > 0 || d.head) {
		/* The heartbeat the master watches: a stuck dispatcher gets replaced. */
		if (worker_self->slot->pid == getpid())
			__atomic_store_n(&worker_self->slot->heartbeat_ms, shm_now_ms(), __ATOMIC_RELAXED);
		wake.revents = 0;
		curl_multi_poll(d.multi, &wake, 1, TICK_MS, NULL);
		if (wake.revents) {
			uint64_t ignored;
			ssize_t n = read(wake.fd, &ignored, sizeof(ignored));
			(void)n;
		}
		int running;
		curl_multi_perform(d.multi, &running);
		process_transfers();
		process_inbox();
		check_admissions();
		tick();
		if (d.stop)
			d.close_all = 1;
	}
	return NULL;
}

int dispatch_start(void)
{
	d.multi = curl_multi_init();
	if (!d.multi) {
		log_error("dispatcher_start_failed", "curl_multi_init() failed");
		return -1;
	}
	curl_multi_setopt(d.multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	int rc = pthread_create(&d.thread, NULL, dispatch_main, NULL);
	if (rc) {
		log_error("dispatcher_start_failed", "pthread_create() failed: %s", strerror(rc));
		return -1;
	}
	return 0;
}

void dispatch_close_all(void)
{
	d.close_all = 1;
	curl_multi_wakeup(d.multi);
}

void dispatch_stop(void)
{
	d.stop = 1;
	curl_multi_wakeup(d.multi);
	pthread_join(d.thread, NULL);
	curl_multi_cleanup(d.multi);
}
