/*
 * Replays recorded booking conversations through the router and the
 * offline agent, in process, with stand-in tools (every slot free, every
 * booking accepted), and prints how often the booking draft holds the party
 * size, date and time the guest said.
 *
 * Usage: score FILE.jsonl [--failures]
 * Each line: {"user_turns": [...], "booking_turns": N, "now": ISO 8601,
 * "expect": {"party_size", "date", "time"}, "expect_date_also": [...],
 * "gold_source": {"party_size": "said"|"carried"|"agreed", ...}, "dialogue_id"}.
 *
 * Two figures: "draft" checks the draft after the booking turns, for the
 * details the guest said; "booked" then answers the agent's questions the
 * way an end-to-end test does (any detail still missing, a name and a
 * phone) and checks the reservation it creates against all three details.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "server/log.h"
#include "workers/offline.h"
#include "workers/router.h"

#define FILL_TURNS_MAX 8

static const char *const details[] = { "party_size", "date", "time" };

struct score {
	int said[3], right[3];
	int conversations, all_said_right;
	int booked, booked_right;
};

/* Stand-in tools: every slot free, every booking accepted. */
static json_t *fake_tool(struct tool_ctx *ctx, const char *name, json_t *args, int *status)
{
	(void)ctx;
	*status = 200;
	if (strcmp(name, "check_availability") == 0) {
		json_t *slots = json_array();
		const char *date = json_string_value(json_object_get(args, "date"));
		for (int minute = 10 * 60; minute < 23 * 60; minute += 15) {
			char starts_at[40];
			snprintf(starts_at, sizeof(starts_at), "%sT%02d:%02d:00+01:00", date ? date : "",
				 minute / 60, minute % 60);
			json_array_append_new(slots, json_pack("{s:s,s:b}", "starts_at", starts_at,
							       "available", 1));
		}
		return json_pack("{s:O?,s:O?,s:o}", "date", json_object_get(args, "date"),
				 "party_size", json_object_get(args, "party_size"), "slots", slots);
	}
	if (strcmp(name, "create_reservation") == 0) {
		char starts_at[40];
		snprintf(starts_at, sizeof(starts_at), "%sT%s:00+01:00",
			 json_string_value(json_object_get(args, "date")),
			 json_string_value(json_object_get(args, "time")));
		*status = 201;
		return json_pack("{s:s,s:O,s:O,s:O,s:s,s:s}", "code", "TEST23456", "name",
				 json_object_get(args, "name"), "phone", json_object_get(args, "phone"),
				 "party_size", json_object_get(args, "party_size"), "starts_at",
				 starts_at, "status", "confirmed");
	}
	if (strcmp(name, "search_menu") == 0)
		return json_pack("{s:[]}", "items");
	*status = 404;
	return json_pack("{s:{s:s,s:s}}", "error", "code", "unknown_tool", "message", name);
}

