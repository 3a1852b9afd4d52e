#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/offline_turn.h"

#define OFFER_MAX 3        /* other times offered for a full one */
#define LIST_TIMES_MAX 8   /* free times listed when asking for the time */

struct slot {
	char date[NLU_DATE_SIZE];
	char time[NLU_TIME_SIZE];
};

/* Reads a slot from "2026-12-24T19:00:00+01:00" or from an object with
 * "starts_at" (and "available", which must not be false). */
static bool read_slot(const json_t *value, struct slot *slot)
{
	const char *text = json_string_value(value);

	if (json_is_object(value)) {
		if (json_is_false(json_object_get(value, "available")))
			return false;
		text = json_string_value(json_object_get(value, "starts_at"));
	}
	if (!text || strlen(text) < 16 || text[10] != 'T')
		return false;
	snprintf(slot->date, sizeof(slot->date), "%.10s", text);
	snprintf(slot->time, sizeof(slot->time), "%.5s", text + 11);
	return nlu_date_valid(slot->date);
}

static int minutes_of(const char *time)
{
	int h = 0, m = 0;

	if (sscanf(time, "%d:%d", &h, &m) != 2)
		return 0;
	return h * 60 + m;
}

static const char *draft_get(const json_t *draft, const char *key)
{
	return json_string_value(json_object_get(draft, key));
}

/* Collects up to max free slots from the array, nearest to time first
 * (time NULL keeps their order). */
static size_t collect_free(const json_t *slots, const char *time, struct slot *out, size_t max)
{
	size_t count = 0, index;
	json_t *value;
	struct slot all[128];

	json_array_foreach(slots, index, value) {
		if (count < sizeof(all) / sizeof(all[0]) && read_slot(value, &all[count]))
			count++;
	}
	if (time) {
		int target = minutes_of(time);
		for (size_t i = 1; i < count; i++) {
			for (size_t j = i; j > 0 && abs(minutes_of(all[j].time) - target) <
							abs(minutes_of(all[j - 1].time) - target); j--) {
				struct slot swap = all[j];
				all[j] = all[j - 1];
				all[j - 1] = swap;
			}
		}
	}
	if (count > max)
		count = max;
	memcpy(out, all, count * sizeof(out[0]));
	return count;
}

/* Offers the slots, stores them in "offered" and asks which one suits. */
static void offer(struct offline_turn *turn, const struct slot *slots, size_t count,
		  const char *draft_date)
{
	json_t *offered = json_array();
	char words[64];

	offline_say(turn, "I can offer ");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			offline_say(turn, i + 1 == count ? " or " : ", ");
		nlu_format_time(slots[i].time, words, sizeof(words));
		offline_say(turn, "%s", words);
		if (!draft_date || strcmp(slots[i].date, draft_date) != 0) {
			nlu_format_date(slots[i].date, turn->ctx->now, words, sizeof(words));
			offline_say(turn, " on %s", words);
		}
		json_array_append_new(offered, json_pack("{s:s,s:s}", "date", slots[i].date, "time",
							 slots[i].time));
	}
	offline_say(turn, ". Would %s suit you?", count == 1 ? "that" : "one of those");
	json_object_set_new(turn->state, "offered", offered);
	json_object_set_new(turn->state, "asked", json_string("time"));
}

static void say_unavailable(struct offline_turn *turn, const json_t *draft)
{
	char date[64], time[32];

	nlu_format_date(draft_get(draft, "date"), turn->ctx->now, date, sizeof(date));
	nlu_format_time(draft_get(draft, "time"), time, sizeof(time));
	offline_say(turn, "Sorry, we have no free table at %s on %s for %d. ", time, date,
		    (int)json_integer_value(json_object_get(draft, "party_size")));
}

static void say_fully_booked(struct offline_turn *turn, json_t *draft)
{
	char date[64];

	nlu_format_date(draft_get(draft, "date"), turn->ctx->now, date, sizeof(date));
	offline_say(turn, "Sorry, we have no free table on %s for %d. Would another day suit you?",
		    date, (int)json_integer_value(json_object_get(draft, "party_size")));
	json_object_del(draft, "date");
	json_object_del(draft, "time");
	json_object_set_new(turn->state, "asked", json_string("date"));
}

