#ifndef MAITRED_LOAD_SCENARIO_H
#define MAITRED_LOAD_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * The guests' messages. A scenario file is UTF-8 text: each non-blank line
 * is one message, a blank line ends a conversation, and a line whose first
 * non-blank character is '#' is a comment. Leading and trailing blanks are
 * trimmed. "{guest}" in a message becomes the guest's number (0-based), so
 * that concurrent bookings can carry distinct names.
 *
 * Each guest starts at a conversation picked from the seed and its number,
 * and its turn k sends the k-th message from there, going on into the next
 * conversations of the file and wrapping around at its end.
 */

/* The chat API takes 1 to 2000 characters a message. */
#define LOAD_MESSAGE_MAX_CHARS 2000
#define LOAD_SCENARIO_MAX_BYTES (16u << 20)

struct load_scenario {
	char **messages;       /* every message, in file order */
	size_t message_count;
	size_t *conversation_first; /* index in messages of each conversation's first */
	size_t conversation_count;
};

/* Parses a scenario from text of len bytes; name labels error messages
 * (usually the file path). Returns 0, or -1 with a message naming the line,
 * the problem and the fix in err. On success free with load_scenario_free. */
int load_scenario_parse(struct load_scenario *scenario, const char *name,
			const char *text, size_t len, char *err, size_t err_size);

/* Reads and parses the file at path, as load_scenario_parse. */
int load_scenario_load(struct load_scenario *scenario, const char *path,
		       char *err, size_t err_size);

/* Frees the messages; the struct itself is the caller's. */
void load_scenario_free(struct load_scenario *scenario);

/* Returns the index of the conversation that guest starts with: the same
 * for the same seed, guest and scenario. */
size_t load_scenario_pick(const struct load_scenario *scenario, uint64_t seed,
			  size_t guest);

/* Writes into out, NUL-terminated, the message for the guest's turn
 * (0-based) with "{guest}" expanded. Returns the message length, or -1 when
 * the message and its NUL do not fit in out_size bytes. */
int load_scenario_message(const struct load_scenario *scenario, uint64_t seed,
			  size_t guest, size_t turn, char *out, size_t out_size);

#endif
