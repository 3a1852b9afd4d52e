#ifndef MAITRED_ROUTER_H
#define MAITRED_ROUTER_H

#include <jansson.h>

#include "workers/tools.h"   /* enum agent_kind { AGENT_FOOD, AGENT_BOOKING } */

/* Picks the agent for a turn from the message and the session's state (NULL
 * for a new session): booking words (table, book, reserve, reservation,
 * party/people counts with a date or time, cancel, my booking code...) go to
 * booking, menu words to food; a short follow-up ("yes", "8pm", "Ann Smith",
 * a phone number) stays with the agent the session used last
 * (state field "agent"). A new session with nothing to go on gets food. */
enum agent_kind router_pick(const char *message, const json_t *state);

/* Returns "food" or "booking": the agent's name in the state, the API's
 * "agent" fields and the logs. */
const char *agent_name(enum agent_kind agent);

#endif
