#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/offline_turn.h"

#define OFFER_MAX 3        /* other times offered for a full one */
#define RANGES_MAX 4       /* ranges of free times listed when asking for the time */
#define GAP_MINUTES 30     /* free slots at most this far apart form one range */
#define OPEN_DAY_SEARCH 7  /* days after a closed or full one searched for a table */

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

/* Writes the day after date plus days ("YYYY-MM-DD") into out. */
static bool add_days(const char *date, int days, char out[NLU_DATE_SIZE])
{
	struct tm day = { 0 };
	int y, m, d;

	if (!nlu_date_valid(date) || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return false;
	day.tm_year = y - 1900;
	day.tm_mon = m - 1;
	day.tm_mday = d + days;
	day.tm_hour = 12;
	day.tm_isdst = -1;
	if (mktime(&day) == (time_t)-1)
		return false;
	return strftime(out, NLU_DATE_SIZE, "%Y-%m-%d", &day) == NLU_DATE_SIZE - 1;
}

/* Offers the nearest later day within OPEN_DAY_SEARCH days that has a free
 * table, at the draft's time when free, else at the nearest free time.
 * Returns true when it offered one. */
static bool offer_next_open_day(struct offline_turn *turn, const json_t *draft)
{
	int party = (int)json_integer_value(json_object_get(draft, "party_size"));
	const char *time = draft_get(draft, "time");

	for (int days = 1; days <= OPEN_DAY_SEARCH; days++) {
		char date[NLU_DATE_SIZE];
		int status;
		struct slot slot;

		if (!add_days(draft_get(draft, "date"), days, date))
			return false;
		json_t *args = json_pack("{s:s,s:i}", "date", date, "party_size", party);
		json_t *result = offline_call(turn, "check_availability", args, &status);
		size_t count = status == 200 ? collect_free(json_object_get(result, "slots"), time,
							    &slot, 1) : 0;
		json_decref(result);
		if (status != 200)
			return false;
		if (count == 1) {
			offer(turn, &slot, 1, NULL);
			return true;
		}
	}
	return false;
}

/* Says the draft's day has no free table, or that the restaurant is closed
 * that day with the reason availability gives ("closed: Christmas Day"),
 * and offers the nearest open day or asks for another. */
static void say_fully_booked(struct offline_turn *turn, json_t *draft, const json_t *result)
{
	char date[64];
	const char *reason = json_string_value(json_object_get(result, "reason"));
	bool closed = json_is_true(json_object_get(result, "closed"));

	nlu_format_date(draft_get(draft, "date"), turn->ctx->now, date, sizeof(date));
	if (closed && reason && strncmp(reason, "closed: ", 8) == 0)
		offline_say(turn, "Sorry, we are closed on %s (%s). ", date, reason + 8);
	else if (closed)
		offline_say(turn, "Sorry, we are closed on %s. ", date);
	else
		offline_say(turn, "Sorry, we have no free table on %s for %d. ", date,
			    (int)json_integer_value(json_object_get(draft, "party_size")));
	if (!draft_get(draft, "time") || !offer_next_open_day(turn, draft)) {
		offline_say(turn, "Would another day suit you?");
		json_object_set_new(turn->state, "asked", json_string("date"));
	}
	json_object_del(draft, "date");
	json_object_del(draft, "time");
}

static void forget_time(struct offline_turn *turn)
{
	json_object_del(turn->state, "checked");
	json_object_set_new(turn->state, "asked", json_string("time"));
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
static void offer_nearest(struct offline_turn *turn, json_t *draft, const json_t *result)
{
	struct slot nearest[OFFER_MAX];
	size_t count = collect_free(json_object_get(result, "slots"), draft_get(draft, "time"),
				    nearest, OFFER_MAX);

	if (count == 0) {
		say_fully_booked(turn, draft, result);
		return;
	}
	say_unavailable(turn, draft);
	offer(turn, nearest, count, draft_get(draft, "date"));
}

/* Returns the restaurant_info result (the caller frees it), or NULL when
 * the tool failed. */
static json_t *restaurant_info(struct offline_turn *turn)
{
	int status;
	json_t *info = offline_call(turn, "restaurant_info", json_object(), &status);

	if (status != 200) {
		json_decref(info);
		return NULL;
	}
	return info;
}

static int rule_of(const json_t *info, const char *key)
{
	return (int)json_integer_value(json_object_get(json_object_get(info, "rules"), key));
}

/* Says that bookings start every slot_step_minutes, for a time between
 * two booking slots such as 19:07. */
static void say_slot_step(struct offline_turn *turn, const json_t *draft)
{
	json_t *info = restaurant_info(turn);
	int step = rule_of(info, "slot_step_minutes");
	char time[32];

	nlu_format_time(draft_get(draft, "time"), time, sizeof(time));
	if (step > 0)
		offline_say(turn, "Bookings start every %d minutes, so I can't book %s exactly. ",
			    step, time);
	else
		offline_say(turn, "Bookings start at set times, so I can't book %s exactly. ", time);
	json_decref(info);
}

/* Returns true when the draft is for today at a time that has passed. */
static bool time_passed(const struct offline_turn *turn, const json_t *draft)
{
	struct tm now;
	char today[NLU_DATE_SIZE], clock[NLU_TIME_SIZE];
	const char *date = draft_get(draft, "date"), *time = draft_get(draft, "time");

	localtime_r(&turn->ctx->now, &now);
	strftime(today, sizeof(today), "%Y-%m-%d", &now);
	strftime(clock, sizeof(clock), "%H:%M", &now);
	return date && time && strcmp(date, today) == 0 && strcmp(time, clock) <= 0;
}

int offline_check_slot(struct offline_turn *turn, json_t *draft)
{
	int status;

	if (time_passed(turn, draft)) {
		char time[32];
		nlu_format_time(draft_get(draft, "time"), time, sizeof(time));
		offline_say(turn, "Sorry, %s today has already passed. ", time);
		json_object_del(draft, "time");
		forget_time(turn);
		return offline_ask_time(turn, draft) < 0 ? -1 : 0;
	}

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

	const json_t *nearest = json_object_get(result, "nearest_available");
	struct slot slots_near[OFFER_MAX];
	size_t count = json_is_array(nearest) ? collect_free(nearest, draft_get(draft, "time"),
							     slots_near, OFFER_MAX) : 0;
	bool off_slot = json_is_string(json_object_get(json_object_get(result, "requested"),
						       "reason")) &&
			!json_is_true(json_object_get(result, "closed"));
	if (off_slot)
		say_slot_step(turn, draft);
	if (count > 0) {
		if (!off_slot)
			say_unavailable(turn, draft);
		offer(turn, slots_near, count, draft_get(draft, "date"));
		json_decref(result);
		return 0;
	}

	/* The tool may list only the requested slot: ask again for the whole
	 * day to find the nearest free ones. */
	json_decref(result);
	result = availability(turn, draft, false, &status);
	if (status != 200) {
		int rc = offline_handle_slot_error(turn, draft, result, status);
		json_decref(result);
		return rc;
	}
	offer_nearest(turn, draft, result);
	json_decref(result);
	return 0;
}

/* Writes the free slots as ranges ("10:30 am to 2 pm and 4:30 pm to 10
 * pm"): a range goes on while the next free slot is at most GAP_MINUTES
 * later. */
static void say_free_ranges(struct offline_turn *turn, const json_t *slots)
{
	struct slot all[128];
	size_t count = collect_free(slots, NULL, all, sizeof(all) / sizeof(all[0]));
	char from[32], to[32];
	size_t ranges = 0;

	for (size_t i = 0; i < count && ranges < RANGES_MAX; ranges++) {
		size_t j = i;
		while (j + 1 < count &&
		       minutes_of(all[j + 1].time) - minutes_of(all[j].time) <= GAP_MINUTES)
			j++;
		nlu_format_time(all[i].time, from, sizeof(from));
		nlu_format_time(all[j].time, to, sizeof(to));
		if (ranges > 0)
			offline_say(turn, j + 1 >= count ? " and " : ", ");
		if (i == j)
			offline_say(turn, "%s", from);
		else
			offline_say(turn, "%s to %s", from, to);
		i = j + 1;
	}
}

int offline_ask_time(struct offline_turn *turn, json_t *draft)
{
	int status;
	json_t *result = availability(turn, draft, false, &status);

	if (status >= 500) {
		json_decref(result);
		offline_say(turn, "What time would you like?");
		return 0;
	}
	if (status != 200) {
		int rc = offline_handle_slot_error(turn, draft, result, status);
		json_decref(result);
		return rc;
	}

	const json_t *slots = json_object_get(result, "slots");
	struct slot first;
	if (collect_free(slots, NULL, &first, 1) == 0) {
		say_fully_booked(turn, draft, result);
		json_decref(result);
		return 0;
	}
	offline_say(turn, "What time would you like? We have free tables at ");
	say_free_ranges(turn, slots);
	offline_say(turn, ".");
	json_decref(result);
	return 0;
}

/* Names the detail a 400 error is about, from its "reason" (party_size,
 * past, too_far_ahead, closed, outside_hours...), else its code and message. */
static const char *error_detail(const char *reason, const char *code, const char *message)
{
	static const struct {
		const char *reason;
		const char *detail;
	} reasons[] = {
		{ "party_size", "party_size" }, { "past", "date" }, { "too_far_ahead", "date" },
		{ "closed", "date" }, { "outside_hours", "time" }, { "notice", "time" },
	};

	for (size_t k = 0; reason && k < sizeof(reasons) / sizeof(reasons[0]); k++) {
		if (strcmp(reason, reasons[k].reason) == 0)
			return reasons[k].detail;
	}

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

/* Says why the booking rules refuse the draft, in words for a guest and
 * from restaurant_info's rules, never the tool's own message. */
static void say_rule(struct offline_turn *turn, const char *reason, const char *detail)
{
	json_t *info = restaurant_info(turn);
	const char *phone = json_string_value(json_object_get(info, "phone"));

	if (reason && strcmp(reason, "party_size") == 0 && rule_of(info, "max_party") > 0) {
		offline_say(turn, "Sorry, I can book tables for %d to %d people online. For a "
			    "larger group, please call the restaurant", rule_of(info, "min_party"),
			    rule_of(info, "max_party"));
		offline_say(turn, phone ? " on %s. " : ". ", phone);
	} else if (strcmp(detail, "party_size") == 0) {
		offline_say(turn, "Sorry, I can't book a table for that many people online. ");
	} else if (reason && strcmp(reason, "past") == 0) {
		offline_say(turn, "Sorry, that time has already passed. ");
	} else if (reason && strcmp(reason, "too_far_ahead") == 0) {
		offline_say(turn, "Sorry, we take bookings up to %d days ahead only. ",
			    rule_of(info, "max_days_ahead") > 0 ? rule_of(info, "max_days_ahead") : 90);
	} else if (reason && strcmp(reason, "closed") == 0) {
		offline_say(turn, "Sorry, we are closed that day. ");
	} else if (reason && strcmp(reason, "outside_hours") == 0) {
		offline_say(turn, "Sorry, that time is outside our booking hours. ");
	} else if (reason && strcmp(reason, "too_soon") == 0) {
		offline_say(turn, "Sorry, bookings need at least %d minutes' notice. ",
			    rule_of(info, "min_notice_minutes"));
	} else if (reason && strcmp(reason, "not_on_slot") == 0) {
		offline_say(turn, "Sorry, bookings start every %d minutes. ",
			    rule_of(info, "slot_step_minutes"));
	} else if (strcmp(detail, "phone") == 0) {
		offline_say(turn, "Sorry, that phone number doesn't look right. ");
	} else if (strcmp(detail, "name") == 0) {
		offline_say(turn, "Sorry, I couldn't use that name. ");
	} else if (strcmp(detail, "date") == 0) {
		offline_say(turn, "Sorry, I can't book that day. ");
	} else {
		offline_say(turn, "Sorry, I can't book that time. ");
	}
	json_decref(info);
}

static void say_refused(struct offline_turn *turn, json_t *draft, const json_t *error)
{
	const char *reason = json_string_value(json_object_get(error, "reason"));
	const char *code = json_string_value(json_object_get(error, "code"));
	const char *message = json_string_value(json_object_get(error, "message"));
	const char *detail = error_detail(reason, code, message);

	say_rule(turn, reason, detail);
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
	const char *reason = json_string_value(json_object_get(error, "reason"));
	if (count > 0) {
		if (reason)
			say_rule(turn, reason, "time");
		else
			say_unavailable(turn, draft);
		offer(turn, slots, count, draft_get(draft, "date"));
		return 0;
	}
	if (status == 409) {
		int again;
		json_t *day = availability(turn, draft, false, &again);
		if (again == 200)
			offer_nearest(turn, draft, day);
		else
			say_fully_booked(turn, draft, day);
		json_decref(day);
		return 0;
	}
	say_refused(turn, draft, error);
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
