#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/load/load_scenario.h"

#define GUEST_PLACEHOLDER "{guest}"

/* Returns the length of the valid UTF-8 sequence at s (at most len bytes),
 * or 0 when it is invalid: truncated, overlong, a surrogate or past
 * U+10FFFF. */
static size_t utf8_sequence_len(const unsigned char *s, size_t len)
{
	size_t need;
	unsigned min;
	unsigned code;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 2, min = 0x80, code = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 3, min = 0x800, code = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 4, min = 0x10000, code = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		code = (code << 6) | (s[i] & 0x3F);
	}
	if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
		return 0;
	return need;
}

/* Checks one trimmed message. Returns 0, or -1 with err filled. */
static int check_message(const char *name, size_t line_no, const char *text, size_t len,
			 char *err, size_t err_size)
{
	size_t chars = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)text[i];
		size_t step = utf8_sequence_len((const unsigned char *)text + i, len - i);

		if (step == 0) {
			snprintf(err, err_size,
				 "%s:%zu: invalid UTF-8 at byte %zu of the line; save the file as UTF-8",
				 name, line_no, i + 1);
			return -1;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7F) {
			snprintf(err, err_size,
				 "%s:%zu: control character 0x%02X at byte %zu; remove it",
				 name, line_no, c, i + 1);
			return -1;
		}
		chars++;
		i += step;
	}
	if (chars > LOAD_MESSAGE_MAX_CHARS) {
		snprintf(err, err_size,
			 "%s:%zu: message is %zu characters long, over the chat API's limit of %d; "
			 "shorten it or split it over two lines",
			 name, line_no, chars, LOAD_MESSAGE_MAX_CHARS);
		return -1;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Grows the arrays so that one more message and one more conversation fit. */
static int reserve_slots(struct load_scenario *scenario, size_t *cap)
{
	if (scenario->message_count < *cap)
		return 0;

	size_t grown = *cap ? *cap * 2 : 64;
	char **messages = realloc(scenario->messages, grown * sizeof(*messages));

	if (!messages)
		return -1;
	scenario->messages = messages;

	size_t *firsts = realloc(scenario->conversation_first, grown * sizeof(*firsts));

	if (!firsts)
		return -1;
	scenario->conversation_first = firsts;
	*cap = grown;
	return 0;
}

/* Adds one message; starts a conversation when *in_conversation is false. */
static int add_message(struct load_scenario *scenario, size_t *cap, bool *in_conversation,
		       const char *text, size_t len)
{
	if (reserve_slots(scenario, cap) != 0)
		return -1;

	char *copy = strndup(text, len);

	if (!copy)
		return -1;
	if (!*in_conversation) {
		scenario->conversation_first[scenario->conversation_count++] =
			scenario->message_count;
		*in_conversation = true;
	}
	scenario->messages[scenario->message_count++] = copy;
	return 0;
}

int load_scenario_parse(struct load_scenario *scenario, const char *name,
			const char *text, size_t len, char *err, size_t err_size)
{
	size_t cap = 0;
	size_t line_no = 0;
	bool in_conversation = false;

	memset(scenario, 0, sizeof(*scenario));
	for (size_t pos = 0; pos < len;) {
		const char *newline = memchr(text + pos, '\n', len - pos);
		size_t end = newline ? (size_t)(newline - text) : len;
		size_t start = pos;

		line_no++;
		pos = end + 1;
		while (start < end && is_blank(text[start]))
			start++;
		while (end > start && is_blank(text[end - 1]))
			end--;

		if (start == end) {
			in_conversation = false;
			continue;
		}
		if (text[start] == '#')
			continue;
		if (check_message(name, line_no, text + start, end - start, err, err_size) != 0)
			goto fail;
		if (add_message(scenario, &cap, &in_conversation, text + start, end - start) != 0) {
			snprintf(err, err_size, "%s:%zu: out of memory", name, line_no);
			goto fail;
		}
	}

	if (scenario->message_count == 0) {
		snprintf(err, err_size,
			 "%s: no messages; add at least one line that is neither blank nor a '#' comment",
			 name);
		goto fail;
	}
	return 0;

fail:
	load_scenario_free(scenario);
	return -1;
}

/* Reads the whole file into a malloc'd buffer. Returns 0 or -1 with err. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t err_size)
{
	FILE *file = fopen(path, "rb");
	char *buf = NULL;
	size_t used = 0;

	if (!file) {
		snprintf(err, err_size, "%s: cannot open the scenario file: %s", path, strerror(errno));
		return -1;
	}

	buf = malloc(LOAD_SCENARIO_MAX_BYTES + 1);
	if (!buf) {
		snprintf(err, err_size, "%s: out of memory", path);
		goto fail;
	}
	used = fread(buf, 1, LOAD_SCENARIO_MAX_BYTES + 1, file);
	if (ferror(file)) {
		snprintf(err, err_size, "%s: cannot read the scenario file: %s", path, strerror(errno));
		goto fail;
	}
	if (used > LOAD_SCENARIO_MAX_BYTES) {
		snprintf(err, err_size, "%s: the scenario file is over %u MiB; use a smaller one",
			 path, LOAD_SCENARIO_MAX_BYTES >> 20);
		goto fail;
	}
	fclose(file);
	*text = buf;
	*len = used;
	return 0;

fail:
	free(buf);
	fclose(file);
	return -1;
}

int load_scenario_load(struct load_scenario *scenario, const char *path,
		       char *err, size_t err_size)
{
	char *text = NULL;
	size_t len = 0;

	memset(scenario, 0, sizeof(*scenario));
	if (read_file(path, &text, &len, err, err_size) != 0)
		return -1;

	int rc = load_scenario_parse(scenario, path, text, len, err, err_size);

	free(text);
	return rc;
}

void load_scenario_free(struct load_scenario *scenario)
{
	for (size_t i = 0; i < scenario->message_count; i++)
		free(scenario->messages[i]);
	free(scenario->messages);
	free(scenario->conversation_first);
	memset(scenario, 0, sizeof(*scenario));
}

/* SplitMix64's output function: spreads nearby inputs over all 64 bits. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

size_t load_scenario_pick(const struct load_scenario *scenario, uint64_t seed, size_t guest)
{
	return (size_t)(mix64(mix64(seed) ^ (uint64_t)guest) % scenario->conversation_count);
}

int load_scenario_message(const struct load_scenario *scenario, uint64_t seed,
			  size_t guest, size_t turn, char *out, size_t out_size)
{
	size_t first = scenario->conversation_first[load_scenario_pick(scenario, seed, guest)];
	const char *text = scenario->messages[(first + turn) % scenario->message_count];
	char number[24];
	size_t used = 0;

	snprintf(number, sizeof(number), "%zu", guest);
	while (*text) {
		const char *piece = text;
		size_t piece_len = 1;

		if (strncmp(text, GUEST_PLACEHOLDER, strlen(GUEST_PLACEHOLDER)) == 0) {
			piece = number;
			piece_len = strlen(number);
			text += strlen(GUEST_PLACEHOLDER);
		} else {
			text++;
		}
		if (used + piece_len >= out_size)
			return -1;
		memcpy(out + used, piece, piece_len);
		used += piece_len;
	}
	if (used >= out_size)
		return -1;
	out[used] = '\0';
	return (int)used;
}
