#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "workers/offline_menu.h"

/*
 * Reads opening_hours' result: "weekly" is an array of {"weekday",
 * "closed", "intervals": [{"opens", "closes", "last_seating"}]}, "date" the
 * asked day in the same form, and "exceptions" the special days ahead
 * ({"date", "closed", "reason", "intervals"}).
 */

#define DAY_TEXT_SIZE 160
#define EXCEPTIONS_MAX 3

/* Writes a day's hours, such as "10:30 to 15:00 and 16:30 to 23:00", or
 * "closed", into buf. */
static void day_hours_text(const json_t *day, char *buf, size_t size)
{
	const json_t *intervals = json_object_get(day, "intervals");
	size_t index, used = 0;
	json_t *interval;

	buf[0] = '\0';
	if (json_is_true(json_object_get(day, "closed")) || json_array_size(intervals) == 0) {
		snprintf(buf, size, "closed");
		return;
	}
	json_array_foreach(intervals, index, interval) {
		const char *opens = json_string_value(json_object_get(interval, "opens"));
		const char *closes = json_string_value(json_object_get(interval, "closes"));
		if (!opens || !closes || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s to %s", index ? " and " : "",
					 opens, closes);
	}
}

static void say_capitalized(struct offline_turn *turn, const char *word)
{
	if (word && word[0])
		offline_say(turn, "%c%s", toupper((unsigned char)word[0]), word + 1);
}

/* Writes the week, joining neighbouring days with the same hours:
 * "Monday to Thursday: 10:30 to 15:00 and 16:30 to 23:00; ...". */
static bool say_weekly(struct offline_turn *turn, const json_t *weekly)
{
	size_t count = json_array_size(weekly);
	char hours[DAY_TEXT_SIZE], next[DAY_TEXT_SIZE];

	for (size_t i = 0; i < count;) {
		const json_t *day = json_array_get(weekly, i);
		size_t last = i;

		day_hours_text(day, hours, sizeof(hours));
		while (last + 1 < count) {
			day_hours_text(json_array_get(weekly, last + 1), next, sizeof(next));
			if (strcmp(hours, next) != 0)
				break;
			last++;
		}
		offline_say(turn, i ? "; " : "");
		say_capitalized(turn, json_string_value(json_object_get(day, "weekday")));
		if (last > i) {
			offline_say(turn, " to ");
			say_capitalized(turn, json_string_value(
						      json_object_get(json_array_get(weekly, last), "weekday")));
		}
		offline_say(turn, ": %s", hours);
		i = last + 1;
	}
	return count > 0;
}

static void say_exceptions(struct offline_turn *turn, const json_t *exceptions)
{
	size_t index;
	json_t *day;
	char date[64], hours[DAY_TEXT_SIZE];

	json_array_foreach(exceptions, index, day) {
		const char *reason = json_string_value(json_object_get(day, "reason"));
		if (index == EXCEPTIONS_MAX)
			break;
		nlu_format_date(json_string_value(json_object_get(day, "date")), turn->ctx->now, date,
				sizeof(date));
		day_hours_text(day, hours, sizeof(hours));
		offline_say(turn, "%s%s: %s", index ? "; " : " Special days: ", date, hours);
		if (reason && reason[0])
			offline_say(turn, " (%s)", reason);
	}
	if (json_array_size(exceptions) > 0)
		offline_say(turn, ".");
}

int offline_say_hours(struct offline_turn *turn)
{
	const char *date = turn->nlu.date[0] ? turn->nlu.date : NULL;
	json_t *args = date ? json_pack("{s:s}", "date", date) : json_object();
	int status;
	json_t *result = offline_call(turn, "opening_hours", args, &status);
	char words[64], hours[DAY_TEXT_SIZE];

	if (status != 200) {
		json_decref(result);
		offline_say(turn, "Sorry, I can't read our opening hours right now. Please try "
			    "again in a moment.");
		return -1;
	}

	const json_t *day = date ? json_object_get(result, "date") : NULL;
	if (json_is_object(day)) {
		const char *reason = json_string_value(json_object_get(day, "reason"));
		nlu_format_date(date, turn->ctx->now, words, sizeof(words));
		day_hours_text(day, hours, sizeof(hours));
		if (strcmp(hours, "closed") == 0)
			offline_say(turn, "We are closed on %s", words);
		else
			offline_say(turn, "On %s we are open %s", words, hours);
		offline_say(turn, reason && reason[0] ? " (%s). " : ". ", reason);
	} else {
		offline_say(turn, "Our opening hours: ");
		if (!say_weekly(turn, json_object_get(result, "weekly")))
			offline_say(turn, "not available right now, sorry");
		offline_say(turn, ".");
		say_exceptions(turn, json_object_get(result, "exceptions"));
		offline_say(turn, " ");
	}
	offline_say(turn, "Would you like to book a table?");
	json_decref(result);
	return 0;
}
