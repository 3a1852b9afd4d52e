#include <string.h>
#include <strings.h>

#include "workers/offline_turn.h"

/* Returns the code to act on: the one the guest gave in this conversation,
 * else the one of the reservation made in it. */
static const char *lookup_code(const struct offline_turn *turn)
{
	const char *code = offline_state_str(turn->state, "code");

	return code ? code : offline_state_str(turn->state, "booked_code");
}

static void say_result(struct offline_turn *turn, const json_t *reservation, bool cancel)
{
	const char *code = json_string_value(json_object_get(reservation, "code"));
	const char *status = json_string_value(json_object_get(reservation, "status"));

	if (cancel) {
		offline_say(turn, "Done: booking %s is cancelled (", code ? code : "");
		offline_say_reservation(turn, reservation);
		offline_say(turn, "). We hope to see you another time.");
		return;
	}
	offline_say(turn, "I found booking %s: ", code ? code : "");
	offline_say_reservation(turn, reservation);
	if (status && strcmp(status, "cancelled") == 0)
		offline_say(turn, ". It has been cancelled.");
	else
		offline_say(turn, ". Is there anything else I can do for you?");
}

static int say_error(struct offline_turn *turn, const json_t *result, int status, bool cancel)
{
	const char *code = json_string_value(json_object_get(json_object_get(result, "error"),
							     "code"));

	if (status == 404) {
		offline_say(turn, "I couldn't find a booking with code %s and that phone number. "
			    "Could you check the code and the phone number you booked with?",
			    lookup_code(turn));
		json_object_del(turn->state, "code");
		json_object_set_new(turn->state, "asked", json_string("code"));
		return 0;
	}
	if (status == 409 && code && strcmp(code, "already_cancelled") == 0) {
		offline_say(turn, "That booking was already cancelled, so there is nothing more "
			    "to do.");
		json_object_del(turn->state, "task");
		return 0;
	}
	if (status >= 400 && status < 500) {
		offline_say(turn, "Sorry, I couldn't %s that booking. Could you check the code "
			    "(9 letters and digits) and the phone number?", cancel ? "cancel" : "find");
		json_object_del(turn->state, "code");
		json_object_set_new(turn->state, "asked", json_string("code"));
		return 0;
	}
	offline_say(turn, "Sorry, I can't reach our booking system right now. Please try again "
		    "in a moment.");
	return -1;
}

/* Returns true when the message reports the code as lost ("I don't remember
 * the code", "I lost my code"). */
static bool code_lost(const char *message)
{
	static const char *const phrases[] = { "remember", "forgot", "forget", "lost",
					       "don't have", "do not have", "can't find",
					       "cannot find", "no code", NULL };

	for (int k = 0; phrases[k]; k++) {
		if (strcasestr(message, phrases[k]))
			return true;
	}
	return false;
}

/* Gives the restaurant's phone number, because only the staff can find a
 * booking without its code. */
static int say_call_for_lost_code(struct offline_turn *turn)
{
	int status;
	json_t *info = offline_call(turn, "restaurant_info", json_object(), &status);
	const char *phone = status == 200 ? json_string_value(json_object_get(info, "phone")) : NULL;

	offline_say(turn, "I need the booking code to find a booking here. Without it, our staff "
		    "can look it up by your name and phone number");
	if (phone)
		offline_say(turn, ": please call the restaurant on %s.", phone);
	else
		offline_say(turn, ", so please call or ask at the restaurant.");
	json_decref(info);
	json_object_del(turn->state, "task");
	json_object_del(turn->state, "asked");
	return 0;
}

int offline_run_lookup(struct offline_turn *turn, json_t *draft, bool cancel)
{
	const char *code = lookup_code(turn);
	const char *phone = json_string_value(json_object_get(draft, "phone"));
	int status;

	if (!code && code_lost(turn->message))
		return say_call_for_lost_code(turn);
	if (!code) {
		json_object_set_new(turn->state, "asked", json_string("code"));
		offline_say(turn, "Sure. What is your booking code? It has 9 letters and digits "
			    "and came with your confirmation.");
		return 0;
	}
	if (!phone) {
		json_object_set_new(turn->state, "asked", json_string("phone"));
		offline_say(turn, "And what phone number did you book with?");
		return 0;
	}

	/* A cancellation runs only after a "yes" to the booking found, so a
	 * mistyped code cannot cancel someone else's table unasked. */
	bool confirmed = cancel && turn->nlu.answer == NLU_ANSWER_YES &&
			 json_is_string(json_object_get(turn->state, "confirm_cancel"));
	json_object_del(turn->state, "confirm_cancel");

	json_t *args = json_pack("{s:s,s:s}", "code", code, "phone", phone);
	json_t *result = offline_call(turn, confirmed ? "cancel_reservation" : "find_reservation",
				      args, &status);
	if (status != 200) {
		int rc = say_error(turn, result, status, cancel);
		json_decref(result);
		return rc;
	}

	if (cancel && !confirmed) {
		const char *status_text = json_string_value(json_object_get(result, "status"));
		if (status_text && strcmp(status_text, "cancelled") == 0) {
			json_decref(result);
			offline_say(turn, "That booking was already cancelled, so there is nothing "
				    "more to do.");
			json_object_del(turn->state, "task");
			json_object_del(turn->state, "asked");
			return 0;
		}
		offline_say(turn, "Cancel ");
		offline_say_reservation(turn, result);
		offline_say(turn, " (booking %s)? Please answer yes or no.", code);
		json_object_set_new(turn->state, "confirm_cancel", json_string(code));
		json_object_set_new(turn->state, "asked", json_string("confirm"));
		turn->out->reservation = result;
		return 0;
	}

	say_result(turn, result, cancel);
	turn->out->reservation = result;
	json_object_del(turn->state, "task");
	json_object_del(turn->state, "asked");
	return 0;
}
