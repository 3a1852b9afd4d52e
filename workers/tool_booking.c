#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/tool_handlers.h"
#include "workers/tool_parse.h"
#include "workers/tool_result.h"
#include "workers/tool_slots.h"

#define NAME_MAX_CHARS 100
#define NOTES_MAX_CHARS 500
#define NEAREST_MAX 3
/* A code collision among 31^9 codes is rare, so several in a row mean a bug. */
#define CODE_ATTEMPTS 5

/* A create_reservation request after validation and normalisation. */
struct booking_request {
	char *name;                  /* trimmed */
	char *notes;                 /* trimmed, "" when absent */
	char phone[20];              /* E.164 */
	int party;
	const char *idempotency_key; /* NULL when absent */
	char starts_epoch[24];       /* from starts_at, or "" */
	char date[11];               /* from date and time, or "" */
	char time[6];
	char local[20];              /* "YYYY-MM-DD HH:MM" from date and time */
};

/* The facts about the requested start that the booking rules decide on
 * (booking_rule_check in sql/003_booking.sql). */
struct booking_check {
	bool nonexistent;            /* a local time skipped by a clock change */
	char starts_epoch[24];
	long long starts_wall;       /* local wall-clock time (tool_slot.wall) */
	char starts_at[32];          /* ISO 8601 local */
	char slot_date[11];
	char local_time[6];
	bool past;
	bool on_slot;
	bool in_hours;
	bool closed;
	char closed_reason[128];
	bool notice_ok;
};

static const char check_sql[] =
	"SELECT s.starts IS NULL, extract(epoch FROM s.starts)::bigint,"
	"       iso_local(s.starts, r.timezone), c.slot_date::text, c.local_time,"
	"       s.starts < to_timestamp($3::double precision), c.on_slot, c.in_hours,"
	"       c.closed, c.closed_reason, c.notice_ok,"
	"       extract(epoch FROM s.starts AT TIME ZONE r.timezone)::bigint"
	" FROM restaurant r"
	" CROSS JOIN LATERAL (SELECT CASE WHEN $1::text IS NOT NULL"
	"                                 THEN to_timestamp($1::double precision)"
	"                                 ELSE local_to_instant($2::timestamp, r.timezone)"
	"                            END AS starts) s"
	" LEFT JOIN LATERAL booking_rule_check(s.starts,"
	"                                      to_timestamp($3::double precision)) c"
	"        ON s.starts IS NOT NULL";

static const char replay_sql[] =
	"SELECT x.request_hash = reservation_request_hash($2, $3, $4::integer,"
	"           to_timestamp($5::double precision), $6),"
	"       reservation_json(x)::text"
	" FROM reservations x WHERE x.idempotency_key = $1";

static const char book_sql[] =
	"SELECT outcome, reservation::text"
	" FROM reservation_book($1, $2, $3, $4::integer,"
	"                       to_timestamp($5::double precision), $6, $7,"
	"                       to_timestamp($8::double precision))";

static void request_free(struct booking_request *req)
{
	free(req->name);
	free(req->notes);
}

static json_t *invalid(int *status, const char *message)
{
	return tool_error(status, 400, "invalid_request", "%s", message);
}

/* Reads name and notes, which are personal, so errors never echo them. */
static json_t *parse_texts(json_t *args, struct booking_request *req, int *status)
{
	const char *notes = json_string_value(json_object_get(args, "notes"));
	size_t name_len;

	req->name = tool_trim(json_string_value(json_object_get(args, "name")));
	req->notes = tool_trim(notes ? notes : "");
	if (!req->name || !req->notes)
		return tool_error(status, 503, "unavailable", "out of memory");
	name_len = tool_utf8_length(req->name);
	if (name_len < 1 || name_len > NAME_MAX_CHARS || tool_has_control(req->name, 0))
		return invalid(status, "name must be 1 to 100 characters without control "
				       "characters. Ask the guest for the name to book under");
	if (tool_utf8_length(req->notes) > NOTES_MAX_CHARS || tool_has_control(req->notes, 1))
		return invalid(status, "notes must be at most 500 characters without control "
				       "characters other than line breaks");
	return NULL;
}

