#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"
#include "workers/tools.h"

/* Returns true when the agent's schema offers a tool called name. */
static bool offers(const json_t *tools, const char *name)
{
	size_t i;
	json_t *tool;

	json_array_foreach(tools, i, tool) {
		const char *n = json_string_value(json_object_get(
			json_object_get(tool, "function"), "name"));
		if (n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

static void check_definitions(const json_t *tools)
{
	size_t i;
	json_t *tool;

	json_array_foreach(tools, i, tool) {
		json_t *function = json_object_get(tool, "function");
		json_t *parameters = json_object_get(function, "parameters");

		CHECK_STR(json_string_value(json_object_get(tool, "type")), "function");
		CHECK(json_is_string(json_object_get(function, "name")));
		CHECK(strlen(json_string_value(json_object_get(function, "description"))) > 20);
		CHECK_STR(json_string_value(json_object_get(parameters, "type")), "object");
		CHECK(json_is_object(json_object_get(parameters, "properties")));
		CHECK(json_is_array(json_object_get(parameters, "required")));
		CHECK(json_is_false(json_object_get(parameters, "additionalProperties")));
	}
}

TEST(schema_food_tools)
{
	json_t *tools = tools_openai_schema(AGENT_FOOD);

	check_definitions(tools);
	CHECK(offers(tools, "search_menu"));
	CHECK(offers(tools, "get_dish"));
	CHECK(offers(tools, "opening_hours"));
	CHECK(!offers(tools, "create_reservation"));
	CHECK(!offers(tools, "cancel_reservation"));
	json_decref(tools);
}

TEST(schema_booking_tools)
{
	json_t *tools = tools_openai_schema(AGENT_BOOKING);

	check_definitions(tools);
	CHECK(offers(tools, "check_availability"));
	CHECK(offers(tools, "create_reservation"));
	CHECK(offers(tools, "find_reservation"));
	CHECK(offers(tools, "cancel_reservation"));
	CHECK(offers(tools, "opening_hours"));
	CHECK(!offers(tools, "search_menu"));
	json_decref(tools);
}

TEST(schema_side_effects)
{
	CHECK(tool_has_side_effects("create_reservation"));
	CHECK(tool_has_side_effects("cancel_reservation"));
	CHECK(!tool_has_side_effects("find_reservation"));
	CHECK(!tool_has_side_effects("search_menu"));
	CHECK(!tool_has_side_effects("no_such_tool"));
	CHECK(!tool_has_side_effects(NULL));
}

/* Arguments the schema rejects before any database work, so these run
 * without PostgreSQL. */
TEST(schema_rejects_arguments)
{
	static const struct {
		const char *tool;
		const char *args;
		int status;
		const char *code;
		const char *message_part;
	} cases[] = {
		{"no_such_tool", "{}", 404, "unknown_tool", "no_such_tool"},
		{"get_dish", "{}", 400, "invalid_arguments", "id is required"},
		{"get_dish", "{\"id\": \"12\"}", 400, "invalid_arguments", "id must be of type integer"},
		{"get_dish", "{\"id\": 1.5}", 400, "invalid_arguments", "id must be of type integer"},
		{"get_dish", "{\"id\": 0}", 400, "invalid_arguments", "id must be at least 1"},
		{"get_dish", "{\"id\": 3, \"name\": \"x\"}", 400, "invalid_arguments",
		 "unknown property \"name\""},
		{"get_dish", "[]", 400, "invalid_arguments", "must be a JSON object"},
		{"search_menu", "{\"tags\": \"vegan\"}", 400, "invalid_arguments",
		 "tags must be of type array"},
		{"search_menu", "{\"tags\": [\"halal\"]}", 400, "invalid_request",
		 "tags[0] \"halal\" is not allowed. Use one of: vegan, vegetarian"},
		{"search_menu", "{\"category\": \"soup\"}", 400, "invalid_request",
		 "category \"soup\" is not allowed. Use one of: starter, main, side, dessert, drink"},
		{"search_menu", "{\"max_price\": true}", 400, "invalid_arguments",
		 "max_price must be one of the types string, number"},
		{"check_availability", "{\"date\": \"2026-12-24\"}", 400, "invalid_arguments",
		 "party_size is required"},
		{"check_availability", "{\"date\": \"2026-12-24\", \"party_size\": -2}", 400,
		 "invalid_arguments", "party_size must be at least 1"},
		{"create_reservation", "{\"name\": \"\", \"phone\": \"0612345678\", \"party_size\": 2}",
		 400, "invalid_arguments", "name must not be empty"},
		{"find_reservation", "{\"code\": \"K7M4QX2PA\"}", 400, "invalid_arguments",
		 "phone is required"},
		{"cancel_reservation", "{\"code\": 12, \"phone\": \"0612345678\"}", 400,
		 "invalid_arguments", "code must be of type string"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		json_t *result = test_tool(NULL, 0, cases[i].tool, cases[i].args, &status);
		json_t *error = json_object_get(result, "error");
		const char *message = json_string_value(json_object_get(error, "message"));

		if (status != cases[i].status)
			test_fail(__FILE__, __LINE__, "case %zu (%s %s): status %d", i,
				  cases[i].tool, cases[i].args, status);
		CHECK_STR(json_string_value(json_object_get(error, "code")), cases[i].code);
		if (!message || !strstr(message, cases[i].message_part))
			test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", i,
				  message ? message : "(none)", cases[i].message_part);
		json_decref(result);
	}
}

TEST(schema_null_optional_is_absent)
{
	int status;
	json_t *result = test_tool(NULL, 0, "search_menu",
				   "{\"q\": null, \"tags\": null, \"category\": null}", &status);

	/* Valid arguments reach the database check, which fails without one. */
	CHECK_INT(status, 503);
	CHECK_STR(json_string_value(json_object_get(json_object_get(result, "error"), "code")),
		  "database_unavailable");
	json_decref(result);
}

TEST(schema_null_args_is_empty_object)
{
	struct tool_ctx ctx = {.pg = NULL, .now = 0};
	int status = 0;
	json_t *result = tool_run(&ctx, "restaurant_info", NULL, &status);

	CHECK_INT(status, 503);
	json_decref(result);
}

TEST(tools_database_errors_are_503)
{
	static const char *const calls[][2] = {
		{"search_menu", "{}"},
		{"get_dish", "{\"id\": 1}"},
		{"opening_hours", "{}"},
		{"restaurant_info", "{}"},
		{"check_availability", "{\"date\": \"2026-12-24\", \"party_size\": 2}"},
		{"create_reservation", "{\"name\": \"Al\", \"phone\": \"+33612345678\","
		 " \"party_size\": 2, \"starts_at\": \"2026-12-24T19:00:00+01:00\"}"},
		{"find_reservation", "{\"code\": \"K7M4QX2PA\", \"phone\": \"+33612345678\"}"},
		{"cancel_reservation", "{\"code\": \"K7M4QX2PA\", \"phone\": \"+33612345678\"}"},
	};
	/* A database without the migrations: every query fails. */
	PGconn *pg = test_db_create("tools_empty", false);
	char zone[64], err[256];

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int status;
		json_t *result = test_tool(pg, 0, calls[i][0], calls[i][1], &status);
		json_t *error = json_object_get(result, "error");

		if (status != 503)
			test_fail(__FILE__, __LINE__, "%s: status %d", calls[i][0], status);
		CHECK_STR(json_string_value(json_object_get(error, "code")), "database_unavailable");
		CHECK(strstr(json_string_value(json_object_get(error, "message")), calls[i][0]));
		json_decref(result);
	}
	CHECK_INT(restaurant_timezone(pg, zone, sizeof(zone), err, sizeof(err)), -1);
	CHECK(strstr(err, "restaurant_timezone") != NULL);
	PQfinish(pg);
}

TEST(tools_broken_connection_is_503)
{
	/* Nothing listens on port 1, so the connection is bad from the start. */
	PGconn *pg = PQconnectdb("host=127.0.0.1 port=1 connect_timeout=2");
	int status;
	json_t *result = test_tool(pg, 0, "search_menu", "{}", &status);

	CHECK_INT(PQstatus(pg), CONNECTION_BAD);
	CHECK_INT(status, 503);
	json_decref(result);
	PQfinish(pg);
}
