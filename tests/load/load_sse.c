#include <stdlib.h>
#include <string.h>

#include "tests/load/load_sse.h"

static const char utf8_bom[] = "\xEF\xBB\xBF";

void load_sse_init(struct load_sse *parser, size_t max_bytes, load_sse_event_fn on_event,
		   load_sse_comment_fn on_comment, void *context)
{
	memset(parser, 0, sizeof(*parser));
	parser->max_bytes = max_bytes;
	parser->on_event = on_event;
	parser->on_comment = on_comment;
	parser->context = context;
}

void load_sse_reset(struct load_sse *parser)
{
	parser->line_len = 0;
	parser->data_len = 0;
	parser->type[0] = '\0';
	parser->after_cr = false;
	parser->bom_seen = 0;
	parser->failed = false;
}

void load_sse_free(struct load_sse *parser)
{
	free(parser->line);
	free(parser->data);
	parser->line = parser->data = NULL;
	parser->line_cap = parser->data_cap = 0;
	load_sse_reset(parser);
}

/* Makes room for need bytes plus a NUL in *buf. Returns 0 or -1. */
static int reserve(char **buf, size_t *cap, size_t need, size_t max_bytes)
{
	if (need > max_bytes)
		return -1;
	if (need + 1 <= *cap)
		return 0;

	size_t grown = *cap ? *cap : 256;

	while (grown < need + 1)
		grown *= 2;

	char *bigger = realloc(*buf, grown);

	if (!bigger)
		return -1;
	*buf = bigger;
	*cap = grown;
	return 0;
}

static void dispatch_event(struct load_sse *parser)
{
	/* An event without data lines is dropped, type and all. */
	if (parser->data_len == 0) {
		parser->type[0] = '\0';
		return;
	}

	/* The newline after the last data line is not part of the data. */
	parser->data_len--;
	parser->data[parser->data_len] = '\0';
	parser->on_event(parser->context, parser->type[0] ? parser->type : "message",
			 parser->data, parser->data_len);
	parser->data_len = 0;
	parser->type[0] = '\0';
}

static int append_data(struct load_sse *parser, const char *value, size_t len)
{
	if (reserve(&parser->data, &parser->data_cap, parser->data_len + len + 1,
		    parser->max_bytes) != 0)
		return -1;
	memcpy(parser->data + parser->data_len, value, len);
	parser->data_len += len;
	parser->data[parser->data_len++] = '\n';
	parser->data[parser->data_len] = '\0';
	return 0;
}

static void set_type(struct load_sse *parser, const char *value, size_t len)
{
	/* A type too long for the buffer matches no known type, so keep it
	 * cut but still different from every known one. */
	if (len >= sizeof(parser->type))
		len = sizeof(parser->type) - 1;
	memcpy(parser->type, value, len);
	parser->type[len] = '\0';
}

/* Handles one complete line without its end-of-line bytes. */
static int process_line(struct load_sse *parser, char *line, size_t len)
{
	if (len == 0) {
		dispatch_event(parser);
		return 0;
	}

	line[len] = '\0';
	if (line[0] == ':') {
		const char *text = line + 1;

		if (*text == ' ')
			text++;
		if (parser->on_comment)
			parser->on_comment(parser->context, text);
		return 0;
	}

	char *colon = memchr(line, ':', len);
	size_t name_len = colon ? (size_t)(colon - line) : len;
	const char *value = colon ? colon + 1 : line + len;
	size_t value_len = (size_t)(line + len - value);

	if (value_len > 0 && *value == ' ') {
		value++;
		value_len--;
	}

	if (name_len == 5 && memcmp(line, "event", 5) == 0)
		set_type(parser, value, value_len);
	else if (name_len == 4 && memcmp(line, "data", 4) == 0)
		return append_data(parser, value, value_len);
	return 0;
}

static int append_line(struct load_sse *parser, const char *bytes, size_t len)
{
	if (reserve(&parser->line, &parser->line_cap, parser->line_len + len,
		    parser->max_bytes) != 0)
		return -1;
	memcpy(parser->line + parser->line_len, bytes, len);
	parser->line_len += len;
	return 0;
}

/* Skips a byte order mark at the very start of the stream, advancing *pos
 * past the bytes it consumed. Returns 0 or -1. */
static int skip_bom(struct load_sse *parser, const char *bytes, size_t len, size_t *pos)
{
	while (parser->bom_seen < 3 && *pos < len) {
		if (bytes[*pos] != utf8_bom[parser->bom_seen]) {
			/* Not a BOM after all: the bytes matched so far start the line. */
			size_t partial = parser->bom_seen;

			parser->bom_seen = 3;
			return append_line(parser, utf8_bom, partial);
		}
		parser->bom_seen++;
		(*pos)++;
	}
	return 0;
}

static int end_line(struct load_sse *parser)
{
	/* reserve() keeps a byte free for the NUL that process_line writes. */
	if (reserve(&parser->line, &parser->line_cap, parser->line_len,
		    parser->max_bytes) != 0)
		return -1;

	int rc = process_line(parser, parser->line, parser->line_len);

	parser->line_len = 0;
	return rc;
}

int load_sse_feed(struct load_sse *parser, const char *bytes, size_t len)
{
	if (parser->failed)
		return -1;

	size_t pos = 0;

	if (skip_bom(parser, bytes, len, &pos) != 0)
		goto fail;

	while (pos < len) {
		/* The LF of a CRLF split across two reads ends no second line. */
		if (parser->after_cr) {
			parser->after_cr = false;
			if (bytes[pos] == '\n') {
				pos++;
				continue;
			}
		}

		size_t end = pos;

		while (end < len && bytes[end] != '\n' && bytes[end] != '\r')
			end++;
		if (append_line(parser, bytes + pos, end - pos) != 0)
			goto fail;
		if (end == len)
			break;

		parser->after_cr = bytes[end] == '\r';
		if (end_line(parser) != 0)
			goto fail;
		pos = end + 1;
	}
	return 0;

fail:
	parser->failed = true;
	return -1;
}