static bool is_valid_key(const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			return false;
	return *key != '\0';
}

/* Reads the start: starts_at, or date and time in local time. */
static json_t *parse_start(json_t *args, struct booking_request *req, int *status)
{
	const char *starts_at = json_string_value(json_object_get(args, "starts_at"));
	const char *date = json_string_value(json_object_get(args, "date"));
	const char *time = json_string_value(json_object_get(args, "time"));
	char quoted[64];
	long long epoch;

	if (starts_at && (date || time))
		return invalid(status, "give either starts_at or date and time, not both");
	if (starts_at) {
		if (tool_parse_instant(starts_at, &epoch) < 0)
			return tool_error(status, 400, "invalid_request",
					  "starts_at \"%s\" is not an ISO 8601 date and time with "
					  "an offset. Use e.g. 2026-12-24T19:00:00+01:00",
					  tool_quote(starts_at, quoted, sizeof(quoted)));
		snprintf(req->starts_epoch, sizeof(req->starts_epoch), "%lld", epoch);
		return NULL;
	}
	if (!date && !time)
		return invalid(status, "starts_at is required, or date and time together "
				       "(local time at the restaurant)");
	if (!date || !time)
		return invalid(status, date ? "time is required with date, as HH:MM"
					    : "date is required with time, as YYYY-MM-DD");
	if (tool_parse_date(date) < 0)
		return tool_error(status, 400, "invalid_request",
				  "date \"%s\" is not a date. Use YYYY-MM-DD, e.g. 2026-12-24",
				  tool_quote(date, quoted, sizeof(quoted)));
	if (tool_parse_time(time, req->time, sizeof(req->time)) < 0)
		return tool_error(status, 400, "invalid_request",
				  "time \"%s\" is not a time. Use HH:MM in 24-hour form, e.g. 19:30",
				  tool_quote(time, quoted, sizeof(quoted)));
	snprintf(req->date, sizeof(req->date), "%s", date);
	snprintf(req->local, sizeof(req->local), "%s %s", req->date, req->time);
	return NULL;
}

static json_t *parse_request(json_t *args, struct booking_request *req, int *status)
{
	const char *phone = json_string_value(json_object_get(args, "phone"));
	const char *key = json_string_value(json_object_get(args, "idempotency_key"));
	json_int_t party = json_integer_value(json_object_get(args, "party_size"));
	json_t *error = parse_texts(args, req, status);

	if (error)
		return error;
	if (tool_normalise_phone(phone, req->phone, sizeof(req->phone)) < 0)
		return invalid(status, TOOL_PHONE_RULE);
	/* The schema guarantees at least 1, and the rules check the maximum. */
	req->party = party > 10000 ? 10000 : (int)party;
	if (key && !is_valid_key(key))
		return invalid(status, "idempotency_key must be printable ASCII without spaces");
	req->idempotency_key = key;
	return parse_start(args, req, status);
}

static bool cell_true(const PGresult *res, int col)
{
	return PQgetvalue(res, 0, col)[0] == 't';
}

static void copy_cell(const PGresult *res, int col, char *buf, size_t len)
{
	snprintf(buf, len, "%s", PQgetvalue(res, 0, col));
}

/* Resolves the start to an instant and reads the rule facts about it.
 * Returns 0, or -1 after logging a database failure. */
static int check_start(struct tool_ctx *ctx, const struct booking_request *req,
		       struct booking_check *check)
{
	char now[32];
	const char *params[3] = {req->starts_epoch[0] ? req->starts_epoch : NULL,
				 req->local[0] ? req->local : NULL, now};
	PGresult *res;

	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	res = tool_query(ctx->pg, "create_reservation", check_sql, 3, params);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		log_error("tool_no_restaurant", "the restaurant table has %d rows, expected 1",
			  PQntuples(res));
		PQclear(res);
		return -1;
	}
	memset(check, 0, sizeof(*check));
	check->nonexistent = cell_true(res, 0);
	copy_cell(res, 1, check->starts_epoch, sizeof(check->starts_epoch));
	copy_cell(res, 2, check->starts_at, sizeof(check->starts_at));
	copy_cell(res, 3, check->slot_date, sizeof(check->slot_date));
	copy_cell(res, 4, check->local_time, sizeof(check->local_time));
	check->past = cell_true(res, 5);
	check->on_slot = cell_true(res, 6);
	check->in_hours = cell_true(res, 7);
	check->closed = cell_true(res, 8);
	copy_cell(res, 9, check->closed_reason, sizeof(check->closed_reason));
	check->notice_ok = cell_true(res, 10);
	check->starts_wall = strtoll(PQgetvalue(res, 0, 11), NULL, 10);
	PQclear(res);
	return 0;
}

