#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/offline.h"
#include "workers/offline_turn.h"
#include "workers/router.h"

static offline_tool_fn tool_runner = tool_run;

static const char apology[] =
	"Sorry, something went wrong on our side. Please try again in a moment.";

void offline_set_tool_runner(offline_tool_fn fn)
{
	tool_runner = fn ? fn : tool_run;
}

const char *offline_state_str(const json_t *state, const char *key)
{
	return json_string_value(json_object_get(state, key));
}

json_t *offline_call(struct offline_turn *turn, const char *tool, json_t *args, int *status)
{
	json_t *result;

	*status = 503;
	result = args ? tool_runner(turn->ctx, tool, args, status) : NULL;
	json_decref(args);
	if (!result) {
		*status = 503;
		result = json_object();
	}

	bool ok = *status >= 200 && *status < 300;
	json_t *entry = json_pack("{s:s,s:b}", "name", tool, "ok", ok);
	if (entry)
		json_array_append_new(turn->out->tools, entry);
	if (!ok)
		log_info("offline_tool_failed", "tool %s returned status %d", tool, *status);
	return result;
}

void offline_say(struct offline_turn *turn, const char *fmt, ...)
{
	va_list ap;
	int need;

	if (turn->failed)
		return;
	va_start(ap, fmt);
	need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0)
		return;

	if (turn->len + (size_t)need + 1 > turn->cap) {
		size_t cap = (turn->cap ? turn->cap * 2 : 256) + (size_t)need;
		char *text = realloc(turn->text, cap);
		if (!text) {
			turn->failed = true;
			return;
		}
		turn->text = text;
		turn->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(turn->text + turn->len, turn->cap - turn->len, fmt, ap);
	va_end(ap);
	turn->len += (size_t)need;
}

static const char capabilities[] =
	"I can answer questions about our menu (dishes, prices, vegan, vegetarian, "
	"gluten-free and other diets, allergens), tell you our opening hours, and book, "
	"find or cancel a table.";

void offline_say_general(struct offline_turn *turn)
{
	unsigned intents = turn->nlu.intents;

	if (intents & NLU_INTENT_ELSEWHERE) {
		offline_say(turn, "I'm this restaurant's assistant, so I can't help with other "
			    "places, films, rides, events or the weather. %s", capabilities);
	} else if (intents & NLU_INTENT_THANKS) {
		offline_say(turn, "You're welcome! Is there anything else I can do for you?");
	} else if (intents & NLU_INTENT_GOODBYE) {
		offline_say(turn, "Thank you, have a lovely day! We look forward to seeing you.");
	} else if (intents & NLU_INTENT_GREETING) {
		offline_say(turn, "Hello! %s How can I help?", capabilities);
	} else {
		offline_say(turn, "I'm the restaurant's offline assistant, so I understand a "
			    "limited set of questions. %s", capabilities);
	}
}

static int finish_turn(struct offline_turn *turn, int rc)
{
	struct offline_reply *out = turn->out;

	if (turn->failed || !turn->text || turn->len == 0) {
		free(turn->text);
		turn->text = strdup(turn->failed ? apology : capabilities);
		if (turn->failed)
			rc = -1;
	}
	out->text = turn->text;
	if (!out->text) {
		log_error("offline_reply_failed", "strdup() failed while writing a reply");
		return -1;
	}
	return rc;
}

int offline_turn(struct tool_ctx *ctx, enum agent_kind agent, json_t *state,
		 const char *message, struct offline_reply *out)
{
	struct offline_turn turn = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	out->tools = json_array();
	if (!out->tools || !json_is_object(state) || !message) {
		out->text = strdup(apology);
		log_error("offline_turn_invalid", "offline_turn needs a state object and a message");
		return -1;
	}

	turn.ctx = ctx;
	turn.state = state;
	turn.message = message;
	turn.out = out;
	nlu_read(message, ctx->now, &turn.nlu);

	if (agent == AGENT_BOOKING)
		rc = offline_booking_turn(&turn);
	else
		rc = offline_food_turn(&turn);
	json_object_set_new(state, "agent", json_string(agent_name(agent)));

	if (rc < 0 && turn.len == 0)
		offline_say(&turn, "%s", apology);
	return finish_turn(&turn, rc);
}

void offline_reply_free(struct offline_reply *reply)
{
	if (!reply)
		return;
	free(reply->text);
	json_decref(reply->reservation);
	json_decref(reply->tools);
	memset(reply, 0, sizeof(*reply));
}
