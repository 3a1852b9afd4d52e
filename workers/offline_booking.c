#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "workers/offline_turn.h"

/* The details a booking needs, in the order the agent asks for them. */
static const char *const draft_order[] = { "party_size", "date", "time", "name", "phone", NULL };

static json_t *draft_of(json_t *state)
{
	json_t *draft = json_object_get(state, "booking");

	if (!json_is_object(draft)) {
		draft = json_object();
		json_object_set_new(state, "booking", draft);
	}
	return draft;
}

static const char *draft_str(const json_t *draft, const char *key)
{
	return json_string_value(json_object_get(draft, key));
}

static int draft_party(const json_t *draft)
{
	return (int)json_integer_value(json_object_get(draft, "party_size"));
}

static bool draft_has(const json_t *draft, const char *key)
{
	if (strcmp(key, "party_size") == 0)
		return draft_party(draft) > 0;
	const char *value = draft_str(draft, key);
	return value && value[0];
}

/* Forgets the last availability check and the times offered, because the
 * party, day or time they were for has changed. */
static void forget_check(json_t *state)
{
	json_object_del(state, "checked");
	json_object_del(state, "offered");
}

static void set_detail(json_t *state, json_t *draft, const char *key, const char *value)
{
	const char *old = draft_str(draft, key);

	if (old && strcmp(old, value) == 0)
		return;
	json_object_set_new(draft, key, json_string(value));
	if (strcmp(key, "date") == 0 || strcmp(key, "time") == 0)
		forget_check(state);
}

static void set_party(json_t *state, json_t *draft, int party)
{
	if (draft_party(draft) == party)
		return;
	json_object_set_new(draft, "party_size", json_integer(party));
	forget_check(state);
}

/* Decides what a bare number in a correction changes ("no, make it 7"):
 * the time when it lands within 2 hours of the draft's time, else the
 * party size. Returns "time", "party_size" or NULL. */
static const char *correction_target(const json_t *draft, const struct nlu_result *r)
{
	char time[NLU_TIME_SIZE];
	const char *current = draft_str(draft, "time");
	int h = 0, m = 0;

	if (!(r->intents & NLU_INTENT_CHANGE) || r->number < 1 || r->time[0] || r->party_size)
		return NULL;
	if (current && r->number <= 12 && nlu_time_from_hour(r->number, time) &&
	    sscanf(current, "%d:%d", &h, &m) == 2) {
		int hour = atoi(time);
		if (abs(hour - h) <= 2)
			return "time";
	}
	return draft_has(draft, "party_size") ? "party_size" : NULL;
}

/* Reads the answer to the question the agent asked last when the message
 * is only that answer: "4" for the party size, "8" for the time, "Ann
 * Smith" for the name, "the 12" for the day. */
static void read_bare_answer(struct offline_turn *turn, json_t *draft, const char *asked)
{
	const struct nlu_result *r = &turn->nlu;
	char buf[NLU_NAME_SIZE];

	if (!asked || ((r->intents & NLU_INTENT_CHANGE) && strcmp(asked, "party_size") != 0 &&
		       strcmp(asked, "time") != 0))
		asked = correction_target(draft, r);
	if (!asked)
		return;
	if (strcmp(asked, "party_size") == 0 && r->number > 0 && !r->party_size) {
		set_party(turn->state, draft, r->number);
	} else if (strcmp(asked, "time") == 0 && r->number >= 0 && !r->time[0]) {
		char time[NLU_TIME_SIZE];
		if (nlu_time_from_hour(r->number, time))
			set_detail(turn->state, draft, "time", time);
	} else if (strcmp(asked, "date") == 0 && r->number >= 1 && r->number <= 31 && !r->date[0]) {
		struct nlu_result day;
		snprintf(buf, sizeof(buf), "on the %dth", r->number);
		nlu_read(buf, turn->ctx->now, &day);
		if (day.date[0])
			set_detail(turn->state, draft, "date", day.date);
	} else if (strcmp(asked, "name") == 0 && !r->name[0] &&
		   nlu_read_bare_name(turn->message, buf, sizeof(buf))) {
		set_detail(turn->state, draft, "name", buf);
	}
}

