#include <stdio.h>

#include "workers/tool_handlers.h"
#include "workers/tool_parse.h"
#include "workers/tool_result.h"

/* $1 the application's clock (epoch seconds), $2 an optional local date. */
static const char hours_sql[] =
	"SELECT json_build_object("
	"  'timezone', r.timezone,"
	"  'today', l.today,"
	"  'weekly', weekly_hours_json(),"
	"  'exceptions', upcoming_exceptions_json(l.today))::text,"
	" CASE WHEN $2::date IS NULL THEN NULL ELSE day_hours_json($2::date)::text END"
	" FROM restaurant r"
	" CROSS JOIN LATERAL (SELECT (to_timestamp($1::double precision)"
	"                             AT TIME ZONE r.timezone)::date AS today) l";

json_t *tool_opening_hours(struct tool_ctx *ctx, json_t *args, int *status)
{
	const json_t *date = json_object_get(args, "date");
	char now[32], quoted[64];
	const char *params[2] = {now, NULL};
	PGresult *res;
	json_t *result = NULL, *day = NULL;

	if (json_is_string(date)) {
		params[1] = json_string_value(date);
		if (tool_parse_date(params[1]) < 0)
			return tool_error(status, 400, "invalid_request",
					  "date \"%s\" is not a date. Use YYYY-MM-DD, e.g. 2026-12-24",
					  tool_quote(params[1], quoted, sizeof(quoted)));
	}
	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);

	res = tool_query(ctx->pg, "opening_hours", hours_sql, 2, params);
	if (!res)
		return tool_db_error(status, "opening_hours");
	if (PQntuples(res) == 1)
		result = tool_json_cell(res, 0, 0, "opening_hours");
	if (result && params[1]) {
		day = tool_json_cell(res, 0, 1, "opening_hours");
		if (!day) {
			json_decref(result);
			result = NULL;
		} else {
			json_object_set_new(result, "date", day);
		}
	}
	PQclear(res);
	if (!result)
		return tool_db_error(status, "opening_hours");
	*status = 200;
	return result;
}

json_t *tool_restaurant_info(struct tool_ctx *ctx, json_t *args, int *status)
{
	char now[32];
	const char *params[1] = {now};
	PGresult *res;
	json_t *result = NULL;

	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	res = tool_query(ctx->pg, "restaurant_info",
			 "SELECT restaurant_json(to_timestamp($1::double precision))",
			 1, params);
	if (!res)
		return tool_db_error(status, "restaurant_info");
	if (PQntuples(res) == 1)
		result = tool_json_cell(res, 0, 0, "restaurant_info");
	PQclear(res);
	if (!result)
		return tool_db_error(status, "restaurant_info");
	*status = 200;
	return result;
}
