#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/load/load_turn.h"

#define ERROR_CODE_MAX 40

static void set_error(struct load_turn *turn, const char *kind)
{
	if (turn->error[0] == '\0')
		snprintf(turn->error, sizeof(turn->error), "%s", kind);
}

static bool is_session_id(const char *text, size_t len)
{
	if (len < 8 || len > LOAD_SESSION_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Returns the string member name of the JSON object, or NULL. */
static const char *get_string(json_t *object, const char *name, size_t *len)
{
	json_t *value = json_object_get(object, name);

	if (!json_is_string(value))
		return NULL;
	if (len)
		*len = json_string_length(value);
	return json_string_value(value);
}

static void handle_meta(struct load_turn *turn, json_t *data)
{
	size_t len = 0;
	const char *session_id = get_string(data, "session_id", &len);

	turn->events.meta++;
	if (!session_id || !is_session_id(session_id, len)) {
		set_error(turn, "bad_event");
		return;
	}
	memcpy(turn->session_id, session_id, len);
	turn->session_id[len] = '\0';
}

static int append_reply(struct load_turn *turn, const char *text, size_t len)
{
	size_t need = turn->reply_len + len + 1;

	if (need > LOAD_TURN_MAX_BYTES)
		return -1;
	if (need > turn->reply_cap) {
		size_t cap = turn->reply_cap ? turn->reply_cap : 1024;

		while (cap < need)
			cap *= 2;

		char *grown = realloc(turn->reply, cap);

		if (!grown)
			return -1;
		turn->reply = grown;
		turn->reply_cap = cap;
	}
	memcpy(turn->reply + turn->reply_len, text, len);
	turn->reply_len += len;
	turn->reply[turn->reply_len] = '\0';
	return 0;
}

static void handle_delta(struct load_turn *turn, json_t *data)
{
	size_t len = 0;
	const char *text = get_string(data, "text", &len);

	turn->events.delta++;
	if (turn->first_delta_ms < 0)
		turn->first_delta_ms = turn->now_ms - turn->start_ms;
	if (!text) {
		set_error(turn, "bad_event");
		return;
	}
	if (append_reply(turn, text, len) != 0)
		set_error(turn, "bad_stream");
}

static void handle_done(struct load_turn *turn, json_t *data)
{
	size_t len = 0;
	const char *reply = get_string(data, "reply", &len);

	turn->events.done++;
	turn->got_done = true;
	if (!reply) {
		set_error(turn, "bad_event");
		return;
	}
	if (len != turn->reply_len || memcmp(reply, turn->reply ? turn->reply : "", len) != 0)
		set_error(turn, "reply_mismatch");
}

/* Names the error after the code the server gave, keeping only characters
 * that are safe in a report key. */
static void handle_error(struct load_turn *turn, json_t *data)
{
	json_t *error = json_object_get(data, "error");
	const char *code = get_string(error, "code", NULL);
	char kind[LOAD_COUNT_NAME_MAX] = "sse_error:";
	size_t used = strlen(kind);

	turn->events.error++;
	turn->got_error = true;
	if (!code || !*code)
		code = "unknown";
	for (size_t i = 0; code[i] && i < ERROR_CODE_MAX; i++) {
		char c = code[i];
		bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';

		kind[used++] = safe ? c : '_';
	}
	kind[used] = '\0';
	set_error(turn, kind);
}

static void on_event(void *context, const char *type, const char *data, size_t data_len)
{
	struct load_turn *turn = context;

	if (strcmp(type, "queued") == 0) {
		turn->events.queued++;
		return;
	}
	if (strcmp(type, "status") == 0) {
		turn->events.status++;
		return;
	}
	if (strcmp(type, "tool") == 0) {
		turn->events.tool++;
		return;
	}

	void (*handle)(struct load_turn *, json_t *) = NULL;

	if (strcmp(type, "meta") == 0)
		handle = handle_meta;
	else if (strcmp(type, "delta") == 0)
		handle = handle_delta;
	else if (strcmp(type, "done") == 0)
		handle = handle_done;
	else if (strcmp(type, "error") == 0)
		handle = handle_error;

	/* The HTTP contract lets servers add event types, which clients ignore. */
	if (!handle) {
		turn->events.other++;
		return;
	}

	json_t *json = json_loadb(data, data_len, 0, NULL);

	if (!json_is_object(json)) {
		/* The event still counts, with its data reported as bad. */
		json_decref(json);
		json = json_object();
		set_error(turn, "bad_event");
	}
	handle(turn, json);
	json_decref(json);
}

static void on_comment(void *context, const char *text)
{
	struct load_turn *turn = context;

	(void)text;
	turn->events.comments++;
}

void load_turn_init(struct load_turn *turn)
{
	memset(turn, 0, sizeof(*turn));
	load_sse_init(&turn->sse, LOAD_TURN_MAX_BYTES, on_event, on_comment, turn);
	turn->first_delta_ms = -1;
}

void load_turn_free(struct load_turn *turn)
{
	load_sse_free(&turn->sse);
	free(turn->reply);
	turn->reply = NULL;
	turn->reply_cap = turn->reply_len = 0;
}

void load_turn_begin(struct load_turn *turn, double now_ms)
{
	turn->start_ms = now_ms;
	turn->first_delta_ms = -1;
	turn->total_ms = 0;
	turn->status = 0;
	turn->response_seen = false;
	turn->streaming = false;
	turn->got_done = false;
	turn->got_error = false;
	turn->bytes = 0;
	turn->error[0] = '\0';
	turn->session_id[0] = '\0';
	memset(&turn->events, 0, sizeof(turn->events));
	turn->reply_len = 0;
	load_sse_reset(&turn->sse);
}

void load_turn_set_response(struct load_turn *turn, long status, const char *content_type)
{
	if (turn->response_seen)
		return;
	turn->response_seen = true;
	turn->status = status;
	turn->streaming = status == 200 && content_type &&
			  strncasecmp(content_type, "text/event-stream", 17) == 0;
}

int load_turn_feed(struct load_turn *turn, const char *bytes, size_t len, double now_ms)
{
	turn->bytes += len;
	if (!turn->streaming)
		return 0;

	turn->now_ms = now_ms;
	if (load_sse_feed(&turn->sse, bytes, len) != 0) {
		set_error(turn, "bad_stream");
		return -1;
	}
	if (strcmp(turn->error, "bad_stream") == 0)
		return -1;
	return 0;
}

static void classify_status(struct load_turn *turn)
{
	if (turn->status == 429)
		set_error(turn, "http_429");
	else if (turn->status == 503)
		set_error(turn, "http_503");
	else
		set_error(turn, "http_other");
}

bool load_turn_finish(struct load_turn *turn, enum load_transport transport, double now_ms)
{
	turn->total_ms = now_ms - turn->start_ms;

	switch (transport) {
	case LOAD_TRANSPORT_CONNECT:
		set_error(turn, "connect");
		break;
	case LOAD_TRANSPORT_TIMEOUT:
		set_error(turn, "timeout");
		break;
	case LOAD_TRANSPORT_DEADLINE:
		set_error(turn, "deadline");
		break;
	case LOAD_TRANSPORT_OK:
	case LOAD_TRANSPORT_FAILED:
		break;
	}

	if (turn->status != 0 && turn->status != 200)
		classify_status(turn);
	else if (turn->status == 200 && !turn->streaming)
		set_error(turn, "not_sse");
	else if (!turn->got_done && !turn->got_error)
		set_error(turn, "cut");
	return turn->error[0] == '\0';
}

void load_events_add(struct load_events *into, const struct load_events *from)
{
	into->meta += from->meta;
	into->queued += from->queued;
	into->status += from->status;
	into->tool += from->tool;
	into->delta += from->delta;
	into->done += from->done;
	into->error += from->error;
	into->other += from->other;
	into->comments += from->comments;
}
