#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "workers/tool_handlers.h"
#include "workers/tool_result.h"
#include "workers/tool_schema.h"
#include "workers/tools.h"

#define TOOL_DATE_HELP "Local date at the restaurant, YYYY-MM-DD."
#define TOOL_PHONE_HELP \
	"The guest's phone number as they gave it, international (+33 6 12 34 56 78) " \
	"or French national (06 12 34 56 78)."

/* A tool: its OpenAI definition, which agents offer it, and its code. */
struct tool_def {
	const char *name;
	const char *description;
	const char *parameters;   /* JSON Schema text */
	bool food;
	bool booking;
	bool side_effects;
	tool_handler *run;
};

static const struct tool_def tool_defs[] = {
	{
		"search_menu",
		"Search the menu. Every filter is optional and all given filters must "
		"match. Returns {\"items\": [dish]}, each dish with id, name, description, "
		"category, price (text, two decimals), currency, dietary tags, allergens "
		"and allergens_verified (false: the kitchen has not confirmed the "
		"allergens, so the guest must ask the staff).",
		"{\"type\": \"object\", \"properties\": {"
		"\"q\": {\"type\": \"string\", \"maxLength\": 200, \"description\": "
		"\"Words to find in dish names, descriptions and ingredients, e.g. "
		"\\\"chickpea\\\" or \\\"risotto\\\".\"},"
		"\"tags\": {\"type\": \"array\", \"maxItems\": 6, \"description\": "
		"\"Dietary tags that every dish returned must have.\", \"items\": "
		"{\"type\": \"string\", \"enum\": [\"vegan\", \"vegetarian\", "
		"\"gluten_free\", \"dairy_free\", \"nut_free\", \"spicy\"]}},"
		"\"category\": {\"type\": \"string\", \"enum\": [\"starter\", \"main\", "
		"\"side\", \"dessert\", \"drink\"]},"
		"\"max_price\": {\"type\": [\"string\", \"number\"], \"description\": "
		"\"Highest price in the menu's currency, a decimal such as \\\"15\\\" "
		"or \\\"12.50\\\".\"}"
		"}, \"required\": [], \"additionalProperties\": false}",
		true, false, false, tool_search_menu,
	},
	{
		"get_dish",
		"Get one dish by its id from search_menu, with its tags, allergens and "
		"whether the kitchen has verified the allergens.",
		"{\"type\": \"object\", \"properties\": {"
		"\"id\": {\"type\": \"integer\", \"minimum\": 1, \"description\": "
		"\"The dish id.\"}"
		"}, \"required\": [\"id\"], \"additionalProperties\": false}",
		true, false, false, tool_get_dish,
	},
	{
		"opening_hours",
		"Get the restaurant's weekly opening hours (local time), the upcoming "
		"exceptions (closed days, special hours) and, when a date is given, "
		"that day's hours. An interval with closes_next_day runs past midnight.",
		"{\"type\": \"object\", \"properties\": {"
		"\"date\": {\"type\": \"string\", \"maxLength\": 10, \"description\": "
		"\"" TOOL_DATE_HELP " Optional.\"}"
		"}, \"required\": [], \"additionalProperties\": false}",
		true, true, false, tool_opening_hours,
	},
	{
		"restaurant_info",
		"Get the restaurant's name, phone number, time zone, currency, today's "
		"local date and booking rules (party sizes, seating length, notice, how "
		"far ahead).",
		"{\"type\": \"object\", \"properties\": {}, \"required\": [], "
		"\"additionalProperties\": false}",
		true, true, false, tool_restaurant_info,
	},
	{
		"check_availability",
		"List the booking slots of a date for a party, each with starts_at "
		"(ISO 8601, local time with offset) and available. With time, also "
		"says whether that time is free (\"requested\") and gives the nearest "
		"available slots. A closed day returns closed: true and a reason.",
		"{\"type\": \"object\", \"properties\": {"
		"\"date\": {\"type\": \"string\", \"maxLength\": 10, \"description\": "
		"\"" TOOL_DATE_HELP "\"},"
		"\"party_size\": {\"type\": \"integer\", \"minimum\": 1, \"description\": "
		"\"Number of guests.\"},"
		"\"time\": {\"type\": \"string\", \"maxLength\": 5, \"description\": "
		"\"Wanted local start time, HH:MM (24-hour). Optional.\"}"
		"}, \"required\": [\"date\", \"party_size\"], \"additionalProperties\": false}",
		false, true, false, tool_check_availability,
	},
	{
		"create_reservation",
		"Book a table. Call it only once the guest has given party size, date, "
		"time, name and phone and agreed to book. Give either starts_at or date "
		"and time. Returns the reservation with its code, which the guest needs "
		"to find or cancel it. Errors: slot_full (no table free), "
		"outside_booking_rules (with nearest_slots to offer instead).",
		"{\"type\": \"object\", \"properties\": {"
		"\"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100, "
		"\"description\": \"The name to book under.\"},"
		"\"phone\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40, "
		"\"description\": \"" TOOL_PHONE_HELP "\"},"
		"\"party_size\": {\"type\": \"integer\", \"minimum\": 1, \"description\": "
		"\"Number of guests.\"},"
		"\"starts_at\": {\"type\": \"string\", \"maxLength\": 40, \"description\": "
		"\"Start as ISO 8601 with offset, e.g. a starts_at from check_availability.\"},"
		"\"date\": {\"type\": \"string\", \"maxLength\": 10, \"description\": "
		"\"" TOOL_DATE_HELP " Use with time.\"},"
		"\"time\": {\"type\": \"string\", \"maxLength\": 5, \"description\": "
		"\"Local start time, HH:MM (24-hour). Use with date.\"},"
		"\"notes\": {\"type\": \"string\", \"maxLength\": 500, \"description\": "
		"\"Requests from the guest, e.g. a high chair or an allergy.\"},"
		"\"idempotency_key\": {\"type\": \"string\", \"minLength\": 1, "
		"\"maxLength\": 128, \"description\": \"A unique id for this booking "
		"request. Sending the same id and details again returns the first "
		"booking instead of making a second.\"}"
		"}, \"required\": [\"name\", \"phone\", \"party_size\"], "
		"\"additionalProperties\": false}",
		false, true, true, tool_create_reservation,
	},
	{
		"find_reservation",
		"Find a reservation by its code and the phone number it was booked "
		"with. Both must come from the guest in this conversation.",
		"{\"type\": \"object\", \"properties\": {"
		"\"code\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40, "
		"\"description\": \"The reservation code, e.g. K7M4QX2PA.\"},"
		"\"phone\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40, "
		"\"description\": \"" TOOL_PHONE_HELP "\"}"
		"}, \"required\": [\"code\", \"phone\"], \"additionalProperties\": false}",
		false, true, false, tool_find_reservation,
	},
	{
		"cancel_reservation",
		"Cancel a reservation by its code and the phone number it was booked "
		"with, once the guest has confirmed. Both must come from the guest in "
		"this conversation.",
		"{\"type\": \"object\", \"properties\": {"
		"\"code\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40, "
		"\"description\": \"The reservation code, e.g. K7M4QX2PA.\"},"
		"\"phone\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 40, "
		"\"description\": \"" TOOL_PHONE_HELP "\"}"
		"}, \"required\": [\"code\", \"phone\"], \"additionalProperties\": false}",
		false, true, true, tool_cancel_reservation,
	},
};

