#include <string.h>
#include <time.h>

#include "workers/nlu.h"
#include "workers/prompts.h"
#include "workers/router.h"

/* Messages of at most this many words that carry no intent of their own
 * are follow-ups to the previous turn ("yes", "8pm", "Ann Smith"). */
#define FOLLOW_UP_WORDS 6

const char *agent_name(enum agent_kind agent)
{
	return agent == AGENT_BOOKING ? "booking" : "food";
}

static int count_words(const char *message)
{
	int words = 0;
	bool in_word = false;

	for (const char *p = message; *p; p++) {
		bool space = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
		if (!space && !in_word)
			words++;
		in_word = !space;
	}
	return words;
}

/* Returns true when the session has a booking draft or a find/cancel in
 * progress, so booking details in any message continue it. */
static bool booking_in_progress(const json_t *state)
{
	const json_t *draft = json_object_get(state, "booking");

	return (json_is_object(draft) && json_object_size(draft) > 0) ||
	       json_is_string(json_object_get(state, "task"));
}

static bool has_booking_detail(const struct nlu_result *r)
{
	return r->party_size || r->date[0] || r->time[0] || r->phone[0] || r->name[0];
}

static bool answers_pending_question(const char *message, const struct nlu_result *r,
				     const json_t *state)
{
	const char *asked = json_string_value(json_object_get(state, "asked"));
	char name[NLU_NAME_SIZE];

	if (!asked)
		return false;
	if (has_booking_detail(r) || r->number >= 0 || r->answer != NLU_ANSWER_NONE || r->code[0])
		return true;
	return strcmp(asked, "name") == 0 && message &&
	       nlu_read_bare_name(message, name, sizeof(name));
}

enum agent_kind router_pick(const char *message, const json_t *state)
{
	struct nlu_result r;
	const char *last = json_string_value(json_object_get(state, "agent"));
	bool has_last = last != NULL;
	enum agent_kind last_agent = last && strcmp(last, "booking") == 0 ? AGENT_BOOKING
									  : AGENT_FOOD;

	/* The restaurant's own words (PROMPTS_DIR/router.txt) come first. */
	enum agent_kind chosen;
	if (message && prompts_route(message, &chosen))
		return chosen;
	nlu_read(message ? message : "", time(NULL), &r);

	if (r.intents & (NLU_INTENT_CANCEL | NLU_INTENT_FIND) || r.code[0])
		return AGENT_BOOKING;
	if (r.intents & NLU_INTENT_BOOK)
		return AGENT_BOOKING;
	if (r.party_size && (r.date[0] || r.time[0]))
		return AGENT_BOOKING;
	/* "Are you open on Sunday at 8?" asks about hours, not for a table. */
	if ((r.party_size || r.date[0] || r.time[0]) && !(r.intents & NLU_INTENT_HOURS))
		return AGENT_BOOKING;
	if (r.intents & (NLU_INTENT_MENU | NLU_INTENT_HOURS | NLU_INTENT_ELSEWHERE))
		return AGENT_FOOD;
	/* The booking agent asked for a detail ("What name should I put the
	 * booking under?"): the answer goes back to it even after a menu
	 * question in between. */
	if (answers_pending_question(message, &r, state))
		return AGENT_BOOKING;
	if (has_booking_detail(&r) && (booking_in_progress(state) || last_agent == AGENT_BOOKING))
		return AGENT_BOOKING;
	if (has_last && (has_booking_detail(&r) || r.answer != NLU_ANSWER_NONE || r.number >= 0 ||
			 count_words(message ? message : "") <= FOLLOW_UP_WORDS))
		return last_agent;
	return has_last ? last_agent : AGENT_FOOD;
}
