#ifndef MAITRED_TOOLS_H
#define MAITRED_TOOLS_H

/*
 * The restaurant's data operations. The agents' function-calling tools, the
 * offline agent and the REST routes all call these, so a menu answer or a
 * booking is the same whichever path asked for it.
 *
 * Every tool takes a JSON object of arguments and returns a new JSON object
 * that the caller owns (json_decref), with an HTTP-style status in *status:
 *   200 or 201: the result (shapes in docs/api.md);
 *   400, 404, 409, 429, 503: {"error": {"code": "...", "message": "..."}} and,
 *   where it helps the guest, more fields beside code and message (for
 *   example "nearest_slots" for a time outside the booking rules).
 * A database failure returns 503 with code "database_unavailable"; the
 * message names the failed call, never the guest's data.
 */
#include <stdbool.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

struct tool_ctx {
	PGconn *pg;     /* owned by the calling thread; reconnected by the caller */
	time_t now;     /* the application's clock in UTC seconds; rules about
	                 * notice and how far ahead use it, not the database's */
};

enum agent_kind { AGENT_FOOD, AGENT_BOOKING };

/* Runs the tool called name after checking args against its schema.
 * Unknown names return 404 with code "unknown_tool"; arguments that do not
 * fit the schema return 400 with code "invalid_arguments". */
json_t *tool_run(struct tool_ctx *ctx, const char *name, json_t *args, int *status);

/* Returns true for tools that change data (create and cancel a reservation),
 * which a turn must never replay. */
bool tool_has_side_effects(const char *name);

/* Returns a new array of OpenAI "tools" entries ({"type":"function",
 * "function":{name, description, parameters}}) for the agent. */
json_t *tools_openai_schema(enum agent_kind agent);

/*
 * The tools, by name:
 * search_menu        {q?, tags?: [..], category?, max_price?: "12.50"} -> {"items": [dish..]}
 * get_dish           {id}                                -> dish
 * opening_hours      {date?: "YYYY-MM-DD"}               -> weekly hours, exceptions, that day's hours
 * restaurant_info    {}                                  -> name, timezone, currency, booking rules
 * check_availability {date, party_size, time?: "HH:MM"}  -> {"date","party_size","timezone","slots":[..]}
 * create_reservation {name, phone, party_size, starts_at (ISO 8601 with offset)
 *                     or date + time (restaurant-local), notes?, idempotency_key?}
 *                                                         -> 201 reservation, or 409 slot_full
 * find_reservation   {code, phone}                       -> reservation, or 404
 * cancel_reservation {code, phone}                       -> reservation, 404 or 409 already_cancelled
 */

/* Copies the restaurant's IANA time zone name into buf. Returns 0, or -1
 * with a message in err. */
int restaurant_timezone(PGconn *pg, char *buf, size_t len, char *err, size_t errlen);

#endif
