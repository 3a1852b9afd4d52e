#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"
#include "workers/tool_parse.h"

/* Tuesday 1 December 2026, 10:00 in Paris: bookable up to 1 March 2027. */
#define BOOK_NOW "2026-12-01T09:00:00Z"

#define RACE_THREADS 20
#define SAME_KEY_THREADS 10

static const char *field(const json_t *object, const char *key)
{
	return json_string_value(json_object_get(object, key));
}

static const char *error_field(const json_t *result, const char *key)
{
	return field(json_object_get(result, "error"), key);
}

static json_t *book(PGconn *pg, const char *args, int *status)
{
	return test_tool(pg, test_instant(BOOK_NOW), "create_reservation", args, status);
}

/* Returns the seats of the table that the reservation with code occupies. */
static long long table_seats(PGconn *pg, const char *code)
{
	char sql[160];

	snprintf(sql, sizeof(sql),
		 "SELECT t.seats FROM reservations r JOIN dining_tables t ON t.id = r.table_id"
		 " WHERE r.code = '%.9s'", code);
	return test_db_integer(pg, sql);
}

TEST(booking_create_find_cancel)
{
	PGconn *pg = test_tools_pg();
	char args[160], lower[TOOL_CODE_LEN + 1];
	const char *code;
	json_t *created, *found, *cancelled, *again;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	created = book(pg, "{\"name\": \" Ann Smith \", \"phone\": \"06 12 34 56 78\","
		       " \"party_size\": 4, \"starts_at\": \"2026-12-24T19:00:00+01:00\","
		       " \"notes\": \"window seat\"}", &status);
	code = field(created, "code");
	CHECK_INT(status, 201);
	CHECK(code != NULL);
	CHECK_INT(strlen(code ? code : ""), TOOL_CODE_LEN);
	CHECK_INT(strspn(code ? code : "", TOOL_CODE_ALPHABET), TOOL_CODE_LEN);
	CHECK_STR(field(created, "name"), "Ann Smith");
	CHECK_INT(json_integer_value(json_object_get(created, "party_size")), 4);
	CHECK_STR(field(created, "starts_at"), "2026-12-24T19:00:00+01:00");
	CHECK_STR(field(created, "ends_at"), "2026-12-24T20:30:00+01:00");
	CHECK_STR(field(created, "status"), "confirmed");
	CHECK_STR(field(created, "notes"), "window seat");
	CHECK_STR(field(created, "created_at"), "2026-12-01T10:00:00+01:00");
	CHECK_STR(field(created, "phone_last4"), "5678");
	CHECK(json_object_get(created, "phone") == NULL);
	CHECK(json_object_get(created, "idempotent_replay") == NULL);
	if (!code) {
		json_decref(created);
		return;
	}

	/* The guest may type the code in lower case with dashes. */
	for (int i = 0; i <= TOOL_CODE_LEN; i++)
		lower[i] = (char)tolower((unsigned char)code[i]);
	snprintf(args, sizeof(args), "{\"code\": \"%.3s-%.3s-%.3s\", \"phone\": \"+33612345678\"}",
		 lower, lower + 3, lower + 6);
	found = test_tool(pg, test_instant(BOOK_NOW), "find_reservation", args, &status);
	CHECK_INT(status, 200);
	CHECK_STR(field(found, "code"), code);
	json_decref(found);

	snprintf(args, sizeof(args), "{\"code\": \"%s\", \"phone\": \"06.12.34.56.78\"}", code);
	cancelled = test_tool(pg, test_instant(BOOK_NOW), "cancel_reservation", args, &status);
	CHECK_INT(status, 200);
	CHECK_STR(field(cancelled, "status"), "cancelled");
	CHECK_STR(field(cancelled, "cancelled_at"), "2026-12-01T10:00:00+01:00");
	json_decref(cancelled);

	again = test_tool(pg, test_instant(BOOK_NOW), "cancel_reservation", args, &status);
	CHECK_INT(status, 409);
	CHECK_STR(error_field(again, "code"), "already_cancelled");
	json_decref(again);

	found = test_tool(pg, test_instant(BOOK_NOW), "find_reservation", args, &status);
	CHECK_INT(status, 200);
	CHECK_STR(field(found, "status"), "cancelled");
	json_decref(found);
	json_decref(created);
}