/* Copies the details the message gives into the draft, where a later value
 * replaces an earlier one ("no, make it 8pm"). Returns true when the
 * message gave any booking detail. */
static bool read_details(struct offline_turn *turn, json_t *draft)
{
	const struct nlu_result *r = &turn->nlu;
	bool any = false;

	if (r->party_size) {
		set_party(turn->state, draft, r->party_size);
		any = true;
	}
	if (r->date[0] && !r->date_past) {
		set_detail(turn->state, draft, "date", r->date);
		any = true;
	}
	if (r->time[0]) {
		set_detail(turn->state, draft, "time", r->time);
		any = true;
	}
	if (r->name[0]) {
		set_detail(turn->state, draft, "name", r->name);
		any = true;
	}
	if (r->phone[0]) {
		set_detail(turn->state, draft, "phone", r->phone);
		any = true;
	}
	if (r->code[0])
		json_object_set_new(turn->state, "code", json_string(r->code));
	return any;
}

static void choose_task(struct offline_turn *turn, bool details)
{
	unsigned intents = turn->nlu.intents;
	const char *task = NULL;

	if (intents & NLU_INTENT_CANCEL)
		task = "cancel";
	else if ((intents & NLU_INTENT_FIND) && !(intents & NLU_INTENT_BOOK))
		task = "find";
	else if ((intents & NLU_INTENT_BOOK) || turn->nlu.party_size || turn->nlu.date[0] ||
		 turn->nlu.time[0])
		task = "book";
	if (task)
		json_object_set_new(turn->state, "task", json_string(task));
	else if (!offline_state_str(turn->state, "task") && details)
		json_object_set_new(turn->state, "task", json_string("book"));
}

static void ask(struct offline_turn *turn, const char *detail)
{
	json_object_set_new(turn->state, "asked", json_string(detail));
}

/* Writes "a table for 2 on Friday 12 March at 8 pm" from what the draft has. */
static void say_draft(struct offline_turn *turn, const json_t *draft)
{
	char words[64];

	if (draft_party(draft) == 1)
		offline_say(turn, "a table for 1");
	else if (draft_party(draft) > 1)
		offline_say(turn, "a table for %d", draft_party(draft));
	else
		offline_say(turn, "a table");
	if (draft_has(draft, "date")) {
		nlu_format_date(draft_str(draft, "date"), turn->ctx->now, words, sizeof(words));
		offline_say(turn, " on %s", words);
	}
	if (draft_has(draft, "time")) {
		nlu_format_time(draft_str(draft, "time"), words, sizeof(words));
		offline_say(turn, " at %s", words);
	}
}

static void new_idempotency_key(json_t *state)
{
	unsigned char bytes[16];
	char hex[sizeof(bytes) * 2 + 1];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return;
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(hex + i * 2, 3, "%02x", bytes[i]);
	json_object_set_new(state, "booking_key", json_string(hex));
}

/* Tells the guest that the booking made earlier in this session still
 * exists beside the new one, so the guest knows of both. */
static void say_other_booking_kept(struct offline_turn *turn)
{
	const json_t *booked = json_object_get(turn->state, "booked");
	const char *code = json_string_value(json_object_get(booked, "code"));

	offline_say(turn, "Your earlier booking %s (", code ? code : "");
	offline_say_reservation(turn, booked);
	offline_say(turn, ") still stands as well; ask me to cancel it if you no longer need "
		    "it. ");
}

/* Creates the reservation from a complete, available draft. */
static int create_booking(struct offline_turn *turn, json_t *draft)
{
	int status;

	if (!offline_state_str(turn->state, "booking_key"))
		new_idempotency_key(turn->state);
	json_t *args = json_pack("{s:s,s:s,s:i,s:s,s:s}", "name", draft_str(draft, "name"),
				 "phone", draft_str(draft, "phone"), "party_size",
				 draft_party(draft), "date", draft_str(draft, "date"), "time",
				 draft_str(draft, "time"));
	const char *key = offline_state_str(turn->state, "booking_key");
	if (args && key)
		json_object_set_new(args, "idempotency_key", json_string(key));

	json_t *result = offline_call(turn, "create_reservation", args, &status);
	if (status == 200 || status == 201) {
		offline_say_booked(turn, result);
		if (json_is_object(json_object_get(turn->state, "booked")))
			say_other_booking_kept(turn);
		json_object_set(turn->state, "booked_code", json_object_get(result, "code"));
		json_object_set_new(turn->state, "booked", json_deep_copy(result));
		turn->out->reservation = result;
		json_object_del(draft, "party_size");
		json_object_del(draft, "date");
		json_object_del(draft, "time");
		json_object_del(turn->state, "task");
		json_object_del(turn->state, "asked");
		json_object_del(turn->state, "booking_key");
		forget_check(turn->state);
		return 0;
	}

	int rc = offline_handle_slot_error(turn, draft, result, status);
	json_decref(result);
	return rc;
}

