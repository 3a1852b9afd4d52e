#ifndef MAITRED_OFFLINE_H
#define MAITRED_OFFLINE_H

/*
 * The rule-based agent that answers when no language model is configured or
 * the model is down. It reads each message with workers/nlu.h, keeps the
 * booking dialogue in the session's state and runs the same tools as the
 * model-backed agents, so every dish, price and reservation in a reply comes
 * from a tool result.
 */
#include <jansson.h>

#include "workers/tools.h"

struct offline_reply {
	char *text;            /* malloc'd reply, UTF-8, never empty */
	json_t *reservation;   /* reservation created, found or cancelled this turn, or NULL */
	json_t *tools;         /* array of {"name": "...", "ok": true|false}, one per tool run */
};

/* Answers one guest message as the offline agent. state is the session's
 * JSON object (created by the caller as {} for a new session), read and
 * updated in place: the booking draft collected so far (party size, local
 * date, local time, name, phone, last code...) and the agent used. Tools run
 * through tool_run(ctx, ...) from workers/tools.h. Returns 0, or -1 only on
 * a failure the guest should see as an error (out->text then holds a short
 * apology). The caller frees with offline_reply_free.
 *
 * State fields: "agent" ("food"/"booking"), "booking" (the draft:
 * party_size, date "YYYY-MM-DD", time "HH:MM", name, phone), "task"
 * ("book", "find", "cancel"), "asked" (the detail the last reply asked
 * for), "offered" (times offered instead of a full one), "code" (the code
 * the guest gave), "booked_code" and "booked" (the code and the
 * reservation made in this session), and "confirm_cancel" (the code) or
 * "confirm_rebook" (true) while a yes/no question waits for its answer. */
int offline_turn(struct tool_ctx *ctx, enum agent_kind agent, json_t *state,
		 const char *message, struct offline_reply *out);

/* Frees the reply's members and zeroes it; NULL-safe. */
void offline_reply_free(struct offline_reply *reply);

/* The signature of tool_run(). */
typedef json_t *(*offline_tool_fn)(struct tool_ctx *ctx, const char *name, json_t *args,
				   int *status);

/* Makes the offline agent run its tools through fn instead of tool_run, or
 * through tool_run again when fn is NULL. For tests and the scorer only:
 * not thread-safe, call it before any turn runs. */
void offline_set_tool_runner(offline_tool_fn fn);

#endif
