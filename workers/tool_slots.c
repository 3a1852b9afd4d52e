#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/tool_result.h"
#include "workers/tool_slots.h"

static const char rules_sql[] =
	"SELECT r.timezone, r.phone, l.today::text,"
	"       (l.today + r.max_days_ahead)::text, r.min_party, r.max_party,"
	"       r.max_days_ahead, r.min_notice_minutes, r.slot_step_minutes,"
	"       r.last_seating_minutes_before_close"
	" FROM restaurant r"
	" CROSS JOIN LATERAL (SELECT (to_timestamp($1::double precision)"
	"                             AT TIME ZONE r.timezone)::date AS today) l";

/* $1 local date, $2 party size, $3 clock, $4 optional local time, the
 * target. Wall-clock times are local timestamps read as if they were UTC. */
static const char slots_sql[] =
	"SELECT iso_local(b.starts_at, r.timezone),"
	"       to_char(b.starts_at AT TIME ZONE r.timezone, 'HH24:MI'),"
	"       extract(epoch FROM b.starts_at AT TIME ZONE r.timezone)::bigint,"
	"       b.available,"
	"       extract(epoch FROM $1::date + $4::time)::bigint"
	" FROM restaurant r"
	" CROSS JOIN booking_day($1::date, $2::integer,"
	"                        to_timestamp($3::double precision)) b"
	" ORDER BY b.starts_at";

static void copy_cell(const PGresult *res, int row, int col, char *buf, size_t len)
{
	snprintf(buf, len, "%s", PQgetvalue(res, row, col));
}

int tool_rules_load(struct tool_ctx *ctx, struct tool_rules *rules)
{
	char now[32];
	const char *params[1] = {now};
	PGresult *res;

	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	res = tool_query(ctx->pg, "reading the booking rules", rules_sql, 1, params);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		log_error("tool_no_restaurant", "the restaurant table has %d rows, expected 1",
			  PQntuples(res));
		PQclear(res);
		return -1;
	}
	copy_cell(res, 0, 0, rules->timezone, sizeof(rules->timezone));
	copy_cell(res, 0, 1, rules->phone, sizeof(rules->phone));
	copy_cell(res, 0, 2, rules->today, sizeof(rules->today));
	copy_cell(res, 0, 3, rules->last_date, sizeof(rules->last_date));
	rules->min_party = atoi(PQgetvalue(res, 0, 4));
	rules->max_party = atoi(PQgetvalue(res, 0, 5));
	rules->max_days_ahead = atoi(PQgetvalue(res, 0, 6));
	rules->min_notice_minutes = atoi(PQgetvalue(res, 0, 7));
	rules->slot_step_minutes = atoi(PQgetvalue(res, 0, 8));
	rules->last_seating_minutes = atoi(PQgetvalue(res, 0, 9));
	PQclear(res);
	return 0;
}

json_t *tool_rules_error(int *status, const char *reason, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	json_t *result;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	result = tool_error(status, 400, "outside_booking_rules", "%s", message);
	tool_error_add(result, "reason", json_string(reason));
	tool_error_add(result, "nearest_slots", json_array());
	return result;
}

json_t *tool_rules_check_party(const struct tool_rules *rules, long long party, int *status)
{
	if (party < rules->min_party)
		return tool_rules_error(status, "party_size",
					"party_size %lld is below the minimum of %d", party,
					rules->min_party);
	if (party > rules->max_party)
		return tool_rules_error(status, "party_size",
					"party_size %lld is over the maximum of %d for a booking. "
					"For a larger group, call the restaurant on %s",
					party, rules->max_party, rules->phone);
	return NULL;
}

int tool_slots_load(struct tool_ctx *ctx, const char *date, int party,
		    const char *local_time, struct tool_slot_day *day)
{
	char now[32], party_text[16];
	const char *params[4] = {date, party_text, now, local_time};
	PGresult *res;
	int n;

	memset(day, 0, sizeof(*day));
	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	snprintf(party_text, sizeof(party_text), "%d", party);
	res = tool_query(ctx->pg, "reading the slots", slots_sql, 4, params);
	if (!res)
		return -1;

	n = PQntuples(res);
	day->slots = calloc((size_t)(n > 0 ? n : 1), sizeof(day->slots[0]));
	if (!day->slots) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct tool_slot *slot = &day->slots[i];

		copy_cell(res, i, 0, slot->starts_at, sizeof(slot->starts_at));
		copy_cell(res, i, 1, slot->time, sizeof(slot->time));
		slot->wall = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		slot->available = PQgetvalue(res, i, 3)[0] == 't';
	}
	day->count = n;
	if (n > 0 && !PQgetisnull(res, 0, 4)) {
		day->has_target = true;
		day->target = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	}
	PQclear(res);
	return 0;
}

void tool_slots_free(struct tool_slot_day *day)
{
	free(day->slots);
	day->slots = NULL;
	day->count = 0;
}

static long long distance(long long a, long long b)
{
	return a > b ? a - b : b - a;
}

json_t *tool_slots_nearest(const struct tool_slot_day *day, long long target, int max)
{
	json_t *nearest = json_array();
	bool *picked_already = calloc((size_t)(day->count > 0 ? day->count : 1), sizeof(bool));

	/* Picks the nearest remaining slot max times. Slots are in time order,
	 * so a strict comparison keeps the earlier one on a tie. */
	for (int picked = 0; picked_already && picked < max; picked++) {
		int best = -1;

		for (int i = 0; i < day->count; i++) {
			if (picked_already[i] || !day->slots[i].available)
				continue;
			if (best < 0 || distance(day->slots[i].wall, target) <
					distance(day->slots[best].wall, target))
				best = i;
		}
		if (best < 0)
			break;
		picked_already[best] = true;
		json_array_append_new(nearest, json_string(day->slots[best].starts_at));
	}
	free(picked_already);
	return nearest;
}