TEST(booking_wrong_phone_is_not_found)
{
	PGconn *pg = test_tools_pg();
	char args[3][128];
	json_t *created;
	int status;

	if (!pg)
		return;
	created = book(pg, "{\"name\": \"Bo\", \"phone\": \"+44 20 7946 0958\", \"party_size\": 2,"
		       " \"date\": \"2026-12-22\", \"time\": \"12:00\"}", &status);
	CHECK_INT(status, 201);
	snprintf(args[0], sizeof(args[0]), "{\"code\": \"%s\", \"phone\": \"+44 20 7946 0959\"}",
		 field(created, "code"));
	snprintf(args[1], sizeof(args[1]), "{\"code\": \"ZZZZZZZZZ\", \"phone\": \"+442079460958\"}");
	snprintf(args[2], sizeof(args[2]), "{\"code\": \"not a code\", \"phone\": \"+442079460958\"}");

	for (int i = 0; i < 3; i++) {
		static const char *const tools[] = {"find_reservation", "cancel_reservation"};

		for (int t = 0; t < 2; t++) {
			json_t *result = test_tool(pg, test_instant(BOOK_NOW), tools[t], args[i],
						   &status);

			CHECK_INT(status, 404);
			CHECK_STR(error_field(result, "code"), "not_found");
			CHECK_STR(error_field(result, "message"),
				  "no reservation with that code and phone");
			json_decref(result);
		}
	}

	/* The reservation is still confirmed after the failed cancels. */
	CHECK_INT(test_db_integer(pg, "SELECT count(*) FROM reservations"
			       " WHERE phone = '+442079460958' AND status = 'confirmed'"), 1);
	json_decref(created);
}

TEST(booking_smallest_table_first)
{
	static const struct {
		int party;
		int seats;
	} cases[] = {
		{1, 2}, {2, 2}, {3, 4}, {4, 4}, {5, 6}, {7, 8}, {8, 8},
		/* The four 2-seat tables are now taken at this time. */
		{2, 2}, {2, 2}, {2, 4},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[192];
		int status;
		json_t *created;

		snprintf(args, sizeof(args),
			 "{\"name\": \"Guest %zu\", \"phone\": \"+33612345678\", \"party_size\": %d,"
			 " \"starts_at\": \"2026-12-21T20:00:00+01:00\"}", i, cases[i].party);
		created = book(pg, args, &status);
		CHECK_INT(status, 201);
		if (status == 201 && table_seats(pg, field(created, "code")) != cases[i].seats)
			test_fail(__FILE__, __LINE__, "case %zu: party %d got %lld seats, expected %d",
				  i, cases[i].party, table_seats(pg, field(created, "code")),
				  cases[i].seats);
		json_decref(created);
	}
}

TEST(booking_slot_full)
{
	PGconn *pg = test_tools_pg();
	const char *args = "{\"name\": \"Big party\", \"phone\": \"+33612345678\","
			   " \"party_size\": 8, \"date\": \"2026-12-21\", \"time\": \"13:00\"}";
	json_t *result, *nearest;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	for (int i = 0; i < 2; i++) {
		result = book(pg, args, &status);
		CHECK_INT(status, 201);
		json_decref(result);
	}
	result = book(pg, args, &status);
	nearest = json_object_get(json_object_get(result, "error"), "nearest_slots");
	CHECK_INT(status, 409);
	CHECK_STR(error_field(result, "code"), "slot_full");
	CHECK(strstr(error_field(result, "message"), "13:00 on 2026-12-21") != NULL);
	CHECK_INT(json_array_size(nearest), 3);

	/* The two tables are held until 14:30, so the nearest free starts are
	 * 11:30 (ending at 13:00) and then 11:15, 11:00. */
	CHECK_STR(json_string_value(json_array_get(nearest, 0)), "2026-12-21T11:30:00+01:00");
	CHECK_STR(json_string_value(json_array_get(nearest, 1)), "2026-12-21T11:15:00+01:00");
	json_decref(result);
}