void offline_say_pending_question(struct offline_turn *turn)
{
	static const struct {
		const char *detail;
		const char *question;
	} questions[] = {
		{ "party_size", "for how many people should I book?" },
		{ "date", "which day would you like to come?" },
		{ "time", "what time would you like?" },
		{ "name", "what name should I put the booking under?" },
		{ "phone", "what phone number should I note?" },
		{ "code", "what is your booking code?" },
		{ "confirm", "shall I go ahead (yes or no)?" },
	};
	const char *asked = offline_state_str(turn->state, "asked");

	if (!asked || !offline_state_str(turn->state, "task"))
		return;
	for (size_t k = 0; k < sizeof(questions) / sizeof(questions[0]); k++) {
		if (strcmp(asked, questions[k].detail) == 0) {
			offline_say(turn, " To go on with your booking: %s", questions[k].question);
			return;
		}
	}
}

/* Asks for the first missing detail, checks the table is free once party,
 * day and time are known, and books when everything is there. */
static int next_step(struct offline_turn *turn, json_t *draft)
{
	for (int k = 0; draft_order[k]; k++) {
		const char *detail = draft_order[k];

		if (strcmp(detail, "name") == 0 && !offline_state_str(turn->state, "checked")) {
			int rc = offline_check_slot(turn, draft);
			if (rc != 1)
				return rc;
		}
		if (draft_has(draft, detail))
			continue;

		ask(turn, detail);
		if (strcmp(detail, "party_size") == 0) {
			offline_say(turn, "For how many people should I book?");
		} else if (strcmp(detail, "date") == 0) {
			offline_say(turn, "Which day would you like to come?");
		} else if (strcmp(detail, "time") == 0) {
			return offline_ask_time(turn, draft);
		} else if (strcmp(detail, "name") == 0) {
			offline_say(turn, "What name should I put the booking under?");
		} else {
			offline_say(turn, "And a phone number, please, in case we need to reach you?");
		}
		return 0;
	}
	return create_booking(turn, draft);
}

/* Takes an offered time when the guest accepts it: "yes" takes the first,
 * "the second one" or "the later one" the second. */
static void accept_offer(struct offline_turn *turn, json_t *draft)
{
	json_t *offered = json_object_get(turn->state, "offered");
	size_t pick = 0;

	if (!json_is_array(offered) || json_array_size(offered) == 0 || turn->nlu.time[0])
		return;
	if (strstr(turn->message, "second") || strstr(turn->message, "later"))
		pick = 1;
	else if (turn->nlu.answer != NLU_ANSWER_YES && !strstr(turn->message, "first") &&
		 !strstr(turn->message, "earlier"))
		return;

	json_t *slot = json_array_get(offered, pick < json_array_size(offered) ? pick : 0);
	const char *date = json_string_value(json_object_get(slot, "date"));
	const char *time = json_string_value(json_object_get(slot, "time"));
	if (date && time) {
		json_object_set_new(draft, "date", json_string(date));
		json_object_set_new(draft, "time", json_string(time));
		json_object_set_new(turn->state, "checked", json_string("offered"));
	}
}

