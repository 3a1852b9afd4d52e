#ifndef MAITRED_PROMPTS_H
#define MAITRED_PROMPTS_H

#include "workers/tools.h"

/* Loads the agents' system prompts and model settings from dir (files
 * food.txt and booking.txt; a first line "temperature=0.3 max_tokens=600"
 * is optional) and the router's extra rules (router.txt, optional: lines
 * "booking: word, word" or "food: word, word"; # starts a comment), or the
 * built-in prompts when dir is empty. Returns 0, or -1 with the reason in
 * err and the previous prompts kept. */
int prompts_load(const char *dir, char *err, size_t errlen);

/* Returns a new string: the agent's system prompt with {restaurant},
 * {timezone}, {today} and {now} filled in. The caller frees it. */
char *prompts_system(enum agent_kind agent, const char *restaurant, const char *timezone);

/* Returns 1 and sets *agent when a router.txt word appears in the message
 * as a whole word (any case); returns 0 when none does. */
int prompts_route(const char *message, enum agent_kind *agent);

double prompts_temperature(enum agent_kind agent);
int prompts_max_tokens(enum agent_kind agent);

#endif