TEST(booking_idempotent_replay)
{
	PGconn *pg = test_tools_pg();
	const char *args = "{\"name\": \"Cy\", \"phone\": \"+33 6 11 22 33 44\", \"party_size\": 2,"
			   " \"starts_at\": \"2026-12-22T19:30:00+01:00\","
			   " \"idempotency_key\": \"turn-42:create\"}";
	const char *same_normalised = "{\"name\": \"Cy \", \"phone\": \"06 11 22 33 44\","
				      " \"party_size\": 2, \"date\": \"2026-12-22\","
				      " \"time\": \"19:30\", \"idempotency_key\": \"turn-42:create\"}";
	json_t *first, *replay, *again, *reused;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	first = book(pg, args, &status);
	CHECK_INT(status, 201);
	replay = book(pg, args, &status);
	CHECK_INT(status, 201);
	CHECK_STR(field(replay, "code"), field(first, "code"));
	CHECK(json_is_true(json_object_get(replay, "idempotent_replay")));
	again = book(pg, same_normalised, &status);
	CHECK_INT(status, 201);
	CHECK_STR(field(again, "code"), field(first, "code"));

	/* A replay returns the first booking even once it is too soon to book. */
	json_decref(again);
	again = test_tool(pg, test_instant("2026-12-22T18:00:00Z"), "create_reservation", args,
			  &status);
	CHECK_INT(status, 201);
	CHECK_STR(field(again, "code"), field(first, "code"));

	reused = book(pg, "{\"name\": \"Cy\", \"phone\": \"+33 6 11 22 33 44\", \"party_size\": 3,"
		      " \"starts_at\": \"2026-12-22T19:30:00+01:00\","
		      " \"idempotency_key\": \"turn-42:create\"}", &status);
	CHECK_INT(status, 409);
	CHECK_STR(error_field(reused, "code"), "idempotency_key_reused");
	CHECK_INT(test_db_integer(pg, "SELECT count(*) FROM reservations"), 1);
	json_decref(first);
	json_decref(replay);
	json_decref(again);
	json_decref(reused);
}