static int run_book(struct offline_turn *turn, json_t *draft, bool details)
{
	const struct nlu_result *r = &turn->nlu;

	accept_offer(turn, draft);
	if (r->intents & NLU_INTENT_ELSEWHERE)
		offline_say(turn, "I can only book tables at this restaurant. ");
	if (r->date_invalid && !r->date[0])
		offline_say(turn, "That date does not exist on the calendar. ");
	if (r->time_invalid && !r->time[0])
		offline_say(turn, "That time does not exist on the clock. ");
	if (r->date_past) {
		offline_say(turn, "That day has already passed. ");
		json_object_del(draft, "date");
	} else if (r->date_vague && !r->date[0]) {
		ask(turn, "date");
		offline_say(turn, "Which day exactly would you like to come?");
		return 0;
	}

	if (details && (draft_has(draft, "party_size") || draft_has(draft, "date") ||
			draft_has(draft, "time")) && (r->party_size || r->date[0] || r->time[0])) {
		offline_say(turn, "Noted: ");
		say_draft(turn, draft);
		offline_say(turn, ". ");
	} else if (!details && r->answer == NLU_ANSWER_NO) {
		offline_say(turn, "No problem. ");
	}
	return next_step(turn, draft);
}

/* Returns true when the message continues or starts a booking, finding or
 * cancelling. Returns false for thanks, goodbyes and questions about other
 * things once no booking is in progress. */
static bool wants_booking_help(const struct offline_turn *turn, bool details)
{
	return details || turn->nlu.date_invalid || turn->nlu.time_invalid || offline_state_str(turn->state, "task") ||
	       (turn->nlu.intents & (NLU_INTENT_BOOK | NLU_INTENT_FIND | NLU_INTENT_CANCEL));
}

/* Handles "no" to a pending yes/no question (cancel a booking, or cancel
 * and book again). Returns true when the turn is answered. */
static bool answer_declined(struct offline_turn *turn)
{
	const char *code = offline_state_str(turn->state, "confirm_cancel");
	bool rebook = json_is_true(json_object_get(turn->state, "confirm_rebook"));

	if ((!code && !rebook) || turn->nlu.answer != NLU_ANSWER_NO)
		return false;
	if (!code)
		code = offline_state_str(turn->state, "booked_code");
	offline_say(turn, "All right, booking %s stays as it is. Is there anything else I can "
		    "do for you?", code ? code : "");
	json_object_del(turn->state, "confirm_cancel");
	json_object_del(turn->state, "confirm_rebook");
	json_object_del(turn->state, "task");
	json_object_del(turn->state, "asked");
	return true;
}

/* Copies the party, day and time of the booking made in this session into
 * the draft, so a correction ("make it 5 people") changes only what the
 * guest named. */
static void draft_from_booked(json_t *draft, const json_t *booked)
{
	const char *starts_at = json_string_value(json_object_get(booked, "starts_at"));
	char date[NLU_DATE_SIZE], time[NLU_TIME_SIZE];

	json_object_set(draft, "party_size", json_object_get(booked, "party_size"));
	if (!starts_at || strlen(starts_at) < 16)
		return;
	snprintf(date, sizeof(date), "%.10s", starts_at);
	snprintf(time, sizeof(time), "%.5s", starts_at + 11);
	json_object_set_new(draft, "date", json_string(date));
	json_object_set_new(draft, "time", json_string(time));
}

/* Answers a change to the booking made in this session: the booking stays
 * unchanged until the guest agrees to cancel it and book again. */
static int offer_rebooking(struct offline_turn *turn, json_t *draft)
{
	const json_t *booked = json_object_get(turn->state, "booked");
	const char *code = json_string_value(json_object_get(booked, "code"));

	offline_say(turn, "Your booking %s (", code ? code : "");
	offline_say_reservation(turn, booked);
	offline_say(turn, ") is unchanged: I can't change a booking, but I can cancel it and "
		    "book ");
	say_draft(turn, draft);
	offline_say(turn, " instead. Shall I do that (yes or no)?");
	json_object_set_new(turn->state, "confirm_rebook", json_true());
	json_object_set_new(turn->state, "asked", json_string("confirm"));
	json_object_del(turn->state, "task");
	return 0;
}

