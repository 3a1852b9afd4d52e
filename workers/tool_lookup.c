#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "workers/tool_handlers.h"
#include "workers/tool_parse.h"
#include "workers/tool_result.h"

/* The same reply for an unknown code and for a wrong phone, so that a
 * guesser cannot learn which codes exist. */
#define NOT_FOUND_MESSAGE "no reservation with that code and phone"

/* Reads and normalises code and phone. Returns NULL, or the error: 400 for
 * a phone that cannot be one, 404 for a code that cannot be one. */
static json_t *parse_keys(json_t *args, char *code, size_t code_len, char *phone,
			  size_t phone_len, int *status)
{
	const char *code_arg = json_string_value(json_object_get(args, "code"));
	const char *phone_arg = json_string_value(json_object_get(args, "phone"));

	if (tool_normalise_phone(phone_arg, phone, phone_len) < 0)
		return tool_error(status, 400, "invalid_request", "%s", TOOL_PHONE_RULE);
	if (tool_normalise_code(code_arg, code, code_len) < 0)
		return tool_error(status, 404, "not_found", NOT_FOUND_MESSAGE);
	return NULL;
}

json_t *tool_find_reservation(struct tool_ctx *ctx, json_t *args, int *status)
{
	char code[TOOL_CODE_LEN + 1], phone[20];
	const char *params[2] = {code, phone};
	PGresult *res;
	json_t *result;

	result = parse_keys(args, code, sizeof(code), phone, sizeof(phone), status);
	if (result)
		return result;
	res = tool_query(ctx->pg, "find_reservation",
			 "SELECT reservation_json(x)::text FROM reservations x"
			 " WHERE x.code = $1 AND x.phone = $2", 2, params);
	if (!res)
		return tool_db_error(status, "find_reservation");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return tool_error(status, 404, "not_found", NOT_FOUND_MESSAGE);
	}
	result = tool_json_cell(res, 0, 0, "find_reservation");
	PQclear(res);
	if (!result)
		return tool_db_error(status, "find_reservation");
	*status = 200;
	return result;
}

/* Turns reservation_cancel's outcome into the tool's result, taking the
 * reference to reservation. */
static json_t *cancel_result(const char *outcome, json_t *reservation, int *status)
{
	json_t *error;

	if (strcmp(outcome, "cancelled") == 0 && reservation) {
		*status = 200;
		return reservation;
	}
	if (strcmp(outcome, "already_cancelled") == 0)
		error = tool_error(status, 409, "already_cancelled",
				   "this reservation is already cancelled");
	else if (strcmp(outcome, "already_started") == 0)
		error = tool_error(status, 409, "already_started",
				   "this reservation has already started, so it can no "
				   "longer be cancelled here. Call the restaurant");
	else if (strcmp(outcome, "not_found") == 0)
		error = tool_error(status, 404, "not_found", NOT_FOUND_MESSAGE);
	else
		error = tool_db_error(status, "cancel_reservation");
	if (reservation && *status == 409)
		tool_error_add(error, "reservation", reservation);
	else
		json_decref(reservation);
	return error;
}

json_t *tool_cancel_reservation(struct tool_ctx *ctx, json_t *args, int *status)
{
	char code[TOOL_CODE_LEN + 1], phone[20], now[32];
	const char *params[3] = {code, phone, now};
	PGresult *res;
	json_t *result, *reservation = NULL;

	result = parse_keys(args, code, sizeof(code), phone, sizeof(phone), status);
	if (result)
		return result;
	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	res = tool_query(ctx->pg, "cancel_reservation",
			 "SELECT outcome, reservation::text"
			 " FROM reservation_cancel($1, $2, to_timestamp($3::double precision))",
			 3, params);
	if (!res)
		return tool_db_error(status, "cancel_reservation");
	if (PQntuples(res) != 1) {
		log_error("tool_bad_result", "reservation_cancel returned %d rows, expected 1",
			  PQntuples(res));
		PQclear(res);
		return tool_db_error(status, "cancel_reservation");
	}
	if (!PQgetisnull(res, 0, 1))
		reservation = tool_json_cell(res, 0, 1, "cancel_reservation");
	result = cancel_result(PQgetvalue(res, 0, 0), reservation, status);
	PQclear(res);
	return result;
}
