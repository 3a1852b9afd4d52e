#include <stdio.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"

/* Tuesday 1 December 2026, 10:00 in Paris: bookable up to 1 March 2027. */
#define AVAIL_NOW "2026-12-01T09:00:00Z"

static const char *error_field(const json_t *result, const char *field)
{
	return json_string_value(json_object_get(json_object_get(result, "error"), field));
}

static int count_starts(const json_t *slots, const char *part)
{
	size_t i;
	json_t *slot;
	int n = 0;

	json_array_foreach(slots, i, slot)
		n += strstr(json_string_value(json_object_get(slot, "starts_at")), part) != NULL;
	return n;
}

static const json_t *find_slot(const json_t *slots, const char *starts_at)
{
	size_t i;
	json_t *slot;

	json_array_foreach(slots, i, slot)
		if (strcmp(json_string_value(json_object_get(slot, "starts_at")), starts_at) == 0)
			return slot;
	return NULL;
}

static const char *slot_starts(const json_t *slots, size_t index)
{
	return json_string_value(json_object_get(json_array_get(slots, index), "starts_at"));
}

static json_t *availability(PGconn *pg, const char *now, const char *args, int *status)
{
	return test_tool(pg, test_instant(now), "check_availability", args, status);
}

TEST(availability_dst_spring_gap)
{
	PGconn *pg = test_tools_pg();
	json_t *result, *slots;
	int status;

	if (!pg)
		return;
	test_add_clock_change_hours(pg);
	result = availability(pg, "2027-03-01T09:00:00Z",
			      "{\"date\": \"2027-03-28\", \"party_size\": 2}", &status);
	slots = json_object_get(result, "slots");
	CHECK_INT(status, 200);

	/* 02:00 to 02:59 do not exist: 01:00 to 01:45, then 03:00 to 04:00. */
	CHECK_INT(count_starts(slots, "T02:"), 0);
	CHECK_INT(json_array_size(slots), 9);
	CHECK_STR(slot_starts(slots, 3), "2027-03-28T01:45:00+01:00");
	CHECK_STR(slot_starts(slots, 4), "2027-03-28T03:00:00+02:00");
	CHECK(json_is_true(json_object_get(json_array_get(slots, 4), "available")));
	json_decref(result);
}

TEST(availability_dst_autumn_once)
{
	PGconn *pg = test_tools_pg();
	json_t *result, *slots;
	int status;

	if (!pg)
		return;
	test_add_clock_change_hours(pg);
	result = availability(pg, "2026-10-01T08:00:00Z",
			      "{\"date\": \"2026-10-25\", \"party_size\": 2}", &status);
	slots = json_object_get(result, "slots");
	CHECK_INT(status, 200);

	/* 02:00 to 02:59 happen twice. Each slot is offered once, in summer
	 * time (+02:00), the first occurrence. */
	CHECK_INT(count_starts(slots, "T02:30"), 1);
	CHECK_INT(count_starts(slots, "T02:30:00+02:00"), 1);
	CHECK_INT(count_starts(slots, "T02:30:00+01:00"), 0);
	CHECK_INT(json_array_size(slots), 13);
	CHECK_STR(slot_starts(slots, 7), "2026-10-25T02:45:00+02:00");
	CHECK_STR(slot_starts(slots, 8), "2026-10-25T03:00:00+01:00");
	json_decref(result);
}

TEST(availability_min_notice)
{
	PGconn *pg = test_tools_pg();
	json_t *result, *slots;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");

	/* 18:10 in Paris with 60 minutes' notice: 19:15 is the first free slot. */
	result = availability(pg, "2026-12-24T17:10:00Z",
			      "{\"date\": \"2026-12-24\", \"party_size\": 2}", &status);
	slots = json_object_get(result, "slots");
	CHECK_INT(status, 200);
	CHECK(json_is_false(json_object_get(find_slot(slots, "2026-12-24T10:30:00+01:00"),
					    "available")));
	CHECK(json_is_false(json_object_get(find_slot(slots, "2026-12-24T19:00:00+01:00"),
					    "available")));
	CHECK(json_is_true(json_object_get(find_slot(slots, "2026-12-24T19:15:00+01:00"),
					   "available")));
	json_decref(result);
}