/* Cancels the session's booking and books the corrected draft. */
static int rebook(struct offline_turn *turn, json_t *draft)
{
	const char *code = offline_state_str(turn->state, "booked_code");
	const char *phone = draft_str(draft, "phone");
	int status;

	json_object_del(turn->state, "confirm_rebook");
	json_object_del(turn->state, "asked");
	if (!code || !phone) {
		offline_say(turn, "Sorry, I no longer have the booking's code and phone number, so "
			    "I can't cancel it here. Please call the restaurant.");
		return 0;
	}
	json_t *args = json_pack("{s:s,s:s}", "code", code, "phone", phone);
	json_t *result = offline_call(turn, "cancel_reservation", args, &status);
	if (status != 200) {
		json_decref(result);
		offline_say(turn, "Sorry, I couldn't cancel booking %s, so it is unchanged. Please "
			    "try again in a moment or call the restaurant.", code);
		return status >= 500 ? -1 : 0;
	}
	json_decref(result);
	offline_say(turn, "Booking %s is cancelled. ", code);
	json_object_del(turn->state, "booked");
	json_object_del(turn->state, "booked_code");
	json_object_set_new(turn->state, "task", json_string("book"));
	forget_check(turn->state);
	return next_step(turn, draft);
}

/* Returns true when the message changes the booking already made in this
 * session rather than asking for another one. */
static bool changes_booked(const struct offline_turn *turn)
{
	const struct nlu_result *r = &turn->nlu;

	if (!json_is_object(json_object_get(turn->state, "booked")) ||
	    offline_state_str(turn->state, "task"))
		return false;
	if (!(r->party_size || r->date[0] || r->time[0] || r->number > 0))
		return false;
	if (r->intents & (NLU_INTENT_FIND | NLU_INTENT_CANCEL))
		return false;
	return (r->intents & NLU_INTENT_CHANGE) || !(r->intents & NLU_INTENT_BOOK);
}

/* Acknowledges "yes", "ok" or "great" after the booking is made. */
static bool acknowledge_booked(struct offline_turn *turn)
{
	const json_t *booked = json_object_get(turn->state, "booked");
	const char *code = json_string_value(json_object_get(booked, "code"));

	if (!code || offline_state_str(turn->state, "task") || turn->nlu.answer != NLU_ANSWER_YES ||
	    (turn->nlu.intents & ~(unsigned)(NLU_INTENT_THANKS | NLU_INTENT_GREETING)))
		return false;
	offline_say(turn, "You're all set: booking %s, ", code);
	offline_say_reservation(turn, booked);
	offline_say(turn, ". Is there anything else I can do for you?");
	return true;
}

int offline_booking_turn(struct offline_turn *turn)
{
	json_t *draft = draft_of(turn->state);
	const char *asked = offline_state_str(turn->state, "asked");

	if (answer_declined(turn))
		return 0;
	if (json_is_true(json_object_get(turn->state, "confirm_rebook"))) {
		if (turn->nlu.answer == NLU_ANSWER_YES && !turn->nlu.party_size &&
		    !turn->nlu.date[0] && !turn->nlu.time[0])
			return rebook(turn, draft);
		json_object_del(turn->state, "confirm_rebook");
		json_object_del(turn->state, "asked");
		asked = NULL;
	}
	if (acknowledge_booked(turn))
		return 0;

	bool rebooking = changes_booked(turn);
	if (rebooking) {
		draft_from_booked(draft, json_object_get(turn->state, "booked"));
		asked = NULL;
	}
	bool details = read_details(turn, draft);
	size_t before = json_object_size(draft);
	read_bare_answer(turn, draft, asked);
	details = details || json_object_size(draft) != before;
	if (rebooking)
		return offer_rebooking(turn, draft);
	if (!details && turn->nlu.number >= 0 && asked && strcmp(asked, "time") == 0)
		details = true;
	choose_task(turn, details);

	bool booking_words = turn->nlu.intents & (NLU_INTENT_BOOK | NLU_INTENT_FIND |
						  NLU_INTENT_CANCEL);
	if (!wants_booking_help(turn, details) ||
	    (!details && !booking_words && (turn->nlu.intents & NLU_INTENT_ELSEWHERE))) {
		offline_say_general(turn);
		offline_say_pending_question(turn);
		return 0;
	}

	const char *task = offline_state_str(turn->state, "task");
	if (task && strcmp(task, "cancel") == 0)
		return offline_run_lookup(turn, draft, true);
	if (task && strcmp(task, "find") == 0)
		return offline_run_lookup(turn, draft, false);
	return run_book(turn, draft, details);
}
