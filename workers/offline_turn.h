#ifndef MAITRED_OFFLINE_TURN_H
#define MAITRED_OFFLINE_TURN_H

/*
 * What the parts of the offline agent share while answering one turn.
 * Internal to workers/offline*.c.
 */
#include <stdarg.h>
#include <stdbool.h>

#include <jansson.h>

#include "workers/nlu.h"
#include "workers/offline.h"

struct offline_turn {
	struct tool_ctx *ctx;
	json_t *state;
	const char *message;
	struct nlu_result nlu;
	struct offline_reply *out;
	char *text;          /* the reply being written */
	size_t len, cap;
	bool failed;         /* out of memory while writing the reply */
};

/* Runs a tool, records {"name","ok"} in out->tools and takes ownership of
 * args. Returns the result (the caller owns it) and its status in *status;
 * a tool that returns NULL is reported as status 503 with an empty object. */
json_t *offline_call(struct offline_turn *turn, const char *tool, json_t *args, int *status);

/* Appends formatted text to the reply. */
void offline_say(struct offline_turn *turn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Answers a turn for the booking agent: new bookings, finding and
 * cancelling. Returns 0, or -1 when the guest should see an error. */
int offline_booking_turn(struct offline_turn *turn);

/* Answers a turn for the food agent: menu, dietary and allergen questions,
 * opening hours, and anything else. Returns 0, or -1 when the guest should
 * see an error. */
int offline_food_turn(struct offline_turn *turn);

/* Answers a message that is neither a menu nor a booking question: greetings,
 * thanks, other services, and what the offline assistant can do. */
void offline_say_general(struct offline_turn *turn);

/* Repeats the booking question still waiting for an answer, if any, after
 * an answer about something else. */
void offline_say_pending_question(struct offline_turn *turn);

/* Checks that the draft's party, day and time are free (check_availability).
 * Returns 1 when they are, 0 when the reply now offers other times or asks
 * again, or -1 when the guest should see an error. */
int offline_check_slot(struct offline_turn *turn, json_t *draft);

/* Asks for the time, listing the free times of the draft's day when the
 * tools can tell. Returns 0, or -1 when the guest should see an error. */
int offline_ask_time(struct offline_turn *turn, json_t *draft);

/* Answers a failed check or create: offers the nearest free times of a
 * full or refused slot, or says what cannot be booked and forgets it.
 * Returns 0, or -1 for a status the guest should see as an error (503). */
int offline_handle_slot_error(struct offline_turn *turn, json_t *draft, const json_t *result,
			      int status);

/* Writes the confirmation of a reservation the tool just created. */
void offline_say_booked(struct offline_turn *turn, const json_t *reservation);

/* Finds (cancel false) or cancels (cancel true) the reservation whose code
 * and phone the guest gave in this conversation, asking for what is
 * missing. Returns 0, or -1 when the guest should see an error. */
int offline_run_lookup(struct offline_turn *turn, json_t *draft, bool cancel);

/* Writes a reservation's party, day and time in words, from its starts_at. */
void offline_say_reservation(struct offline_turn *turn, const json_t *reservation);

/* Returns the state's string field, or NULL. */
const char *offline_state_str(const json_t *state, const char *key);

#endif