TEST(booking_outside_rules)
{
	static const struct {
		const char *now;
		const char *start;      /* the start arguments, as JSON members */
		int party;
		const char *reason;
		size_t nearest;         /* how many nearest_slots */
		const char *first_nearest;
	} cases[] = {
		{BOOK_NOW, "\"date\": \"2026-12-24\", \"time\": \"19:10\"", 2, "not_on_slot", 3,
		 "2026-12-24T19:15:00+01:00"},
		{BOOK_NOW, "\"date\": \"2026-12-24\", \"time\": \"15:30\"", 2, "outside_hours", 3,
		 "2026-12-24T16:30:00+01:00"},
		{BOOK_NOW, "\"date\": \"2026-12-24\", \"time\": \"22:30\"", 2, "outside_hours", 3,
		 "2026-12-24T22:00:00+01:00"},
		{BOOK_NOW, "\"date\": \"2026-12-25\", \"time\": \"19:00\"", 2, "closed", 0, NULL},
		{BOOK_NOW, "\"starts_at\": \"2026-11-30T19:00:00+01:00\"", 2, "past", 0, NULL},
		{BOOK_NOW, "\"date\": \"2027-03-02\", \"time\": \"19:00\"", 2, "too_far_ahead", 0,
		 NULL},
		{BOOK_NOW, "\"date\": \"2026-12-24\", \"time\": \"19:00\"", 13, "party_size", 0, NULL},
		{"2026-12-24T17:30:00Z", "\"date\": \"2026-12-24\", \"time\": \"19:00\"", 2,
		 "too_soon", 3, "2026-12-24T19:30:00+01:00"},
		{"2027-03-01T09:00:00Z", "\"date\": \"2027-03-28\", \"time\": \"02:30\"", 2,
		 "nonexistent_time", 3, "2027-03-28T03:00:00+02:00"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	test_add_clock_change_hours(pg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[256];
		int status;
		json_t *result, *nearest;

		snprintf(args, sizeof(args), "{\"name\": \"Di\", \"phone\": \"+33612345678\","
			 " \"party_size\": %d, %s}", cases[i].party, cases[i].start);
		result = test_tool(pg, test_instant(cases[i].now), "create_reservation", args,
				   &status);
		nearest = json_object_get(json_object_get(result, "error"), "nearest_slots");
		if (status != 400)
			test_fail(__FILE__, __LINE__, "case %zu: status %d", i, status);
		CHECK_STR(error_field(result, "code"), "outside_booking_rules");
		CHECK_STR(error_field(result, "reason"), cases[i].reason);
		CHECK(json_is_array(nearest));
		if (json_array_size(nearest) != cases[i].nearest)
			test_fail(__FILE__, __LINE__, "case %zu: %zu nearest slots", i,
				  json_array_size(nearest));
		if (cases[i].first_nearest)
			CHECK_STR(json_string_value(json_array_get(nearest, 0)),
				  cases[i].first_nearest);
		json_decref(result);
	}
	CHECK_INT(test_db_integer(pg, "SELECT count(*) FROM reservations"), 0);
}

TEST(booking_clock_change_times)
{
	static const struct {
		const char *start;
		int status;
		const char *starts_at;   /* expected, or the reason for a 400 */
	} cases[] = {
		/* The repeated hour: a local time means its first occurrence. */
		{"\"date\": \"2026-10-25\", \"time\": \"02:30\"", 201, "2026-10-25T02:30:00+02:00"},
		{"\"starts_at\": \"2026-10-25T02:15:00+02:00\"", 201, "2026-10-25T02:15:00+02:00"},
		/* Its second occurrence is not offered as a slot. */
		{"\"starts_at\": \"2026-10-25T02:45:00+01:00\"", 400, "not_on_slot"},
		{"\"date\": \"2026-10-25\", \"time\": \"03:00\"", 201, "2026-10-25T03:00:00+01:00"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	test_add_clock_change_hours(pg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[256];
		int status;
		json_t *result;

		snprintf(args, sizeof(args), "{\"name\": \"Hal\", \"phone\": \"+33612345678\","
			 " \"party_size\": 2, %s}", cases[i].start);
		result = test_tool(pg, test_instant("2026-10-01T08:00:00Z"), "create_reservation",
				   args, &status);
		if (status != cases[i].status)
			test_fail(__FILE__, __LINE__, "case %zu: status %d", i, status);
		if (cases[i].status == 201)
			CHECK_STR(field(result, "starts_at"), cases[i].starts_at);
		else
			CHECK_STR(error_field(result, "reason"), cases[i].starts_at);
		json_decref(result);
	}
}

TEST(booking_rejects_input)
{
	static const struct {
		const char *args;
		const char *code;
		const char *message_part;
	} cases[] = {
		{"{\"name\": \"Ed\", \"phone\": \"12345\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\"}", "invalid_request", "phone must be"},
		{"{\"name\": \"   \", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\"}", "invalid_request", "name must be"},
		{"{\"name\": \"Ed\\u0007\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\"}", "invalid_request", "name must be"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00\"}", "invalid_request", "with an offset"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\", \"date\": \"2026-12-24\"}",
		 "invalid_request", "not both"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"date\": \"2026-12-24\"}", "invalid_request", "time is required"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2}",
		 "invalid_request", "starts_at is required"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"date\": \"2026-12-24\", \"time\": \"7pm\"}", "invalid_request", "\"7pm\""},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\", \"idempotency_key\": \"a b\"}",
		 "invalid_request", "idempotency_key"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": \"2\","
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\"}", "invalid_arguments",
		 "party_size must be of type integer"},
		{"{\"name\": \"Ed\", \"phone\": \"+33612345678\", \"party_size\": 2, \"table\": 3,"
		 " \"starts_at\": \"2026-12-24T19:00:00+01:00\"}", "invalid_arguments",
		 "unknown property \"table\""},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		json_t *result = book(pg, cases[i].args, &status);
		const char *message = error_field(result, "message");

		CHECK_INT(status, 400);
		CHECK_STR(error_field(result, "code"), cases[i].code);
		if (!message || !strstr(message, cases[i].message_part))
			test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", i,
				  message ? message : "(none)", cases[i].message_part);
		json_decref(result);
	}
}

TEST(booking_name_and_notes_limits)
{
	PGconn *pg = test_tools_pg();
	char name[128], args[1024];
	json_t *result;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");

	/* 100 characters, two bytes each, is still a valid name. */
	name[0] = '\0';
	for (int i = 0; i < 50; i++)
		strcat(name, "é");
	snprintf(args, sizeof(args), "{\"name\": \"%s%s\", \"phone\": \"+33612345678\","
		 " \"party_size\": 2, \"starts_at\": \"2026-12-20T12:00:00+01:00\","
		 " \"notes\": \"line one\\nline two\"}", name, name);
	result = book(pg, args, &status);
	CHECK_INT(status, 201);
	CHECK_STR(field(result, "notes"), "line one\nline two");
	json_decref(result);

	snprintf(args, sizeof(args), "{\"name\": \"%s%sx\", \"phone\": \"+33612345678\","
		 " \"party_size\": 2, \"starts_at\": \"2026-12-20T12:00:00+01:00\"}", name, name);
	result = book(pg, args, &status);
	CHECK_INT(status, 400);
	CHECK_STR(error_field(result, "code"), "invalid_arguments");
	json_decref(result);
}

TEST(booking_cancel_started_is_refused)
{
	PGconn *pg = test_tools_pg();
	char args[128];
	json_t *created, *result;
	int status;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	created = book(pg, "{\"name\": \"Fay\", \"phone\": \"+33612345678\", \"party_size\": 2,"
		       " \"starts_at\": \"2026-12-20T12:00:00+01:00\"}", &status);
	CHECK_INT(status, 201);
	snprintf(args, sizeof(args), "{\"code\": \"%s\", \"phone\": \"+33612345678\"}",
		 field(created, "code"));
	result = test_tool(pg, test_instant("2026-12-20T11:30:00Z"), "cancel_reservation", args,
			   &status);
	CHECK_INT(status, 409);
	CHECK_STR(error_field(result, "code"), "already_started");
	json_decref(result);
	json_decref(created);
}

struct race_run {
	PGconn *pg;
	pthread_barrier_t *start;
	char args[256];
	int status;
	bool replay;
	char code[16];
};

static void *race_book(void *arg)
{
	struct race_run *run = arg;
	json_t *result;

	pthread_barrier_wait(run->start);
	result = test_tool(run->pg, test_instant(BOOK_NOW), "create_reservation", run->args,
			   &run->status);
	run->replay = json_is_true(json_object_get(result, "idempotent_replay"));
	snprintf(run->code, sizeof(run->code), "%s", field(result, "code") ? field(result, "code") : "");
	json_decref(result);
	return NULL;
}

/* Runs n bookings at once, each on its own connection, and returns how
 * many got 201. */
static int race(struct race_run *runs, int n)
{
	pthread_barrier_t start;
	pthread_t threads[RACE_THREADS];
	int created = 0;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		runs[i].pg = test_db_connect("tools");
		runs[i].start = &start;
		runs[i].status = 0;
	}
	for (int i = 0; i < n; i++)
		pthread_create(&threads[i], NULL, race_book, &runs[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(threads[i], NULL);
		PQfinish(runs[i].pg);
		created += runs[i].status == 201;
	}
	pthread_barrier_destroy(&start);
	return created;
}

TEST(booking_race_last_table)
{
	PGconn *pg = test_tools_pg();
	struct race_run runs[RACE_THREADS];
	json_t *first;
	int status, full = 0;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	first = book(pg, "{\"name\": \"First\", \"phone\": \"+33612345678\", \"party_size\": 8,"
		     " \"starts_at\": \"2026-12-19T20:00:00+01:00\"}", &status);
	CHECK_INT(status, 201);
	json_decref(first);

	/* One 8-seat table is left, and twenty guests request it at once. */
	for (int i = 0; i < RACE_THREADS; i++)
		snprintf(runs[i].args, sizeof(runs[i].args),
			 "{\"name\": \"Racer %d\", \"phone\": \"+33612345678\", \"party_size\": 7,"
			 " \"starts_at\": \"2026-12-19T20:00:00+01:00\"}", i);
	CHECK_INT(race(runs, RACE_THREADS), 1);
	for (int i = 0; i < RACE_THREADS; i++)
		full += runs[i].status == 409;
	CHECK_INT(full, RACE_THREADS - 1);
	CHECK_INT(test_db_integer(pg, "SELECT count(*) FROM reservations"
			       " WHERE starts_at = '2026-12-19 20:00+01'"), 2);
}

TEST(booking_race_same_key)
{
	PGconn *pg = test_tools_pg();
	struct race_run runs[SAME_KEY_THREADS];
	int first = 0;

	if (!pg)
		return;
	test_db_exec(pg, "DELETE FROM reservations");
	for (int i = 0; i < SAME_KEY_THREADS; i++)
		snprintf(runs[i].args, sizeof(runs[i].args),
			 "{\"name\": \"Gil\", \"phone\": \"+33612345678\", \"party_size\": 2,"
			 " \"starts_at\": \"2026-12-19T12:00:00+01:00\","
			 " \"idempotency_key\": \"retry-me\"}");
	CHECK_INT(race(runs, SAME_KEY_THREADS), SAME_KEY_THREADS);
	for (int i = 0; i < SAME_KEY_THREADS; i++) {
		first += !runs[i].replay;
		CHECK_STR(runs[i].code, runs[0].code);
	}
	CHECK_INT(first, 1);
	CHECK_INT(test_db_integer(pg, "SELECT count(*) FROM reservations"), 1);
}