TEST(availability_date_limits)
{
	static const struct {
		const char *date;
		int status;
		const char *reason;
	} cases[] = {
		{"2026-11-30", 400, "past"},
		{"2026-12-01", 200, NULL},
		{"2027-03-01", 200, NULL},
		{"2027-03-02", 400, "too_far_ahead"},
		{"2028-01-01", 400, "too_far_ahead"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[96];
		int status;
		json_t *result;

		snprintf(args, sizeof(args), "{\"date\": \"%s\", \"party_size\": 2}", cases[i].date);
		result = availability(pg, AVAIL_NOW, args, &status);
		if (status != cases[i].status)
			test_fail(__FILE__, __LINE__, "%s: status %d", cases[i].date, status);
		if (cases[i].reason) {
			CHECK_STR(error_field(result, "code"), "outside_booking_rules");
			CHECK_STR(error_field(result, "reason"), cases[i].reason);
			CHECK(strstr(error_field(result, "message"), cases[i].date) != NULL);
		}
		json_decref(result);
	}
}

TEST(availability_closed_day)
{
	PGconn *pg = test_tools_pg();
	json_t *result;
	int status;

	if (!pg)
		return;
	result = availability(pg, AVAIL_NOW, "{\"date\": \"2026-12-25\", \"party_size\": 2}",
			      &status);
	CHECK_INT(status, 200);
	CHECK(json_is_true(json_object_get(result, "closed")));
	CHECK_INT(json_array_size(json_object_get(result, "slots")), 0);
	CHECK(strstr(json_string_value(json_object_get(result, "reason")), "Christmas Day") != NULL);
	json_decref(result);
}

TEST(availability_slots_past_midnight)
{
	static const struct {
		const char *date;
		size_t count;
		const char *first;
		const char *last;
	} cases[] = {
		/* Saturday: 10:30-15:00 and 16:30-01:00. */
		{"2026-12-26", 46, "2026-12-26T10:30:00+01:00", "2026-12-27T00:00:00+01:00"},
		/* Sunday: Saturday's late slots belong to Saturday. */
		{"2026-12-27", 38, "2026-12-27T10:30:00+01:00", "2026-12-27T22:00:00+01:00"},
		/* New Year's Eve: 18:00 to 02:00 only. */
		{"2026-12-31", 29, "2026-12-31T18:00:00+01:00", "2027-01-01T01:00:00+01:00"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[96];
		int status;
		json_t *result, *slots;

		snprintf(args, sizeof(args), "{\"date\": \"%s\", \"party_size\": 4}", cases[i].date);
		result = availability(pg, AVAIL_NOW, args, &status);
		slots = json_object_get(result, "slots");
		CHECK_INT(status, 200);
		CHECK(json_is_false(json_object_get(result, "closed")));
		CHECK_STR(json_string_value(json_object_get(result, "timezone")), "Europe/Paris");
		CHECK_INT(json_array_size(slots), cases[i].count);
		CHECK_STR(slot_starts(slots, 0), cases[i].first);
		CHECK_STR(slot_starts(slots, json_array_size(slots) - 1), cases[i].last);
		json_decref(result);
	}
}

TEST(availability_requested_time)
{
	PGconn *pg = test_tools_pg();
	json_t *result, *requested, *nearest;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	result = availability(pg, AVAIL_NOW,
			      "{\"date\": \"2026-12-24\", \"party_size\": 2, \"time\": \"19:10\"}",
			      &status);
	requested = json_object_get(result, "requested");
	nearest = json_object_get(result, "nearest_available");
	CHECK_INT(status, 200);
	CHECK(json_is_false(json_object_get(requested, "available")));
	CHECK(strstr(json_string_value(json_object_get(requested, "reason")), "every 15 minutes"));
	CHECK_INT(json_array_size(nearest), 3);
	CHECK_STR(json_string_value(json_array_get(nearest, 0)), "2026-12-24T19:15:00+01:00");
	CHECK_STR(json_string_value(json_array_get(nearest, 1)), "2026-12-24T19:00:00+01:00");
	CHECK_STR(json_string_value(json_array_get(nearest, 2)), "2026-12-24T19:30:00+01:00");
	json_decref(result);

	result = availability(pg, AVAIL_NOW,
			      "{\"date\": \"2026-12-24\", \"party_size\": 2, \"time\": \"9:00\"}",
			      &status);
	requested = json_object_get(result, "requested");
	CHECK_INT(status, 200);
	CHECK_STR(json_string_value(json_object_get(requested, "time")), "09:00");
	CHECK_STR(json_string_value(json_array_get(json_object_get(result, "nearest_available"), 0)),
		  "2026-12-24T10:30:00+01:00");
	json_decref(result);

	result = availability(pg, AVAIL_NOW,
			      "{\"date\": \"2026-12-24\", \"party_size\": 2, \"time\": \"19:00\"}",
			      &status);
	requested = json_object_get(result, "requested");
	CHECK(json_is_true(json_object_get(requested, "available")));
	CHECK_STR(json_string_value(json_object_get(requested, "starts_at")),
		  "2026-12-24T19:00:00+01:00");
	json_decref(result);
}

TEST(availability_rejects_input)
{
	static const struct {
		const char *args;
		const char *code;
		const char *message_part;
	} cases[] = {
		{"{\"date\": \"2026-12-24\", \"party_size\": 13}", "outside_booking_rules",
		 "maximum of 12"},
		{"{\"date\": \"24/12/2026\", \"party_size\": 2}", "invalid_request", "YYYY-MM-DD"},
		{"{\"date\": \"2026-12-24\", \"party_size\": 2, \"time\": \"7pm\"}",
		 "invalid_request", "HH:MM"},
		{"{\"date\": \"2026-12-24\", \"party_size\": 99999999999}", "outside_booking_rules",
		 "99999999999"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		json_t *result = availability(pg, AVAIL_NOW, cases[i].args, &status);
		const char *message = error_field(result, "message");

		CHECK_INT(status, 400);
		CHECK_STR(error_field(result, "code"), cases[i].code);
		if (!message || !strstr(message, cases[i].message_part))
			test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", i,
				  message ? message : "(none)", cases[i].message_part);
		json_decref(result);
	}
}

TEST(availability_follows_bookings)
{
	static const struct {
		const char *starts_at;
		int party;
		bool available;
	} cases[] = {
		{"2026-12-23T19:00:00+01:00", 7, false},
		{"2026-12-23T18:30:00+01:00", 7, false},  /* its seating overlaps 19:00 */
		{"2026-12-23T17:30:00+01:00", 7, true},   /* ends at 19:00 */
		{"2026-12-23T20:30:00+01:00", 7, true},
		{"2026-12-23T19:00:00+01:00", 6, true},   /* the 6-seat tables are free */
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	test_db_exec(pg,
		"INSERT INTO reservations (code, table_id, name, phone, party_size, starts_at,"
		" ends_at, created_at, request_hash)"
		" SELECT 'TESTTAB' || CASE t.label WHEN 'T11' THEN 'AA' ELSE 'BB' END, t.id, 'Test',"
		"        '+33612345678', 8, '2026-12-23 19:00+01', '2026-12-23 20:30+01',"
		"        '2026-12-01 10:00+01', ''"
		" FROM dining_tables t WHERE t.seats = 8");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[96];
		int status;
		json_t *result;
		const json_t *slot;

		snprintf(args, sizeof(args), "{\"date\": \"2026-12-23\", \"party_size\": %d}",
			 cases[i].party);
		result = availability(pg, AVAIL_NOW, args, &status);
		slot = find_slot(json_object_get(result, "slots"), cases[i].starts_at);
		CHECK(slot != NULL);
		if (json_is_true(json_object_get(slot, "available")) != cases[i].available)
			test_fail(__FILE__, __LINE__, "%s for %d: available is not %d",
				  cases[i].starts_at, cases[i].party, cases[i].available);
		json_decref(result);
	}
	test_db_exec(pg, "DELETE FROM reservations");
}