static time_t parse_now(const char *text)
{
	struct tm tm = { 0 };
	int offset_h = 0, offset_m = 0;
	char sign = '+';

	if (!text || sscanf(text, "%d-%d-%dT%d:%d:%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &sign, &offset_h, &offset_m) != 9)
		return time(NULL);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t utc = timegm(&tm);
	int offset = (offset_h * 60 + offset_m) * 60;
	return sign == '-' ? utc + offset : utc - offset;
}

static void say(struct tool_ctx *ctx, json_t *state, const char *message, json_t **booked)
{
	struct offline_reply reply;
	enum agent_kind agent = router_pick(message, state);

	offline_turn(ctx, agent, state, message, &reply);
	if (getenv("SCORE_TRACE"))
		printf("  guest> %s\n  %s> %s\n", message, agent_name(agent), reply.text);
	if (reply.reservation && !*booked)
		*booked = json_incref(reply.reservation);
	offline_reply_free(&reply);
}

static bool date_matches(const json_t *row, const char *date)
{
	size_t index;
	json_t *also;

	if (!date)
		return false;
	if (strcmp(date, json_string_value(json_object_get(json_object_get(row, "expect"), "date")) ?
		   json_string_value(json_object_get(json_object_get(row, "expect"), "date")) : "") == 0)
		return true;
	json_array_foreach(json_object_get(row, "expect_date_also"), index, also) {
		if (json_string_value(also) && strcmp(date, json_string_value(also)) == 0)
			return true;
	}
	return false;
}

/* Returns whether the draft (or the reservation) contains the expected detail. */
static bool detail_right(const json_t *row, const json_t *holder, int k)
{
	const json_t *expect = json_object_get(row, "expect");

	if (k == 0)
		return json_integer_value(json_object_get(holder, "party_size")) ==
		       json_integer_value(json_object_get(expect, "party_size"));
	const char *value = json_string_value(json_object_get(holder, details[k]));
	if (k == 1)
		return date_matches(row, value);
	const char *want = json_string_value(json_object_get(expect, "time"));
	return value && want && strcmp(value, want) == 0;
}

/* Answers the agent's last question the way an end-to-end test would. */
static void answer_question(struct tool_ctx *ctx, json_t *state, const json_t *row,
			    json_t **booked)
{
	const json_t *expect = json_object_get(row, "expect");
	const char *asked = json_string_value(json_object_get(state, "asked"));
	char message[96];

	if (!asked)
		snprintf(message, sizeof(message), "I'd like to book a table");
	else if (strcmp(asked, "party_size") == 0)
		snprintf(message, sizeof(message), "%d people",
			 (int)json_integer_value(json_object_get(expect, "party_size")));
	else if (strcmp(asked, "date") == 0)
		snprintf(message, sizeof(message), "on %s",
			 json_string_value(json_object_get(expect, "date")));
	else if (strcmp(asked, "time") == 0)
		snprintf(message, sizeof(message), "at %s",
			 json_string_value(json_object_get(expect, "time")));
	else if (strcmp(asked, "name") == 0)
		snprintf(message, sizeof(message), "Ann Smith");
	else
		snprintf(message, sizeof(message), "+33 6 12 34 56 78");
	say(ctx, state, message, booked);
}

static void score_row(const json_t *row, struct score *s, bool show_failures)
{
	struct tool_ctx ctx = { .pg = NULL, .now = parse_now(json_string_value(json_object_get(row, "now"))) };
	json_t *state = json_object();
	json_t *booked = NULL;
	const json_t *turns = json_object_get(row, "user_turns");
	size_t limit = (size_t)json_integer_value(json_object_get(row, "booking_turns"));
	const json_t *sources = json_object_get(row, "gold_source");

	const char *trace = getenv("SCORE_TRACE");
	const char *id = json_string_value(json_object_get(row, "dialogue_id"));
	if (trace && (!id || strcmp(trace, id) != 0)) {
		json_decref(state);
		return;
	}
	for (size_t i = 0; i < limit && i < json_array_size(turns); i++)
		say(&ctx, state, json_string_value(json_array_get(turns, i)), &booked);

	const json_t *draft = json_object_get(state, "booking");
	bool all_right = true;
	for (int k = 0; k < 3; k++) {
		const char *source = json_string_value(json_object_get(sources, details[k]));
		if (!source || strcmp(source, "said") != 0)
			continue;
		s->said[k]++;
		if (detail_right(row, draft, k)) {
			s->right[k]++;
		} else {
			all_right = false;
			if (show_failures) {
				char *got = json_dumps(draft, JSON_COMPACT);
				printf("FAIL %s %s: draft %s\n", json_string_value(json_object_get(row, "dialogue_id")),
				       details[k], got ? got : "?");
				free(got);
			}
		}
	}
	s->conversations++;
	s->all_said_right += all_right;

	for (int i = 0; i < FILL_TURNS_MAX && !booked; i++)
		answer_question(&ctx, state, row, &booked);
	if (booked) {
		json_t *made = json_pack("{s:O?,s:s%,s:s%}", "party_size",
					 json_object_get(booked, "party_size"), "date",
					 json_string_value(json_object_get(booked, "starts_at")), (size_t)10,
					 "time", json_string_value(json_object_get(booked, "starts_at")) + 11,
					 (size_t)5);
		bool right = made && detail_right(row, made, 0) && detail_right(row, made, 1) &&
			     detail_right(row, made, 2);
		s->booked++;
		s->booked_right += right;
		if (!right && show_failures) {
			char *got = json_dumps(made, JSON_COMPACT);
			printf("FAIL %s booked: %s\n",
			       json_string_value(json_object_get(row, "dialogue_id")), got ? got : "?");
			free(got);
		}
		json_decref(made);
	} else if (show_failures) {
		printf("FAIL %s booked: nothing, last asked %s\n",
		       json_string_value(json_object_get(row, "dialogue_id")),
		       json_string_value(json_object_get(state, "asked")));
	}
	json_decref(booked);
	json_decref(state);
}

static double percent(int part, int whole)
{
	return whole ? 100.0 * part / whole : 0;
}

int main(int argc, char **argv)
{
	struct score s = { 0 };
	bool show_failures = argc > 2 && strcmp(argv[2], "--failures") == 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE.jsonl [--failures]\n", argv[0]);
		return 2;
	}
	FILE *file = fopen(argv[1], "r");
	if (!file) {
		perror(argv[1]);
		return 2;
	}
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	log_setup("score", false, LOG_WARN);
	offline_set_tool_runner(fake_tool);

	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, file) > 0) {
		json_error_t error;
		json_t *row = json_loads(line, 0, &error);
		if (!row) {
			fprintf(stderr, "%s:%d: invalid JSON: %s\n", argv[1], error.line, error.text);
			continue;
		}
		score_row(row, &s, show_failures);
		json_decref(row);
	}
	free(line);
	fclose(file);

	for (int k = 0; k < 3; k++)
		printf("%-10s %4d / %4d said right  %6.2f %%\n", details[k], s.right[k], s.said[k],
		       percent(s.right[k], s.said[k]));
	printf("all said   %4d / %4d conversations %6.2f %%\n", s.all_said_right, s.conversations,
	       percent(s.all_said_right, s.conversations));
	printf("booked     %4d / %4d all three right %6.2f %% (%d booked)\n", s.booked_right,
	       s.conversations, percent(s.booked_right, s.conversations), s.booked);
	return 0;
}