#define TOOL_COUNT (sizeof(tool_defs) / sizeof(tool_defs[0]))

/* The parsed parameters of each tool, parsed once and then only read. */
static json_t *tool_parameters[TOOL_COUNT];
static pthread_once_t tool_parameters_once = PTHREAD_ONCE_INIT;

static void parse_parameters(void)
{
	json_error_t error;

	for (size_t i = 0; i < TOOL_COUNT; i++) {
		tool_parameters[i] = json_loads(tool_defs[i].parameters, 0, &error);
		if (!tool_parameters[i])
			log_error("tool_schema_invalid", "%s: json_loads() failed at line %d: %s",
				  tool_defs[i].name, error.line, error.text);
	}
}

static const json_t *parameters_of(size_t index)
{
	pthread_once(&tool_parameters_once, parse_parameters);
	return tool_parameters[index];
}

static const struct tool_def *find_tool(const char *name, size_t *index)
{
	for (size_t i = 0; name && i < TOOL_COUNT; i++) {
		if (strcmp(tool_defs[i].name, name) == 0) {
			*index = i;
			return &tool_defs[i];
		}
	}
	return NULL;
}

json_t *tool_run(struct tool_ctx *ctx, const char *name, json_t *args, int *status)
{
	char err[512], quoted[64];
	const struct tool_def *def;
	const json_t *schema;
	json_t *empty = NULL, *result;
	enum tool_schema_result check;
	size_t index;

	def = find_tool(name, &index);
	if (!def)
		return tool_error(status, 404, "unknown_tool", "no tool is named \"%s\"",
				  tool_quote(name ? name : "", quoted, sizeof(quoted)));
	schema = parameters_of(index);
	if (!schema)
		return tool_error(status, 500, "internal_error",
				  "the %s tool's schema is broken", def->name);

	if (!args)
		args = empty = json_object();
	check = tool_schema_check(schema, args, err, sizeof(err));
	if (check == TOOL_SCHEMA_NOT_IN_ENUM) {
		result = tool_error(status, 400, "invalid_request", "%s", err);
	} else if (check != TOOL_SCHEMA_OK) {
		result = tool_error(status, 400, "invalid_arguments", "%s: %s", def->name, err);
	} else if (!ctx || !ctx->pg || PQstatus(ctx->pg) != CONNECTION_OK) {
		result = tool_db_error(status, def->name);
	} else {
		result = def->run(ctx, args, status);
	}
	json_decref(empty);
	return result;
}

bool tool_has_side_effects(const char *name)
{
	size_t index;
	const struct tool_def *def = find_tool(name, &index);

	return def && def->side_effects;
}

json_t *tools_openai_schema(enum agent_kind agent)
{
	json_t *tools = json_array();

	for (size_t i = 0; i < TOOL_COUNT; i++) {
		const struct tool_def *def = &tool_defs[i];
		const json_t *parameters = parameters_of(i);

		if (!(agent == AGENT_FOOD ? def->food : def->booking) || !parameters)
			continue;
		json_array_append_new(tools, json_pack("{s:s,s:{s:s,s:s,s:o}}",
			"type", "function",
			"function",
			"name", def->name,
			"description", def->description,
			"parameters", json_deep_copy(parameters)));
	}
	return tools;
}

int restaurant_timezone(PGconn *pg, char *buf, size_t len, char *err, size_t errlen)
{
	PGresult *res;
	int rc = -1;

	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "restaurant_timezone: no database connection");
		return -1;
	}
	res = tool_query(pg, "restaurant_timezone", "SELECT timezone FROM restaurant", 0, NULL);
	if (!res) {
		snprintf(err, errlen, "restaurant_timezone: reading the restaurant failed");
		return -1;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "restaurant_timezone: the restaurant table has %d rows, "
			 "expected 1: run the migrations", PQntuples(res));
	} else if (snprintf(buf, len, "%s", PQgetvalue(res, 0, 0)) >= (int)len) {
		snprintf(err, errlen, "restaurant_timezone: buffer of %zu bytes is too small", len);
	} else {
		rc = 0;
	}
	PQclear(res);
	return rc;
}
