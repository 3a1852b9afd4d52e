#include <stdlib.h>

#include "tests/load/load_turn.h"
#include "tests/unit/test.h"

static const char meta[] = "event: meta\ndata: {\"session_id\":\"sess_12345\",\"agent\":\"food\"}\n\n";

/* Runs one turn that starts at 1000 ms, gets a 200 stream and body at
 * 1010 ms, and ends at 1020 ms. Returns whether it succeeded. */
static bool run_stream(struct load_turn *turn, const char *body)
{
	load_turn_init(turn);
	load_turn_begin(turn, 1000);
	load_turn_set_response(turn, 200, "text/event-stream; charset=utf-8");
	load_turn_feed(turn, body, strlen(body), 1010);
	return load_turn_finish(turn, LOAD_TRANSPORT_OK, 1020);
}

TEST(load_turn_success)
{
	struct load_turn turn;
	const char body[] =
		"event: meta\ndata: {\"session_id\":\"sess_12345\",\"agent\":\"food\"}\n\n"
		"event: queued\ndata: {\"position\":2}\n\n"
		": keep-alive\n\n"
		"event: status\ndata: {\"text\":\"Checking\"}\n\n"
		"event: tool\ndata: {\"name\":\"search_menu\",\"ok\":true}\n\n"
		"event: delta\ndata: {\"text\":\"Yes, \\\"we\\\"\"}\n\n"
		"event: delta\ndata: {\"text\":\" do.\\n\"}\n\n"
		"event: later\ndata: {}\n\n"
		"event: done\ndata: {\"reply\":\"Yes, \\\"we\\\" do.\\n\",\"agent\":\"food\"}\n\n";

	CHECK(run_stream(&turn, body));
	CHECK_STR(turn.error, "");
	CHECK_STR(turn.session_id, "sess_12345");
	CHECK(turn.first_delta_ms == 10);
	CHECK(turn.total_ms == 20);
	CHECK_INT(turn.bytes, strlen(body));
	CHECK_INT(turn.events.meta, 1);
	CHECK_INT(turn.events.queued, 1);
	CHECK_INT(turn.events.status, 1);
	CHECK_INT(turn.events.tool, 1);
	CHECK_INT(turn.events.delta, 2);
	CHECK_INT(turn.events.done, 1);
	CHECK_INT(turn.events.other, 1);
	CHECK_INT(turn.events.comments, 1);
	load_turn_free(&turn);
}

TEST(load_turn_reply_mismatch)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: delta\ndata: {\"text\":\"Yes\"}\n\n"
		 "event: done\ndata: {\"reply\":\"Yes!\"}\n\n", meta);
	CHECK(!run_stream(&turn, body));
	CHECK_STR(turn.error, "reply_mismatch");
	load_turn_free(&turn);
}

TEST(load_turn_done_without_deltas)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: done\ndata: {\"reply\":\"\"}\n\n", meta);
	CHECK(run_stream(&turn, body));
	CHECK(turn.first_delta_ms < 0);
	load_turn_free(&turn);
}

TEST(load_turn_error_event_names_code)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body),
		 "%sevent: error\ndata: {\"error\":{\"code\":\"upstream timeout!\",\"message\":\"m\"}}\n\n",
		 meta);
	CHECK(!run_stream(&turn, body));
	CHECK_STR(turn.error, "sse_error:upstream_timeout_");
	CHECK_INT(turn.events.error, 1);
	load_turn_free(&turn);

	CHECK(!run_stream(&turn, "event: error\ndata: {}\n\n"));
	CHECK_STR(turn.error, "sse_error:unknown");
	load_turn_free(&turn);
}

TEST(load_turn_cut_without_done)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: delta\ndata: {\"text\":\"Yes\"}\n\n", meta);
	CHECK(!run_stream(&turn, body));
	CHECK_STR(turn.error, "cut");
	CHECK(turn.first_delta_ms == 10);
	load_turn_free(&turn);
}

TEST(load_turn_bad_event_data)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: delta\ndata: {\"text\":\n\n"
		 "event: done\ndata: {\"reply\":\"\"}\n\n", meta);
	CHECK(!run_stream(&turn, body));
	CHECK_STR(turn.error, "bad_event");
	CHECK_INT(turn.events.delta, 1);
	load_turn_free(&turn);

	CHECK(!run_stream(&turn, "event: meta\ndata: {\"session_id\":\"short\"}\n\n"
				 "event: done\ndata: {\"reply\":\"\"}\n\n"));
	CHECK_STR(turn.error, "bad_event");
	CHECK_STR(turn.session_id, "");
	load_turn_free(&turn);
}

