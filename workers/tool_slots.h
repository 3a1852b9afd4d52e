#ifndef MAITRED_TOOL_SLOTS_H
#define MAITRED_TOOL_SLOTS_H

/*
 * The booking rules and the slots of a day, which check_availability and
 * create_reservation share. The slots themselves come from PostgreSQL
 * (booking_day in sql/003_booking.sql), which does the time zone arithmetic.
 */
#include <stdbool.h>

#include <jansson.h>

#include "workers/tools.h"

/* The restaurant's rules, and the dates they give at the tool's clock. */
struct tool_rules {
	char timezone[64];
	char phone[40];
	char today[11];          /* local date at ctx->now, YYYY-MM-DD */
	char last_date[11];      /* the last date that may be booked */
	int min_party;
	int max_party;
	int max_days_ahead;
	int min_notice_minutes;
	int slot_step_minutes;
	int last_seating_minutes;
};

struct tool_slot {
	char starts_at[32];      /* ISO 8601 local time with offset */
	char time[6];            /* local HH:MM */
	long long wall;          /* local wall-clock time, in seconds since
	                          * 1970-01-01 00:00 local */
	bool available;
};

struct tool_slot_day {
	struct tool_slot *slots;
	int count;
	bool has_target;
	long long target;        /* the local time asked for, as wall seconds */
};

/* Reads the rules at ctx->now into rules. Returns 0, or -1 after logging a
 * database failure. */
int tool_rules_load(struct tool_ctx *ctx, struct tool_rules *rules);

/* Returns NULL when party fits the rules, else a new 400
 * "outside_booking_rules" error (reason "party_size") with *status set. */
json_t *tool_rules_check_party(const struct tool_rules *rules, long long party, int *status);

/* Returns a new 400 "outside_booking_rules" error with status set, a
 * "reason" field and an empty "nearest_slots" array. */
json_t *tool_rules_error(int *status, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Loads the slots of local date (YYYY-MM-DD) for a party at ctx->now into
 * day, which the caller frees with tool_slots_free. When local_time
 * ("HH:MM") is not NULL, day->target is that time on date. Returns 0, or -1
 * after logging a database failure. */
int tool_slots_load(struct tool_ctx *ctx, const char *date, int party,
		    const char *local_time, struct tool_slot_day *day);

void tool_slots_free(struct tool_slot_day *day);

/* Returns a new array with the starts_at of up to max available slots
 * nearest to target, nearest first (the earlier on a tie). Distances are
 * in wall-clock time, as guests think of them, so for a time skipped when
 * the clocks go forward the slots either side of the gap come first. */
json_t *tool_slots_nearest(const struct tool_slot_day *day, long long target, int max);

#endif
