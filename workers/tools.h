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
 * args is borrowed: tool_run neither keeps nor frees it, and NULL counts as
 * {}. A null value for an optional property counts as absent.
 * Unknown names return 404 with code "unknown_tool". Arguments that do not
 * fit the schema (wrong type, missing, unknown property) return 400 with
 * code "invalid_arguments", and a value outside a listed set (a tag or a
 * category) returns 400 "invalid_request" naming the value and the allowed
 * ones. A NULL ctx->pg or a broken connection returns 503. */
json_t *tool_run(struct tool_ctx *ctx, const char *name, json_t *args, int *status);

/* Returns true for tools that change data (create and cancel a reservation),
 * which a turn must never replay. */
bool tool_has_side_effects(const char *name);

/* Returns a new array of OpenAI "tools" entries ({"type":"function",
 * "function":{name, description, parameters}}) for the agent. */
json_t *tools_openai_schema(enum agent_kind agent);

/*
 * The tools, by name. Times are ISO 8601 in the restaurant's zone with the
 * offset ("2026-12-24T19:00:00+01:00"), dates and times "YYYY-MM-DD" and
 * "HH:MM" in local time.
 * search_menu        {q?, tags?: [..], category?, max_price?: "12.50" or 12.5}
 *                    -> {"items": [dish..]}, dish = {id, name, description,
 *                    category, price: "9.50", currency, tags, allergens,
 *                    allergens_verified}
 * get_dish           {id}                 -> dish, or 404 not_found
 * opening_hours      {date?}              -> {timezone, today, weekly: [{weekday,
 *                    closed, intervals: [{opens, closes, last_seating,
 *                    closes_next_day?}]}], exceptions: [{date, closed, reason,
 *                    intervals}], date?: {date, weekday, closed, reason, intervals}}
 * restaurant_info    {}                   -> {name, timezone, currency, phone,
 *                    today, brand: {name, primary_colour}, rules: {..}}
 * check_availability {date, party_size, time?}
 *                    -> {date, party_size, timezone, closed, reason?,
 *                    slots: [{starts_at, available}], and with time:
 *                    requested: {time, available, starts_at or reason},
 *                    nearest_available: [starts_at..]}
 * create_reservation {name, phone, party_size, starts_at or date + time,
 *                    notes?, idempotency_key?}
 *                    -> 201 reservation (plus "idempotent_replay": true when
 *                    the key was seen with the same request), 409 slot_full
 *                    or idempotency_key_reused, 400 outside_booking_rules
 * find_reservation   {code, phone}        -> reservation, or 404 not_found
 * cancel_reservation {code, phone}        -> reservation with status
 *                    "cancelled", 404 not_found, 409 already_cancelled or
 *                    already_started
 * A reservation is {code, name, party_size, date, time, starts_at, ends_at,
 * status, notes, created_at, cancelled_at, phone_last4}: never the whole
 * phone. Codes are 9 characters from TOOL_CODE_ALPHABET (workers/
 * tool_parse.h); find and cancel accept them in lower case, with spaces or
 * dashes. An unknown code and a wrong phone get the same 404.
 * outside_booking_rules errors carry "reason" (party_size, past,
 * too_far_ahead, closed, outside_hours, not_on_slot, too_soon,
 * nonexistent_time) and "nearest_slots", up to 3 available starts_at on that
 * date, nearest first.
 */

/* Copies the restaurant's IANA time zone name into buf. Returns 0, or -1
 * with a message in err. */
int restaurant_timezone(PGconn *pg, char *buf, size_t len, char *err, size_t errlen);

#endif
