/*
 * The offline agent end to end against PostgreSQL and the real tools.
 * Set MAITRED_TEST_DATABASE_URL to a database of your own (it is migrated
 * and gets test reservations); without it these tests print a line and
 * pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/migrate.h"
#include "tests/unit/test.h"
#include "workers/offline.h"
#include "workers/router.h"

#define WEEK_SECONDS (7 * 24 * 3600)

static PGconn *connect_test_database(void)
{
	const char *url = getenv("MAITRED_TEST_DATABASE_URL");
	char err[512];

	if (!url || !url[0]) {
		printf("  skipped: set MAITRED_TEST_DATABASE_URL to run the offline agent "
		       "against PostgreSQL\n");
		return NULL;
	}
	PGconn *pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK) {
		test_fail(__FILE__, __LINE__, "PQconnectdb() failed: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	if (migrate_apply(pg, err, sizeof(err)) != 0) {
		test_fail(__FILE__, __LINE__, "migrate_apply() failed: %s", err);
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Runs one turn the way the server does: the router picks the agent. */
static char *turn(struct tool_ctx *ctx, json_t *state, const char *message, json_t **reservation)
{
	struct offline_reply reply;
	enum agent_kind agent = router_pick(message, state);

	CHECK_INT(offline_turn(ctx, agent, state, message, &reply), 0);
	char *text = strdup(reply.text ? reply.text : "");
	if (reservation && reply.reservation && !*reservation)
		*reservation = json_incref(reply.reservation);
	offline_reply_free(&reply);
	return text;
}

/* Finds a free slot a week from now for 2 people through the tool itself,
 * so the test does not depend on the seeded opening hours. */
static bool free_slot(struct tool_ctx *ctx, char *date, char *time)
{
	time_t later = ctx->now + WEEK_SECONDS;
	struct tm day;
	int status;

	localtime_r(&later, &day);
	strftime(date, 11, "%Y-%m-%d", &day);
	json_t *args = json_pack("{s:s,s:i}", "date", date, "party_size", 2);
	json_t *result = tool_run(ctx, "check_availability", args, &status);
	json_decref(args);
	size_t index;
	json_t *slot;
	bool found = false;

	json_array_foreach(json_object_get(result, "slots"), index, slot) {
		const char *starts_at = json_string_value(json_object_get(slot, "starts_at"));
		if (!found && json_is_true(json_object_get(slot, "available")) && starts_at &&
		    strlen(starts_at) >= 16) {
			snprintf(time, 6, "%.5s", starts_at + 11);
			found = true;
		}
	}
	json_decref(result);
	return found;
}

TEST(offline_db_book_find_cancel)
{
	PGconn *pg = connect_test_database();
	char date[11], time_text[6], message[128], phone[32];
	json_t *booked = NULL, *found = NULL, *state = json_object();

	if (!pg) {
		json_decref(state);
		return;
	}
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	struct tool_ctx ctx = { .pg = pg, .now = time(NULL) };
	CHECK(free_slot(&ctx, date, time_text));

	snprintf(message, sizeof(message), "I'd like a table for 2 on %s at %s", date, time_text);
	free(turn(&ctx, state, message, NULL));
	free(turn(&ctx, state, "Ann Test", NULL));
	snprintf(phone, sizeof(phone), "+33 6 %02d %02d %02d %02d", (int)(ctx.now % 100),
		 (int)(ctx.now / 100 % 100), (int)(ctx.now / 10000 % 100), 42);
	char *text = turn(&ctx, state, phone, &booked);
	const char *code = json_string_value(json_object_get(booked, "code"));
	CHECK(booked != NULL);
	CHECK(code != NULL);
	CHECK(code && strstr(text, code) != NULL);
	CHECK_INT(json_integer_value(json_object_get(booked, "party_size")), 2);
	free(text);

	json_t *fresh = json_object();
	snprintf(message, sizeof(message), "what's my booking %s? my phone is %s", code ? code : "",
		 phone);
	text = turn(&ctx, fresh, message, &found);
	CHECK(found != NULL);
	CHECK(code && strstr(text, code) != NULL);
	free(text);

	snprintf(message, sizeof(message), "please cancel booking %s", code ? code : "");
	text = turn(&ctx, fresh, message, NULL);
	CHECK(strstr(text, "yes or no") != NULL);
	free(text);
	text = turn(&ctx, fresh, "yes", NULL);
	CHECK(strstr(text, "cancelled") != NULL);
	free(text);

	json_decref(fresh);
	json_decref(found);
	json_decref(booked);
	json_decref(state);
	PQfinish(pg);
}

TEST(offline_db_menu_from_tools)
{
	PGconn *pg = connect_test_database();
	json_t *state = json_object();

	if (!pg) {
		json_decref(state);
		return;
	}
	struct tool_ctx ctx = { .pg = pg, .now = time(NULL) };
	int status;
	json_t *vegan_args = json_pack("{s:[s]}", "tags", "vegan");
	json_t *vegan = tool_run(&ctx, "search_menu", vegan_args, &status);
	json_decref(vegan_args);
	CHECK_INT(status, 200);

	char *text = turn(&ctx, state, "Do you have vegan dishes?", NULL);
	size_t index;
	json_t *dish;
	json_array_foreach(json_object_get(vegan, "items"), index, dish) {
		const char *name = json_string_value(json_object_get(dish, "name"));
		if (index < 8 && name && !strstr(text, name))
			test_fail(__FILE__, __LINE__, "vegan dish \"%s\" missing from \"%s\"", name, text);
	}
	free(text);
	json_decref(vegan);
	json_decref(state);
	PQfinish(pg);
}
