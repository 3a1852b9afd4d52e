#ifndef MAITRED_NLU_READERS_H
#define MAITRED_NLU_READERS_H

/*
 * The readers behind nlu_read(), one per kind of detail. Internal to the
 * NLU. Each reader scans the unused tokens, marks the tokens it reads as
 * used (so a later reader does not read "7" of "7pm" as a party size) and
 * keeps the last mention that is not negated ("5 people, not 6").
 */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "workers/nlu.h"
#include "workers/nlu_token.h"

/* Finds a time of day; writes "HH:MM" to out and returns true, or returns
 * false. */
bool nlu_take_time(struct nlu_tokens *t, char out[NLU_TIME_SIZE]);

/* Finds a clock time that does not exist, such as "25:61", and marks its
 * tokens used so no other reader takes its numbers. Returns true when found. */
bool nlu_take_invalid_clock(struct nlu_tokens *t);

/* Finds a date relative to today (local midnight of now); fills out->date,
 * out->date_vague and out->date_past. */
void nlu_take_date(struct nlu_tokens *t, const struct tm *today, struct nlu_result *out);

/* Finds a party size; returns 1..NLU_PARTY_MAX, or 0. */
int nlu_take_party(struct nlu_tokens *t);

/* Finds a phone number in message (8 to 15 digits, an optional leading '+',
 * spaces, dots, dashes and brackets between groups), writes it as '+' and
 * digits or digits only, and marks its tokens used. Returns true when found. */
bool nlu_take_phone(const char *message, struct nlu_tokens *t, char *phone, size_t size);

/* Finds a reservation code (NLU_CODE_LENGTH characters of NLU_CODE_ALPHABET,
 * any case, groups joined by '-' or spaces), writes it upper-case and marks
 * its tokens used. Returns true when found. */
bool nlu_take_code(const char *message, struct nlu_tokens *t, char code[NLU_CODE_SIZE]);

/* Finds a name introduced as such ("my name is Ann Smith", "I'm Ann",
 * "under the name Smith", or "Ann Smith" right before a phone number).
 * Returns true when found. */
bool nlu_take_name(const char *message, struct nlu_tokens *t, char *name, size_t size);

#endif
