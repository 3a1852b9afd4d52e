#ifndef MAITRED_PROMPTS_H
#define MAITRED_PROMPTS_H

#include "workers/tools.h"

/* Loads the agents' system prompts and model settings from dir (files
 * food.txt and booking.txt; a first line "temperature=0.3 max_tokens=600"
 * is optional), or the built-in ones when dir is empty. Returns 0, or -1
 * with the reason in err and the previous prompts kept. */
int prompts_load(const char *dir, char *err, size_t errlen);

/* Returns a new string: the agent's system prompt with {restaurant},
 * {timezone}, {today} and {now} filled in. The caller frees it. */
char *prompts_system(enum agent_kind agent, const char *restaurant, const char *timezone);

double prompts_temperature(enum agent_kind agent);
int prompts_max_tokens(enum agent_kind agent);

#endif