/* Sets the error's "nearest_slots" to the available slots of date nearest
 * to the requested start. Returns the error, or a 503 when the slots
 * cannot be read. */
static json_t *add_nearest(struct tool_ctx *ctx, json_t *error, const char *date,
			   int party, const char *local_time, long long target, int *status)
{
	struct tool_slot_day day;
	int saved = *status;

	if (tool_slots_load(ctx, date, party, local_time, &day) < 0) {
		json_decref(error);
		return tool_db_error(status, "create_reservation");
	}
	if (day.has_target)
		target = day.target;
	tool_error_add(error, "nearest_slots", tool_slots_nearest(&day, target, NEAREST_MAX));
	tool_slots_free(&day);
	*status = saved;
	return error;
}

/* Returns NULL when the start obeys the rules, else the 400 error with its
 * reason and nearest_slots. */
static json_t *check_rules(struct tool_ctx *ctx, const struct booking_request *req,
			   const struct booking_check *check, const struct tool_rules *rules,
			   int *status)
{
	json_t *error = tool_rules_check_party(rules, req->party, status);

	if (error)
		return error;
	if (strcmp(check->slot_date, rules->last_date) > 0)
		return tool_rules_error(status, "too_far_ahead",
					"%s is more than %d days ahead: bookings open up to %s",
					check->starts_at, rules->max_days_ahead, rules->last_date);

	if (check->past)
		error = tool_rules_error(status, "past", "%s is in the past", check->starts_at);
	else if (check->closed)
		error = tool_rules_error(status, "closed", "the restaurant is closed on %s%s%s",
					 check->slot_date, check->closed_reason[0] ? ": " : "",
					 check->closed_reason);
	else if (!check->in_hours)
		error = tool_rules_error(status, "outside_hours",
					 "%s on %s is outside the booking hours: the last "
					 "booking starts %d minutes before closing",
					 check->local_time, check->slot_date,
					 rules->last_seating_minutes);
	else if (!check->on_slot)
		error = tool_rules_error(status, "not_on_slot",
					 "%s is not a booking slot: slots start every %d "
					 "minutes from opening", check->starts_at,
					 rules->slot_step_minutes);
	else if (!check->notice_ok)
		error = tool_rules_error(status, "too_soon",
					 "%s is too soon: bookings need %d minutes' notice",
					 check->starts_at, rules->min_notice_minutes);
	if (!error)
		return NULL;
	return add_nearest(ctx, error, check->slot_date, req->party, NULL, check->starts_wall,
			   status);
}

/* Returns the earlier booking made with the same idempotency key, the 409
 * for a key reused with another request, or NULL when the key is new. */
static json_t *find_replay(struct tool_ctx *ctx, const struct booking_request *req,
			   const char *starts_epoch, int *status)
{
	char party[16];
	const char *params[6] = {req->idempotency_key, req->name, req->phone, party,
				 starts_epoch, req->notes};
	PGresult *res;
	json_t *result;

	snprintf(party, sizeof(party), "%d", req->party);
	res = tool_query(ctx->pg, "create_reservation", replay_sql, 6, params);
	if (!res)
		return tool_db_error(status, "create_reservation");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return NULL;
	}
	if (!cell_true(res, 0)) {
		PQclear(res);
		return tool_error(status, 409, "idempotency_key_reused",
				  "idempotency_key was already used for a different booking "
				  "request. Use a new key for a new request");
	}
	result = tool_json_cell(res, 0, 1, "create_reservation");
	PQclear(res);
	if (!result)
		return tool_db_error(status, "create_reservation");
	json_object_set_new(result, "idempotent_replay", json_true());
	*status = 201;
	return result;
}

