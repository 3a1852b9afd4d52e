#include <stdlib.h>

#include "tests/load/load_sse.h"
#include "tests/unit/test.h"

/* Everything the parser reported, as one string such as
 * "[delta|{"text":"a"}][#keep-alive]". */
struct capture {
	char text[4096];
	size_t len;
};

static void capture_append(struct capture *capture, const char *piece, size_t len)
{
	if (capture->len + len >= sizeof(capture->text))
		len = sizeof(capture->text) - capture->len - 1;
	memcpy(capture->text + capture->len, piece, len);
	capture->len += len;
	capture->text[capture->len] = '\0';
}

static void capture_event(void *context, const char *type, const char *data, size_t len)
{
	struct capture *capture = context;

	capture_append(capture, "[", 1);
	capture_append(capture, type, strlen(type));
	capture_append(capture, "|", 1);
	capture_append(capture, data, len);
	capture_append(capture, "]", 1);
}

static void capture_comment(void *context, const char *text)
{
	struct capture *capture = context;

	capture_append(capture, "[#", 2);
	capture_append(capture, text, strlen(text));
	capture_append(capture, "]", 1);
}

/* Parses stream in one piece and returns what the parser reported. */
static const char *parse_whole(struct capture *capture, const char *stream)
{
	struct load_sse parser;

	memset(capture, 0, sizeof(*capture));
	load_sse_init(&parser, 1024, capture_event, capture_comment, capture);
	CHECK_INT(load_sse_feed(&parser, stream, strlen(stream)), 0);
	load_sse_free(&parser);
	return capture->text;
}

/* Checks that stream gives expected when cut in two at every offset, and
 * when fed one byte at a time. */
static void check_every_split(const char *stream, const char *expected)
{
	size_t len = strlen(stream);

	for (size_t split = 0; split <= len; split++) {
		struct capture capture = { 0 };
		struct load_sse parser;

		load_sse_init(&parser, 1024, capture_event, capture_comment, &capture);
		CHECK_INT(load_sse_feed(&parser, stream, split), 0);
		CHECK_INT(load_sse_feed(&parser, stream + split, len - split), 0);
		if (strcmp(capture.text, expected) != 0)
			test_fail(__FILE__, __LINE__, "split at %zu gave %s", split, capture.text);
		load_sse_free(&parser);
	}

	struct capture capture = { 0 };
	struct load_sse parser;

	load_sse_init(&parser, 1024, capture_event, capture_comment, &capture);
	for (size_t i = 0; i < len; i++)
		CHECK_INT(load_sse_feed(&parser, stream + i, 1), 0);
	CHECK_STR(capture.text, expected);
	load_sse_free(&parser);
}

static const char chat_stream[] =
	"event: meta\ndata: {\"session_id\":\"abcdefgh\"}\n\n"
	": keep-alive\n\n"
	"event: delta\ndata: {\"text\":\"Yes\"}\n\n"
	"event: done\ndata: {\"reply\":\"Yes\"}\n\n";

static const char chat_expected[] =
	"[meta|{\"session_id\":\"abcdefgh\"}][#keep-alive]"
	"[delta|{\"text\":\"Yes\"}][done|{\"reply\":\"Yes\"}]";

TEST(load_sse_lf_every_split)
{
	check_every_split(chat_stream, chat_expected);
}

TEST(load_sse_crlf_every_split)
{
	check_every_split("event: meta\r\ndata: {\"session_id\":\"abcdefgh\"}\r\n\r\n"
			  ": keep-alive\r\n\r\n"
			  "event: delta\r\ndata: {\"text\":\"Yes\"}\r\n\r\n"
			  "event: done\r\ndata: {\"reply\":\"Yes\"}\r\n\r\n",
			  chat_expected);
}

TEST(load_sse_cr_only_every_split)
{
	check_every_split("event: meta\rdata: {\"session_id\":\"abcdefgh\"}\r\r"
			  ": keep-alive\r\r"
			  "event: delta\rdata: {\"text\":\"Yes\"}\r\r"
			  "event: done\rdata: {\"reply\":\"Yes\"}\r\r",
			  chat_expected);
}

TEST(load_sse_multi_line_data)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "data: one\ndata:two\ndata:  three\n\n"),
		  "[message|one\ntwo\n three]");
	check_every_split("event: delta\ndata: a\r\ndata: b\rdata: c\n\n", "[delta|a\nb\nc]");
}

TEST(load_sse_event_without_data_dropped)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "event: delta\n\ndata: x\n\n"), "[message|x]");
}

TEST(load_sse_empty_data_line_dispatches)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "event: tick\ndata\n\n"), "[tick|]");
}

TEST(load_sse_ignores_other_fields)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "id: 7\nretry: 100\nfoo: bar\nevent: done\ndata: {}\n\n"),
		  "[done|{}]");
}

TEST(load_sse_partial_event_waits)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "event: delta\ndata: x\n"), "");
}

TEST(load_sse_comment_without_space)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, ":ping\n:\n"), "[#ping][#]");
}

TEST(load_sse_skips_bom_every_split)
{
	check_every_split("\xEF\xBB\xBF" "data: x\n\n", "[message|x]");
}

TEST(load_sse_keeps_false_bom_start)
{
	struct capture capture;

	CHECK_STR(parse_whole(&capture, "\xEF" "data: x\n\n"), "");
	CHECK_STR(parse_whole(&capture, "\xEF\xBB" ": x\n\n"), "");
}

TEST(load_sse_line_limit_fails)
{
	struct capture capture = { 0 };
	struct load_sse parser;
	char line[200];

	memset(line, 'a', sizeof(line));
	load_sse_init(&parser, 64, capture_event, NULL, &capture);
	CHECK_INT(load_sse_feed(&parser, "data: ", 6), 0);
	CHECK_INT(load_sse_feed(&parser, line, sizeof(line)), -1);
	CHECK_INT(load_sse_feed(&parser, "\n\n", 2), -1);
	CHECK_STR(capture.text, "");

	load_sse_reset(&parser);
	CHECK_INT(load_sse_feed(&parser, "data: ok\n\n", 10), 0);
	CHECK_STR(capture.text, "[message|ok]");
	load_sse_free(&parser);
}

TEST(load_sse_data_limit_fails)
{
	struct capture capture = { 0 };
	struct load_sse parser;

	load_sse_init(&parser, 16, capture_event, NULL, &capture);
	CHECK_INT(load_sse_feed(&parser, "data: 0123456789\n", 17), 0);
	CHECK_INT(load_sse_feed(&parser, "data: 0123456789\n", 17), -1);
	load_sse_free(&parser);
}

TEST(load_sse_long_type_is_cut)
{
	struct capture capture;
	char stream[200];

	snprintf(stream, sizeof(stream), "event: %0100d\ndata: x\n\n", 0);
	parse_whole(&capture, stream);
	CHECK_INT(capture.len, 1 + (LOAD_SSE_TYPE_MAX - 1) + 1 + 1 + 1);
}