static json_t *availability(struct offline_turn *turn, const json_t *draft, bool with_time,
			    int *status)
{
	json_t *args = json_pack("{s:s,s:i}", "date", draft_get(draft, "date"), "party_size",
				 (int)json_integer_value(json_object_get(draft, "party_size")));

	if (args && with_time)
		json_object_set_new(args, "time", json_string(draft_get(draft, "time")));
	return offline_call(turn, "check_availability", args, status);
}

/* Looks for the draft's time among the slots: 1 free, 0 listed but taken
 * or not listed at all. */
static int time_is_free(const json_t *slots, const char *time)
{
	size_t index;
	json_t *value;
	struct slot slot;

	json_array_foreach(slots, index, value) {
		const char *starts_at = json_string_value(json_object_get(value, "starts_at"));
		if (starts_at && strlen(starts_at) >= 16 && strncmp(starts_at + 11, time, 5) == 0)
			return read_slot(value, &slot) ? 1 : 0;
	}
	return 0;
}

/* Offers the nearest free times of the draft's day, or says the day is
 * full. */
static void offer_nearest(struct offline_turn *turn, json_t *draft, const json_t *slots)
{
	struct slot nearest[OFFER_MAX];
	size_t count = collect_free(slots, draft_get(draft, "time"), nearest, OFFER_MAX);

	if (count == 0) {
		say_fully_booked(turn, draft);
		return;
	}
	say_unavailable(turn, draft);
	offer(turn, nearest, count, draft_get(draft, "date"));
}

int offline_check_slot(struct offline_turn *turn, json_t *draft)
{
	int status;
	json_t *result = availability(turn, draft, true, &status);

	if (status != 200) {
		int rc = offline_handle_slot_error(turn, draft, result, status);
		json_decref(result);
		return rc;
	}

	const json_t *slots = json_object_get(result, "slots");
	if (time_is_free(slots, draft_get(draft, "time"))) {
		json_object_set_new(turn->state, "checked", json_string("free"));
		json_decref(result);
		return 1;
	}

	/* Asked with a time, the tool may list only that slot: ask again for
	 * the whole day to find the nearest free ones. */
	json_decref(result);
	result = availability(turn, draft, false, &status);
	if (status != 200) {
		int rc = offline_handle_slot_error(turn, draft, result, status);
		json_decref(result);
		return rc;
	}
	offer_nearest(turn, draft, json_object_get(result, "slots"));
	json_decref(result);
	return 0;
}

int offline_ask_time(struct offline_turn *turn, json_t *draft)
{
	int status;
	json_t *result = availability(turn, draft, false, &status);
	struct slot free_slots[LIST_TIMES_MAX];
	char words[32];

	if (status != 200) {
		int rc = status >= 500 ? 0 : offline_handle_slot_error(turn, draft, result, status);
		json_decref(result);
		if (status >= 500)
			offline_say(turn, "What time would you like?");
		return rc;
	}

	size_t count = collect_free(json_object_get(result, "slots"), NULL, free_slots,
				    LIST_TIMES_MAX);
	json_decref(result);
	if (count == 0) {
		say_fully_booked(turn, draft);
		return 0;
	}
	offline_say(turn, "What time would you like? Free times include ");
	for (size_t i = 0; i < count; i++) {
		nlu_format_time(free_slots[i].time, words, sizeof(words));
		offline_say(turn, "%s%s", i == 0 ? "" : i + 1 == count ? " and " : ", ", words);
	}
	offline_say(turn, ".");
	return 0;
}

/* Names the detail a 400 error is about, from its code and message. */
static const char *error_detail(const char *code, const char *message)
{
	static const struct {
		const char *word;
		const char *detail;
	} words[] = {
		{ "party", "party_size" }, { "phone", "phone" }, { "name", "name" },
		{ "date", "date" }, { "day", "date" }, { "advance", "date" }, { "past", "date" },
		{ "closed", "date" }, { "notice", "time" }, { "time", "time" },
		{ "starts_at", "time" },
	};

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if ((code && strstr(code, words[k].word)) || (message && strstr(message, words[k].word)))
			return words[k].detail;
	}
	return "time";
}