/* Runs reservation_book with a fresh code, again while the code is taken.
 * Returns the outcome in outcome and the reservation JSON (or NULL). */
static int book(struct tool_ctx *ctx, const struct booking_request *req,
		const char *starts_epoch, char *outcome, size_t outcome_len,
		json_t **reservation)
{
	char code[TOOL_CODE_LEN + 1], party[16], now[32];
	const char *params[8] = {code, req->name, req->phone, party, starts_epoch,
				 req->notes, req->idempotency_key, now};

	snprintf(party, sizeof(party), "%d", req->party);
	snprintf(now, sizeof(now), "%lld", (long long)ctx->now);
	*reservation = NULL;
	for (int attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
		PGresult *res;

		if (tool_generate_code(code, sizeof(code)) < 0) {
			log_error("code_failed", "getrandom() failed: %m");
			return -1;
		}
		res = tool_query(ctx->pg, "create_reservation", book_sql, 8, params);
		if (!res)
			return -1;
		if (PQntuples(res) != 1) {
			log_error("tool_bad_result", "reservation_book returned %d rows, expected 1",
				  PQntuples(res));
			PQclear(res);
			return -1;
		}
		snprintf(outcome, outcome_len, "%s", PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			*reservation = tool_json_cell(res, 0, 1, "create_reservation");
		PQclear(res);
		if (strcmp(outcome, "code_taken") != 0)
			return 0;
		log_warn("code_collision", "reservation code collision, attempt %d", attempt + 1);
	}
	return -1;
}

/* Books and turns reservation_book's outcome into the tool's result. */
static json_t *book_result(struct tool_ctx *ctx, const struct booking_request *req,
			   const struct booking_check *check, int *status)
{
	char outcome[32];
	json_t *reservation;

	if (book(ctx, req, check->starts_epoch, outcome, sizeof(outcome), &reservation) < 0)
		return tool_db_error(status, "create_reservation");

	if (strcmp(outcome, "created") == 0 || strcmp(outcome, "replay") == 0) {
		if (!reservation)
			return tool_db_error(status, "create_reservation");
		if (strcmp(outcome, "replay") == 0)
			json_object_set_new(reservation, "idempotent_replay", json_true());
		*status = 201;
		return reservation;
	}
	json_decref(reservation);
	if (strcmp(outcome, "key_reused") == 0)
		return tool_error(status, 409, "idempotency_key_reused",
				  "idempotency_key was already used for a different booking "
				  "request. Use a new key for a new request");
	return add_nearest(ctx,
			   tool_error(status, 409, "slot_full",
				      "no table for %d is free at %s on %s", req->party,
				      check->local_time, check->slot_date),
			   check->slot_date, req->party, NULL, check->starts_wall, status);
}

static json_t *create(struct tool_ctx *ctx, const struct booking_request *req, int *status)
{
	struct booking_check check;
	struct tool_rules rules;
	json_t *error;

	if (tool_rules_load(ctx, &rules) < 0 || check_start(ctx, req, &check) < 0)
		return tool_db_error(status, "create_reservation");
	if (check.nonexistent)
		return add_nearest(ctx,
				   tool_rules_error(status, "nonexistent_time",
						    "%s on %s does not exist in %s because "
						    "the clocks go forward that night",
						    req->time, req->date, rules.timezone),
				   req->date, req->party, req->time, 0, status);

	/* A replay returns the first result even if the rules would now
	 * reject the time, for example because it is too soon. */
	if (req->idempotency_key) {
		error = find_replay(ctx, req, check.starts_epoch, status);
		if (error)
			return error;
	}
	error = check_rules(ctx, req, &check, &rules, status);
	if (error)
		return error;
	return book_result(ctx, req, &check, status);
}

json_t *tool_create_reservation(struct tool_ctx *ctx, json_t *args, int *status)
{
	struct booking_request req;
	json_t *result;

	memset(&req, 0, sizeof(req));
	result = parse_request(args, &req, status);
	if (!result)
		result = create(ctx, &req, status);
	request_free(&req);
	return result;
}
