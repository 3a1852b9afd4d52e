#include <stdio.h>
#include <string.h>

#include "workers/offline_menu.h"

/*
 * NOTE: opening_hours' result shape is not fixed yet (workers/tools.h says
 * "weekly hours, exceptions, that day's hours"), so this reader accepts the
 * usual spellings: intervals as {"open","close"} objects (or opens/closes,
 * opens_at/closes_at, start/end) or "HH:MM-HH:MM" strings, weekly hours as
 * an array of objects with a day field or as an object keyed by day name.
 */

static const char *first_string(const json_t *object, const char *const *keys)
{
	for (int k = 0; keys[k]; k++) {
		const char *value = json_string_value(json_object_get(object, keys[k]));
		if (value)
			return value;
	}
	return NULL;
}

static const json_t *first_value(const json_t *object, const char *const *keys)
{
	for (int k = 0; keys[k]; k++) {
		const json_t *value = json_object_get(object, keys[k]);
		if (value)
			return value;
	}
	return NULL;
}

static const char *const open_keys[] = { "open", "opens", "opens_at", "start", "from", NULL };
static const char *const close_keys[] = { "close", "closes", "closes_at", "end", "to", NULL };
static const char *const interval_keys[] = { "hours", "intervals", "periods", "slots",
					     "services", NULL };
static const char *const day_keys[] = { "weekday", "day", "day_of_week", "dow", "name", NULL };

/* Writes one interval; returns true when it could read one. */
static bool say_interval(struct offline_turn *turn, const json_t *value, bool first)
{
	const char *open = first_string(value, open_keys);
	const char *close = first_string(value, close_keys);
	const char *text = json_string_value(value);

	if (open && close)
		offline_say(turn, "%s%s to %s", first ? "" : " and ", open, close);
	else if (text)
		offline_say(turn, "%s%s", first ? "" : " and ", text);
	else
		return false;
	return true;
}

/* Writes a day's intervals, or "closed". Returns true when it could read
 * them. */
static bool say_day_hours(struct offline_turn *turn, const json_t *day)
{
	const json_t *intervals = json_is_array(day) ? day : first_value(day, interval_keys);
	size_t index;
	json_t *value;
	bool any = false;

	if (json_is_true(json_object_get(day, "closed")) ||
	    (json_is_array(intervals) && json_array_size(intervals) == 0)) {
		offline_say(turn, "closed");
		return true;
	}
	if (json_is_object(day) && first_string(day, open_keys))
		return say_interval(turn, day, true);
	json_array_foreach(intervals, index, value)
		any = say_interval(turn, value, !any) || any;
	return any;
}

static bool say_weekly(struct offline_turn *turn, const json_t *weekly)
{
	size_t index;
	json_t *value;
	const char *key;
	bool any = false;

	if (json_is_array(weekly)) {
		json_array_foreach(weekly, index, value) {
			const json_t *day = first_value(value, day_keys);
			char name[16];
			if (json_is_string(day))
				snprintf(name, sizeof(name), "%s", json_string_value(day));
			else
				snprintf(name, sizeof(name), "day %d", (int)json_integer_value(day));
			offline_say(turn, "%s%s: ", any ? "; " : "", name);
			if (!say_day_hours(turn, value))
				offline_say(turn, "see the restaurant's page");
			any = true;
		}
	} else if (json_is_object(weekly)) {
		json_object_foreach((json_t *)weekly, key, value) {
			offline_say(turn, "%s%s: ", any ? "; " : "", key);
			if (!say_day_hours(turn, value))
				offline_say(turn, "see the restaurant's page");
			any = true;
		}
	}
	return any;
}

int offline_say_hours(struct offline_turn *turn)
{
	static const char *const date_day_keys[] = { "day", "on_date", "date_hours", "that_day",
						     "today", NULL };
	static const char *const weekly_keys[] = { "weekly", "week", "regular", "hours", NULL };
	const char *date = turn->nlu.date[0] ? turn->nlu.date : NULL;
	json_t *args = date ? json_pack("{s:s}", "date", date) : json_object();
	int status;
	json_t *result = offline_call(turn, "opening_hours", args, &status);

	if (status != 200) {
		json_decref(result);
		offline_say(turn, "Sorry, I can't read our opening hours right now. Please try "
			    "again in a moment.");
		return -1;
	}

	const json_t *day = date ? first_value(result, date_day_keys) : NULL;
	if (day) {
		char words[64];
		nlu_format_date(date, turn->ctx->now, words, sizeof(words));
		offline_say(turn, "On %s we are open: ", words);
		if (!say_day_hours(turn, day))
			offline_say(turn, "see below");
		offline_say(turn, ". ");
	}
	offline_say(turn, "Our opening hours: ");
	if (!say_weekly(turn, first_value(result, weekly_keys)))
		offline_say(turn, "I can't read them right now, sorry");
	offline_say(turn, ". Would you like to book a table?");
	json_decref(result);
	return 0;
}
