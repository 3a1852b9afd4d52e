#include <stdio.h>
#include <string.h>

#include "workers/tool_handlers.h"
#include "workers/tool_parse.h"
#include "workers/tool_result.h"
#include "workers/tool_slots.h"

#define NEAREST_MAX 3

/* Returns why date has no slots: its exception's reason, else its weekday. */
static json_t *closed_reason(struct tool_ctx *ctx, const char *date, int *status)
{
	const char *params[1] = {date};
	PGresult *res;
	json_t *reason;

	res = tool_query(ctx->pg, "check_availability",
			 "SELECT coalesce((SELECT 'closed: ' || nullif(e.reason, '')"
			 "                 FROM opening_exceptions e WHERE e.date = $1::date),"
			 "                'closed on ' || weekday_name(extract(isodow FROM"
			 "                                            $1::date)::integer))",
			 1, params);
	if (!res)
		return tool_db_error(status, "check_availability");
	reason = json_string(PQgetvalue(res, 0, 0));
	PQclear(res);
	return reason;
}

static json_t *slots_array(const struct tool_slot_day *day)
{
	json_t *slots = json_array();

	for (int i = 0; i < day->count; i++)
		json_array_append_new(slots, json_pack("{s:s,s:b}",
			"starts_at", day->slots[i].starts_at,
			"available", day->slots[i].available));
	return slots;
}

/* Adds "requested" (the slot at local_time, if there is one) and
 * "nearest_available" to result. */
static void add_requested(json_t *result, const struct tool_slot_day *day,
			  const char *local_time, const struct tool_rules *rules)
{
	json_t *requested = NULL;

	for (int i = 0; i < day->count && !requested; i++)
		if (strcmp(day->slots[i].time, local_time) == 0)
			requested = json_pack("{s:s,s:s,s:b}", "time", local_time,
					      "starts_at", day->slots[i].starts_at,
					      "available", day->slots[i].available);
	if (!requested) {
		char reason[160];

		snprintf(reason, sizeof(reason),
			 "%s is not a booking slot: slots start every %d minutes from "
			 "opening until %d minutes before closing",
			 local_time, rules->slot_step_minutes, rules->last_seating_minutes);
		requested = json_pack("{s:s,s:b,s:s}", "time", local_time, "available", 0,
				      "reason", reason);
	}
	json_object_set_new(result, "requested", requested);
	json_object_set_new(result, "nearest_available",
			    day->has_target ? tool_slots_nearest(day, day->target, NEAREST_MAX)
					    : json_array());
}

/* Returns NULL when date may be booked at all, else the 400 error. */
static json_t *check_date(const struct tool_rules *rules, const char *date, int *status)
{
	if (strcmp(date, rules->today) < 0)
		return tool_rules_error(status, "past",
					"date %s is in the past: today is %s in %s",
					date, rules->today, rules->timezone);
	if (strcmp(date, rules->last_date) > 0)
		return tool_rules_error(status, "too_far_ahead",
					"date %s is more than %d days ahead: bookings open up "
					"to %s", date, rules->max_days_ahead, rules->last_date);
	return NULL;
}

static json_t *build_result(struct tool_ctx *ctx, const char *date, int party,
			    const char *local_time, const struct tool_rules *rules,
			    int *status)
{
	struct tool_slot_day day;
	json_t *result;

	if (tool_slots_load(ctx, date, party, local_time, &day) < 0)
		return tool_db_error(status, "check_availability");
	result = json_pack("{s:s,s:i,s:s,s:o,s:b}", "date", date, "party_size", party,
			   "timezone", rules->timezone, "slots", slots_array(&day),
			   "closed", day.count == 0);
	if (day.count == 0) {
		json_t *reason = closed_reason(ctx, date, status);

		if (!json_is_string(reason)) {
			tool_slots_free(&day);
			json_decref(result);
			return reason;
		}
		json_object_set_new(result, "reason", reason);
	}
	if (local_time)
		add_requested(result, &day, local_time, rules);
	tool_slots_free(&day);
	*status = 200;
	return result;
}

json_t *tool_check_availability(struct tool_ctx *ctx, json_t *args, int *status)
{
	const char *date = json_string_value(json_object_get(args, "date"));
	const json_t *time_arg = json_object_get(args, "time");
	json_int_t party = json_integer_value(json_object_get(args, "party_size"));
	char local_time[8], quoted[64];
	struct tool_rules rules;
	json_t *error;

	if (tool_parse_date(date) < 0)
		return tool_error(status, 400, "invalid_request",
				  "date \"%s\" is not a date. Use YYYY-MM-DD, e.g. 2026-12-24",
				  tool_quote(date, quoted, sizeof(quoted)));
	if (json_is_string(time_arg) &&
	    tool_parse_time(json_string_value(time_arg), local_time, sizeof(local_time)) < 0)
		return tool_error(status, 400, "invalid_request",
				  "time \"%s\" is not a time. Use HH:MM in 24-hour form, "
				  "e.g. 19:30",
				  tool_quote(json_string_value(time_arg), quoted, sizeof(quoted)));

	if (tool_rules_load(ctx, &rules) < 0)
		return tool_db_error(status, "check_availability");
	error = tool_rules_check_party(&rules, party, status);
	if (!error)
		error = check_date(&rules, date, status);
	if (error)
		return error;
	return build_result(ctx, date, (int)party,
			    json_is_string(time_arg) ? local_time : NULL, &rules, status);
}
