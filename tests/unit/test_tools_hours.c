#include <stdio.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"
#include "workers/tools.h"

/* Tuesday 1 December 2026, 10:00 in Paris. */
#define HOURS_NOW "2026-12-01T09:00:00Z"

static const char *interval_field(const json_t *intervals, size_t index, const char *field)
{
	return json_string_value(json_object_get(json_array_get(intervals, index), field));
}

TEST(hours_weekly_and_midnight)
{
	static const char *const days[] = {"monday", "tuesday", "wednesday", "thursday",
					   "friday", "saturday", "sunday"};
	PGconn *pg = test_tools_pg();
	json_t *result, *weekly, *friday, *sunday;
	int status;

	if (!pg)
		return;
	result = test_tool(pg, test_instant(HOURS_NOW), "opening_hours", "{}", &status);
	CHECK_INT(status, 200);
	CHECK_STR(json_string_value(json_object_get(result, "timezone")), "Europe/Paris");
	CHECK_STR(json_string_value(json_object_get(result, "today")), "2026-12-01");
	CHECK(json_object_get(result, "date") == NULL);

	weekly = json_object_get(result, "weekly");
	CHECK_INT(json_array_size(weekly), 7);
	for (size_t i = 0; i < 7; i++)
		CHECK_STR(json_string_value(json_object_get(json_array_get(weekly, i), "weekday")),
			  days[i]);

	friday = json_object_get(json_array_get(weekly, 4), "intervals");
	CHECK_INT(json_array_size(friday), 2);
	CHECK_STR(interval_field(friday, 0, "opens"), "10:30");
	CHECK_STR(interval_field(friday, 0, "closes"), "15:00");
	CHECK_STR(interval_field(friday, 1, "opens"), "16:30");
	CHECK_STR(interval_field(friday, 1, "closes"), "01:00");
	CHECK_STR(interval_field(friday, 1, "last_seating"), "00:00");
	CHECK(json_is_true(json_object_get(json_array_get(friday, 1), "closes_next_day")));

	sunday = json_object_get(json_array_get(weekly, 6), "intervals");
	CHECK_STR(interval_field(sunday, 1, "closes"), "23:00");
	CHECK(json_object_get(json_array_get(sunday, 1), "closes_next_day") == NULL);
	json_decref(result);
}

TEST(hours_exceptions_listed)
{
	PGconn *pg = test_tools_pg();
	json_t *result, *exceptions, *christmas, *new_year;
	int status;

	if (!pg)
		return;
	result = test_tool(pg, test_instant(HOURS_NOW), "opening_hours", "{}", &status);
	exceptions = json_object_get(result, "exceptions");
	christmas = json_array_get(exceptions, 0);
	new_year = json_array_get(exceptions, 1);
	CHECK_STR(json_string_value(json_object_get(christmas, "date")), "2026-12-25");
	CHECK(json_is_true(json_object_get(christmas, "closed")));
	CHECK_STR(json_string_value(json_object_get(christmas, "reason")), "Christmas Day");
	CHECK_STR(json_string_value(json_object_get(new_year, "date")), "2026-12-31");
	CHECK_STR(interval_field(json_object_get(new_year, "intervals"), 0, "opens"), "18:00");
	CHECK_STR(interval_field(json_object_get(new_year, "intervals"), 0, "closes"), "02:00");
	json_decref(result);

	/* A year later the 2026 dates are past and drop out. */
	result = test_tool(pg, test_instant("2027-12-01T09:00:00Z"), "opening_hours", "{}",
			   &status);
	christmas = json_array_get(json_object_get(result, "exceptions"), 0);
	CHECK_STR(json_string_value(json_object_get(christmas, "date")), "2027-12-25");
	json_decref(result);
}

TEST(hours_for_one_date)
{
	static const struct {
		const char *date;
		const char *weekday;
		bool closed;
		size_t intervals;
		const char *last_closes;
	} cases[] = {
		{"2026-12-25", "friday", true, 0, NULL},
		{"2026-12-31", "thursday", false, 1, "02:00"},
		{"2026-12-26", "saturday", false, 2, "01:00"},
		{"2026-12-27", "sunday", false, 2, "23:00"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[64];
		int status;
		json_t *result, *day, *intervals;

		snprintf(args, sizeof(args), "{\"date\": \"%s\"}", cases[i].date);
		result = test_tool(pg, test_instant(HOURS_NOW), "opening_hours", args, &status);
		day = json_object_get(result, "date");
		intervals = json_object_get(day, "intervals");
		CHECK_INT(status, 200);
		CHECK_STR(json_string_value(json_object_get(day, "date")), cases[i].date);
		CHECK_STR(json_string_value(json_object_get(day, "weekday")), cases[i].weekday);
		CHECK_INT(json_is_true(json_object_get(day, "closed")), cases[i].closed);
		CHECK_INT(json_array_size(intervals), cases[i].intervals);
		if (cases[i].last_closes)
			CHECK_STR(interval_field(intervals, cases[i].intervals - 1, "closes"),
				  cases[i].last_closes);
		json_decref(result);
	}
}

TEST(hours_rejects_bad_date)
{
	PGconn *pg = test_tools_pg();
	json_t *result;
	int status;

	if (!pg)
		return;
	result = test_tool(pg, 0, "opening_hours", "{\"date\": \"2026-02-30\"}", &status);
	CHECK_INT(status, 400);
	CHECK(strstr(json_string_value(json_object_get(json_object_get(result, "error"),
						       "message")), "2026-02-30") != NULL);
	json_decref(result);
}

TEST(restaurant_info_rules)
{
	PGconn *pg = test_tools_pg();
	char zone[64], err[128];
	json_t *result, *rules;
	int status;

	if (!pg)
		return;
	result = test_tool(pg, test_instant("2026-12-01T23:30:00Z"), "restaurant_info", "{}",
			   &status);
	rules = json_object_get(result, "rules");
	CHECK_INT(status, 200);
	CHECK_STR(json_string_value(json_object_get(result, "timezone")), "Europe/Paris");
	CHECK_STR(json_string_value(json_object_get(result, "currency")), "EUR");
	CHECK_STR(json_string_value(json_object_get(result, "today")), "2026-12-02");
	CHECK_INT(json_integer_value(json_object_get(rules, "max_party")), 12);
	CHECK_INT(json_integer_value(json_object_get(rules, "seating_minutes")), 90);
	json_decref(result);

	CHECK_INT(restaurant_timezone(pg, zone, sizeof(zone), err, sizeof(err)), 0);
	CHECK_STR(zone, "Europe/Paris");
	CHECK_INT(restaurant_timezone(pg, zone, 4, err, sizeof(err)), -1);
	CHECK_INT(restaurant_timezone(NULL, zone, sizeof(zone), err, sizeof(err)), -1);
}