TEST(load_turn_http_statuses)
{
	struct load_turn turn;
	const char body[] = "{\"error\":{\"code\":\"rate_limited\",\"message\":\"m\"}}";
	const long statuses[] = { 429, 503, 400, 500 };
	const char *kinds[] = { "http_429", "http_503", "http_other", "http_other" };

	for (int i = 0; i < 4; i++) {
		load_turn_init(&turn);
		load_turn_begin(&turn, 0);
		load_turn_set_response(&turn, statuses[i], "application/json");
		CHECK_INT(load_turn_feed(&turn, body, strlen(body), 1), 0);
		CHECK(!load_turn_finish(&turn, LOAD_TRANSPORT_OK, 2));
		CHECK_STR(turn.error, kinds[i]);
		CHECK_INT(turn.bytes, strlen(body));
		CHECK_INT(turn.events.meta, 0);
		load_turn_free(&turn);
	}
}

TEST(load_turn_not_sse)
{
	struct load_turn turn;

	load_turn_init(&turn);
	load_turn_begin(&turn, 0);
	load_turn_set_response(&turn, 200, "application/json");
	load_turn_set_response(&turn, 200, "text/event-stream");
	CHECK(!turn.streaming);
	CHECK(!load_turn_finish(&turn, LOAD_TRANSPORT_OK, 2));
	CHECK_STR(turn.error, "not_sse");
	load_turn_free(&turn);
}

TEST(load_turn_transport_kinds)
{
	struct load_turn turn;
	const enum load_transport transports[] = {
		LOAD_TRANSPORT_CONNECT, LOAD_TRANSPORT_TIMEOUT, LOAD_TRANSPORT_DEADLINE,
		LOAD_TRANSPORT_FAILED,
	};
	const char *kinds[] = { "connect", "timeout", "deadline", "cut" };

	for (int i = 0; i < 4; i++) {
		load_turn_init(&turn);
		load_turn_begin(&turn, 0);
		CHECK(!load_turn_finish(&turn, transports[i], 5));
		CHECK_STR(turn.error, kinds[i]);
		load_turn_free(&turn);
	}
}

TEST(load_turn_first_error_wins)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: delta\ndata: {\"text\":\"a\"}\n\n"
		 "event: done\ndata: {\"reply\":\"b\"}\n\n", meta);
	load_turn_init(&turn);
	load_turn_begin(&turn, 0);
	load_turn_set_response(&turn, 200, "text/event-stream");
	load_turn_feed(&turn, body, strlen(body), 1);
	CHECK(!load_turn_finish(&turn, LOAD_TRANSPORT_DEADLINE, 2));
	CHECK_STR(turn.error, "reply_mismatch");
	load_turn_free(&turn);
}

TEST(load_turn_oversized_line_aborts)
{
	struct load_turn turn;
	char *line = malloc(LOAD_TURN_MAX_BYTES + 16);

	memset(line, 'x', LOAD_TURN_MAX_BYTES + 16);
	load_turn_init(&turn);
	load_turn_begin(&turn, 0);
	load_turn_set_response(&turn, 200, "text/event-stream");
	CHECK_INT(load_turn_feed(&turn, "data: ", 6, 1), 0);
	CHECK_INT(load_turn_feed(&turn, line, LOAD_TURN_MAX_BYTES + 16, 1), -1);
	CHECK(!load_turn_finish(&turn, LOAD_TRANSPORT_FAILED, 2));
	CHECK_STR(turn.error, "bad_stream");
	load_turn_free(&turn);
	free(line);
}

TEST(load_turn_reuse_resets)
{
	struct load_turn turn;
	char body[512];

	snprintf(body, sizeof(body), "%sevent: delta\ndata: {\"text\":\"a\"}\n\n"
		 "event: done\ndata: {\"reply\":\"a\"}\n\n", meta);
	load_turn_init(&turn);
	for (int i = 0; i < 3; i++) {
		load_turn_begin(&turn, 0);
		load_turn_set_response(&turn, 200, "text/event-stream");
		/* Cut the body at a different offset each turn. */
		load_turn_feed(&turn, body, 40 + (size_t)i, 1);
		load_turn_feed(&turn, body + 40 + i, strlen(body) - 40 - (size_t)i, 1);
		CHECK(load_turn_finish(&turn, LOAD_TRANSPORT_OK, 2));
		CHECK_INT(turn.events.delta, 1);
		CHECK_INT(turn.reply_len, 1);
	}
	load_turn_free(&turn);
}