static void say_refused(struct offline_turn *turn, json_t *draft, const char *code,
			const char *message)
{
	const char *detail = error_detail(code, message);

	if (strcmp(detail, "party_size") == 0)
		offline_say(turn, "Sorry, I can't book a table for that many people online");
	else if (strcmp(detail, "phone") == 0)
		offline_say(turn, "Sorry, that phone number doesn't look right");
	else if (strcmp(detail, "name") == 0)
		offline_say(turn, "Sorry, I couldn't use that name");
	else if (strcmp(detail, "date") == 0)
		offline_say(turn, "Sorry, I can't book that day");
	else
		offline_say(turn, "Sorry, I can't book that time");
	offline_say(turn, message ? " (%s). " : ". ", message);

	json_object_del(draft, detail);
	json_object_del(turn->state, "checked");
	json_object_set_new(turn->state, "asked", json_string(detail));
	if (strcmp(detail, "party_size") == 0)
		offline_say(turn, "For how many people should I book?");
	else if (strcmp(detail, "phone") == 0)
		offline_say(turn, "Could you give me the number again, with the country code?");
	else if (strcmp(detail, "name") == 0)
		offline_say(turn, "What name should I put the booking under?");
	else if (strcmp(detail, "date") == 0)
		offline_say(turn, "Which other day would suit you?");
	else
		offline_say(turn, "Which other time would suit you?");
}

int offline_handle_slot_error(struct offline_turn *turn, json_t *draft, const json_t *result,
			      int status)
{
	const json_t *error = json_object_get(result, "error");
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *message = json_string_value(json_object_get(error, "message"));
	const json_t *nearest = json_object_get(result, "nearest_slots");
	struct slot slots[OFFER_MAX];

	if (status >= 500 || status < 400) {
		offline_say(turn, "Sorry, I can't reach our booking system right now. Please try "
			    "again in a moment.");
		return -1;
	}
	if (!nearest)
		nearest = json_object_get(error, "nearest_slots");

	size_t count = json_is_array(nearest) ? collect_free(nearest, draft_get(draft, "time"),
							     slots, OFFER_MAX) : 0;
	if (count > 0) {
		say_unavailable(turn, draft);
		offer(turn, slots, count, draft_get(draft, "date"));
		return 0;
	}
	if (status == 409) {
		int again;
		json_t *day = availability(turn, draft, false, &again);
		if (again == 200)
			offer_nearest(turn, draft, json_object_get(day, "slots"));
		else
			say_fully_booked(turn, draft);
		json_decref(day);
		return 0;
	}
	say_refused(turn, draft, code, message);
	return 0;
}

void offline_say_reservation(struct offline_turn *turn, const json_t *reservation)
{
	struct slot slot;
	char date[64], time[32];
	json_t *starts_at = json_object_get(reservation, "starts_at");
	int party = (int)json_integer_value(json_object_get(reservation, "party_size"));
	const char *name = json_string_value(json_object_get(reservation, "name"));

	offline_say(turn, "a table for %d", party);
	if (read_slot(starts_at, &slot)) {
		nlu_format_date(slot.date, turn->ctx->now, date, sizeof(date));
		nlu_format_time(slot.time, time, sizeof(time));
		offline_say(turn, " on %s at %s", date, time);
	}
	if (name)
		offline_say(turn, " under the name %s", name);
}

void offline_say_booked(struct offline_turn *turn, const json_t *reservation)
{
	const char *code = json_string_value(json_object_get(reservation, "code"));

	offline_say(turn, "Your table is booked: ");
	offline_say_reservation(turn, reservation);
	offline_say(turn, ". ");
	if (code)
		offline_say(turn, "Your booking code is %s. Keep it, with your phone number, to "
			    "find or cancel the booking.", code);
}
