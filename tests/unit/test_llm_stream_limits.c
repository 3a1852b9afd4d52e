/*
 * The model-stream parser's size limits. The inputs are megabytes long, so
 * they are fed at a few offsets around the limit rather than at every one.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "workers/llm_stream.h"

static const char chunk_head[] = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"";
static const char chunk_tail[] = "\"}}]}";

/* Returns a new "data:" line of exactly line_len bytes, without its line
 * end, whose content is that many "x" as fit. The caller frees it. */
static char *make_content_line(size_t line_len)
{
	size_t head = strlen(chunk_head), tail = strlen(chunk_tail);
	char *line = malloc(line_len + 1);

	if (!line)
		return NULL;
	memcpy(line, chunk_head, head);
	memset(line + head, 'x', line_len - head - tail);
	memcpy(line + line_len - tail, chunk_tail, tail);
	line[line_len] = '\0';
	return line;
}

/* Feeds line in three pieces cut at split, then "\n\n". Returns the last
 * feed status. */
static int feed_line(struct llm_stream *s, const char *line, size_t len, size_t split)
{
	if (llm_stream_feed(s, line, split) < 0)
		return -1;
	if (llm_stream_feed(s, line + split, len - split) < 0)
		return -1;
	return llm_stream_feed(s, "\n\n", 2);
}

TEST(llm_stream_line_at_limit_accepted)
{
	size_t len = LLM_STREAM_LINE_MAX;
	char *line = make_content_line(len);
	size_t splits[] = { 0, 1, len / 2, len - 1, len };

	CHECK(line != NULL);
	for (size_t i = 0; line && i < sizeof(splits) / sizeof(splits[0]); i++) {
		struct llm_stream *s = llm_stream_new(NULL, NULL);
		CHECK_INT(feed_line(s, line, len, splits[i]), 0);
		CHECK_INT(llm_stream_result(s)->content_len, len - strlen(chunk_head) - strlen(chunk_tail));
		llm_stream_free(s);
	}
	free(line);
}

TEST(llm_stream_line_over_limit_rejected)
{
	size_t len = LLM_STREAM_LINE_MAX + 1;
	char *line = make_content_line(len);

	CHECK(line != NULL);
	if (!line)
		return;

	/* The parser must fail as soon as the line passes the limit, before
	 * any line end arrives, or a server could make it grow forever. */
	struct llm_stream *s = llm_stream_new(NULL, NULL);
	CHECK_INT(llm_stream_feed(s, line, len - 1), 0);
	CHECK_INT(llm_stream_feed(s, line + len - 1, 1), -1);
	CHECK(strstr(llm_stream_error(s), "line 1 is longer than 1048576 bytes") != NULL);
	CHECK_INT(llm_stream_result(s)->content_len, 0);
	llm_stream_free(s);
	free(line);
}

TEST(llm_stream_endless_line_rejected)
{
	static char block[64 * 1024];
	struct llm_stream *s = llm_stream_new(NULL, NULL);
	int rc = 0;
	size_t fed = 0;

	memset(block, 'a', sizeof(block));
	while (rc == 0 && fed < 4 * (size_t)LLM_STREAM_LINE_MAX) {
		rc = llm_stream_feed(s, block, sizeof(block));
		fed += sizeof(block);
	}
	CHECK_INT(rc, -1);
	CHECK_INT(fed, LLM_STREAM_LINE_MAX + sizeof(block));
	llm_stream_free(s);
}

TEST(llm_stream_event_data_over_limit)
{
	/* Two data lines, each under the line limit, joined past it. */
	size_t half = LLM_STREAM_LINE_MAX / 2 + 16;
	char *line = malloc(half + 1);
	struct llm_stream *s = llm_stream_new(NULL, NULL);

	CHECK(line != NULL);
	if (!line) {
		llm_stream_free(s);
		return;
	}
	memcpy(line, "data: ", 6);
	memset(line + 6, ' ', half - 6);
	line[half] = '\n';
	CHECK_INT(llm_stream_feed(s, line, half + 1), 0);
	CHECK_INT(llm_stream_feed(s, line, half + 1), -1);
	CHECK(strstr(llm_stream_error(s), "an event's data exceeds 1048576 bytes") != NULL);
	llm_stream_free(s);
	free(line);
}

TEST(llm_stream_total_text_limit)
{
	size_t len = LLM_STREAM_LINE_MAX;
	size_t per_event = len - strlen(chunk_head) - strlen(chunk_tail);
	char *line = make_content_line(len);
	struct llm_stream *s = llm_stream_new(NULL, NULL);
	int rc = 0;
	size_t events = 0;

	CHECK(line != NULL);
	while (line && rc == 0 && events < 2 * LLM_STREAM_TEXT_MAX / per_event) {
		rc = feed_line(s, line, len, len);
		events++;
	}
	CHECK_INT(rc, -1);
	CHECK_INT(events, LLM_STREAM_TEXT_MAX / per_event + 1);
	CHECK(strstr(llm_stream_error(s), "exceed 16777216 bytes") != NULL);
	CHECK(llm_stream_result(s)->content_len <= LLM_STREAM_TEXT_MAX);
	llm_stream_free(s);
	free(line);
}
