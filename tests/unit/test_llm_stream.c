/*
 * The model-stream parser, table-driven. Every case is fed as one piece,
 * as two pieces split at every offset, and one byte at a time, and must give
 * the same result each way.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "workers/llm_stream.h"

#define MAX_CALLS 3

struct expected_call {
	int index;
	const char *id;
	const char *name;
	const char *arguments;
};

struct stream_case {
	const char *name;
	const char *input;
	int feed_rc;                /* what the feeds return overall: 0 or -1 */
	int finish_rc;              /* checked only when the feeds returned 0 */
	const char *content;
	const char *finish_reason;
	bool done;
	bool has_usage;
	long prompt_tokens, completion_tokens;
	size_t ncalls;
	struct expected_call calls[MAX_CALLS];
	const char *message;        /* a part of llm_stream_error(), or NULL for "" */
	const char *error_message;  /* result->error's "message", or NULL for no error object */
};

/* Chunks as the OpenAI API sends them, one event each. */
#define CHUNK(choices) "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[" choices "]}\n\n"
#define ROLE CHUNK("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}")
#define TEXT(t) CHUNK("{\"index\":0,\"delta\":{\"content\":\"" t "\"},\"finish_reason\":null}")
#define FINISH(r) CHUNK("{\"index\":0,\"delta\":{},\"finish_reason\":\"" r "\"}")
#define CALL_START(i, id, name) CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" #i \
	",\"id\":\"" id "\",\"type\":\"function\",\"function\":{\"name\":\"" name "\",\"arguments\":\"\"}}]}}")
#define CALL_ARGS(i, a) CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":" #i \
	",\"function\":{\"arguments\":\"" a "\"}}]}}")
#define USAGE(p, c) "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[]," \
	"\"usage\":{\"prompt_tokens\":" #p ",\"completion_tokens\":" #c ",\"total_tokens\":0}}\n\n"
#define DONE "data: [DONE]\n\n"

static const struct stream_case cases[] = {
	{
		.name = "text with usage",
		.input = ROLE TEXT("Hello") TEXT(" there") FINISH("stop") USAGE(12, 2) DONE,
		.content = "Hello there", .finish_reason = "stop", .done = true,
		.has_usage = true, .prompt_tokens = 12, .completion_tokens = 2,
	},
	{
		.name = "multi-byte UTF-8",
		.input = TEXT("Crème brûlée ") TEXT("🍝 for 9 €") FINISH("stop") DONE,
		.content = "Crème brûlée 🍝 for 9 €", .finish_reason = "stop", .done = true,
	},
	{
		.name = "escaped surrogate pair",
		.input = TEXT("pasta \\ud83c\\udf5d \\u00e9\\n") FINISH("stop") DONE,
		.content = "pasta 🍝 é\n", .finish_reason = "stop", .done = true,
	},
	{
		.name = "CRLF line ends",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\n\r\n"
			 "data: [DONE]\r\n\r\n",
		.content = "ab", .finish_reason = "stop", .done = true,
	},
	{
		.name = "CR line ends",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\r"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\r"
			 "data: [DONE]\r\r",
		.content = "ab", .finish_reason = "stop", .done = true,
	},
	{
		.name = "mixed line ends",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\r\r\n"
			 "data: {\"choices\":[{\"index\":0,\"finish_reason\":\"stop\"}]}\n\r"
			 "data: [DONE]\n\n",
		.content = "ab", .finish_reason = "stop", .done = true,
	},
	{
		.name = "comments and keep-alive lines",
		.input = ": keep-alive\n\n" ":\n" "\n\n\n" ROLE ": OPENROUTER PROCESSING\n\n"
			 TEXT("ok") "\r\n\r\n" FINISH("stop") ": bye\n" DONE,
		.content = "ok", .finish_reason = "stop", .done = true,
	},
	{
		.name = "event id retry fields ignored",
		.input = "event: message\nid: 7\nretry: 3000\nx-unknown: 1\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
			 "event: completion\n" FINISH("stop") "id\n" DONE,
		.content = "a", .finish_reason = "stop", .done = true,
	},
	{
		.name = "multi-line data joined",
		.input = "data: {\"choices\":[{\"index\":0,\n"
			 "data: \"delta\":{\"content\":\"two\"},\n"
			 "data:\"finish_reason\":\"stop\"}]}\n\n" DONE,
		.content = "two", .finish_reason = "stop", .done = true,
	},
	{
		.name = "data lines keep inner newlines",
		/* The second data line lands inside a JSON string, so the joining
		 * "\n" makes the string invalid: the lines must not be glued. */
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\n"
			 "data: b\"}}]}\n\n",
		.feed_rc = -1, .content = "", .message = "not valid JSON",
	},
	{
		.name = "multi-line data with CRLF",
		/* A LF taken as a line of its own would end the event after
		 * the first data line. */
		.input = "data: {\"choices\":[{\"index\":0,\r\n"
			 "data: \"delta\":{\"content\":\"crlf\"},\"finish_reason\":\"stop\"}]}\r\n\r\n"
			 "data: [DONE]\r\n\r\n",
		.content = "crlf", .finish_reason = "stop", .done = true,
	},
	{
		.name = "error line number with CRLF",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
			 "data: {\r\n\r\n",
		.feed_rc = -1, .content = "a", .finish_reason = "", .message = "line 4: event data is not valid JSON",
	},
	{
		.name = "no space after colon",
		.input = "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" x\"},\"finish_reason\":\"stop\"}]}\n\n"
			 "data:[DONE]\n\n",
		.content = " x", .finish_reason = "stop", .done = true,
	},
	{
		.name = "byte order mark skipped",
		.input = "\xEF\xBB\xBF" TEXT("a") FINISH("stop") DONE,
		.content = "a", .finish_reason = "stop", .done = true,
	},
	{
		.name = "usage chunk with empty choices",
		.input = TEXT("a") FINISH("stop")
			 "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":1}}\n\n" DONE,
		.content = "a", .finish_reason = "stop", .done = true,
		.has_usage = true, .prompt_tokens = 30, .completion_tokens = 1,
	},
	{
		.name = "null usage on every chunk",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n"
			 "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n" DONE,
		.content = "a", .finish_reason = "stop", .done = true,
	},
	{
		.name = "empty, null and missing choices",
		.input = "data: {\"choices\":[]}\n\n" "data: {\"choices\":null}\n\n" "data: {}\n\n"
			 TEXT("a") FINISH("length") DONE,
		.content = "a", .finish_reason = "length", .done = true,
	},
	{
		.name = "null content delta",
		.input = CHUNK("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null}}")
			 CHUNK("{\"index\":0,\"delta\":{\"content\":null,\"refusal\":null}}")
			 CHUNK("{\"index\":0,\"delta\":null}") CHUNK("{\"index\":0}") FINISH("stop") DONE,
		.content = "", .finish_reason = "stop", .done = true,
	},
	{
		.name = "other choice indexes skipped",
		.input = CHUNK("{\"index\":1,\"delta\":{\"content\":\"no\"}},{\"index\":0,\"delta\":{\"content\":\"yes\"}}")
			 FINISH("stop") DONE,
		.content = "yes", .finish_reason = "stop", .done = true,
	},
	{
		.name = "empty data event ignored",
		.input = "data:\n\n" "data\n\n" TEXT("a") FINISH("stop") DONE,
		.content = "a", .finish_reason = "stop", .done = true,
	},
	{
		.name = "one tool call in fragments",
		.input = ROLE CALL_START(0, "call_abc", "search_menu") CALL_ARGS(0, "{\\\"ta")
			 CALL_ARGS(0, "gs\\\": [\\\"veg") CALL_ARGS(0, "an\\\"]}") FINISH("tool_calls") USAGE(80, 9) DONE,
		.content = "", .finish_reason = "tool_calls", .done = true,
		.has_usage = true, .prompt_tokens = 80, .completion_tokens = 9,
		.ncalls = 1,
		.calls = { { 0, "call_abc", "search_menu", "{\"tags\": [\"vegan\"]}" } },
	},
	{
		.name = "parallel tool calls interleaved",
		.input = CALL_START(0, "call_a", "opening_hours") CALL_START(1, "call_b", "search_menu")
			 CALL_ARGS(1, "{\\\"category\\\":") CALL_ARGS(0, "{")
			 CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"\\\"main\\\"\"}},"
			       "{\"index\":0,\"function\":{\"arguments\":\"}\"}}]}}")
			 CALL_ARGS(1, "}") FINISH("tool_calls") DONE,
		.content = "", .finish_reason = "tool_calls", .done = true,
		.ncalls = 2,
		.calls = { { 0, "call_a", "opening_hours", "{}" }, { 1, "call_b", "search_menu", "{\"category\":\"main\"}" } },
	},
	{
		.name = "tool calls sorted by index",
		.input = CALL_START(1, "call_b", "opening_hours") CALL_START(0, "call_a", "search_menu")
			 CALL_ARGS(0, "{}") CALL_ARGS(1, "{}") FINISH("tool_calls") DONE,
		.content = "", .finish_reason = "tool_calls", .done = true,
		.ncalls = 2,
		.calls = { { 0, "call_a", "search_menu", "{}" }, { 1, "call_b", "opening_hours", "{}" } },
	},
	{
		.name = "tool call id repeated in fragments",
		.input = CALL_START(0, "call_a", "opening_hours")
			 CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
			       "\"function\":{\"name\":\"opening_hours\",\"arguments\":\"{}\"}}]}}")
			 FINISH("tool_calls") DONE,
		.content = "", .finish_reason = "tool_calls", .done = true,
		.ncalls = 1,
		.calls = { { 0, "call_a", "opening_hours", "{}" } },
	},
	{
		.name = "text then tool call",
		.input = TEXT("Let me check.") CALL_START(0, "call_x", "opening_hours") CALL_ARGS(0, "{}")
			 FINISH("tool_calls") DONE,
		.content = "Let me check.", .finish_reason = "tool_calls", .done = true,
		.ncalls = 1,
		.calls = { { 0, "call_x", "opening_hours", "{}" } },
	},
	{
		.name = "finish reason without done",
		.input = TEXT("a") FINISH("stop"),
		.content = "a", .finish_reason = "stop", .done = false,
	},
	{
		.name = "done without finish reason",
		.input = TEXT("a") DONE,
		.content = "a", .finish_reason = "", .done = true,
	},
	{
		.name = "only done",
		.input = DONE,
		.content = "", .finish_reason = "", .done = true,
	},
	{
		.name = "cut off without finish",
		.input = ROLE TEXT("Hel"),
		.finish_rc = -1, .content = "Hel", .finish_reason = "", .message = "cut off",
	},
	{
		.name = "unterminated last event discarded",
		.input = TEXT("a") "data: {\"choices\":[{\"index\":0,\"finish_reason\":\"stop\"}]}\n",
		.finish_rc = -1, .content = "a", .finish_reason = "", .message = "cut off",
	},
	{
		.name = "empty input cut off",
		.input = "",
		.finish_rc = -1, .content = "", .finish_reason = "", .message = "cut off",
	},
	{
		.name = "error object mid-stream",
		.input = TEXT("Hi") "data: {\"error\":{\"message\":\"The server had an error while processing your request.\","
			 "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n" DONE,
		.feed_rc = -1, .content = "Hi", .finish_reason = "",
		.message = "sent an error: The server had an error",
		.error_message = "The server had an error while processing your request.",
	},
	{
		.name = "error as a string",
		.input = "event: error\ndata: {\"error\":\"overloaded\"}\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "",
		.message = "sent an error: overloaded", .error_message = "overloaded",
	},
	{
		.name = "invalid JSON rejected",
		.input = TEXT("a") "data: {\"choices\":[\n\n",
		.feed_rc = -1, .content = "a", .finish_reason = "", .message = "line 4: event data is not valid JSON",
	},
	{
		.name = "JSON error without the token",
		.input = "data: {\"content\" \"+33 1 23 45 67 89\"}\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "",
		.message = "event data is not valid JSON: ':' expected at byte",
	},
	{
		.name = "invalid UTF-8 rejected",
		.input = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xC3\x28\"}}]}\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "not valid JSON",
	},
	{
		.name = "JSON array rejected",
		.input = "data: [1,2]\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "a JSON array, expected an object",
	},
	{
		.name = "event after done rejected",
		.input = TEXT("a") DONE TEXT("b"),
		.feed_rc = -1, .content = "a", .finish_reason = "", .done = true, .message = "after [DONE]",
	},
	{
		.name = "content of wrong type rejected",
		.input = CHUNK("{\"index\":0,\"delta\":{\"content\":5}}"),
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "choices[0].delta.content is not a string",
	},
	{
		.name = "choices of wrong type rejected",
		.input = "data: {\"choices\":{}}\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "\"choices\" is not an array",
	},
	{
		.name = "tool call without index rejected",
		.input = CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"id\":\"call_a\",\"function\":{\"name\":\"x\"}}]}}"),
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "no integer \"index\"",
	},
	{
		.name = "tool call index out of range",
		.input = CALL_START(64, "call_a", "x"),
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "tool call index 64 is outside 0..63",
	},
	{
		.name = "tool call type not function",
		.input = CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"code\"}]}}"),
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "type \"code\"",
	},
	{
		.name = "tool call id changed rejected",
		.input = CALL_START(0, "call_a", "x") CALL_START(0, "call_b", "x"),
		.feed_rc = -1, .content = "", .finish_reason = "",
		.message = "tool call 0 changed its id from \"call_a\" to \"call_b\"",
		.ncalls = 1, .calls = { { 0, "call_a", "x", "" } },
	},
	{
		.name = "tool call without id rejected",
		.input = CALL_ARGS(0, "{}") FINISH("tool_calls") DONE,
		.finish_rc = -1, .content = "", .finish_reason = "tool_calls", .done = true,
		.message = "tool call 0 has no id",
		.ncalls = 1, .calls = { { 0, NULL, NULL, "{}" } },
	},
	{
		.name = "tool call without name rejected",
		.input = CHUNK("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"function\":{\"arguments\":\"{}\"}}]}}")
			 FINISH("tool_calls") DONE,
		.finish_rc = -1, .content = "", .finish_reason = "tool_calls", .done = true,
		.message = "tool call 0 has no function name",
		.ncalls = 1, .calls = { { 0, "call_a", NULL, "{}" } },
	},
	{
		.name = "long finish reason rejected",
		.input = FINISH("a_finish_reason_of_forty_bytes_in_all_xx"),
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "longer than 31 bytes",
	},
	{
		.name = "usage without counts rejected",
		.input = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\n\n",
		.feed_rc = -1, .content = "", .finish_reason = "", .message = "usage.completion_tokens is missing",
	},
};

/* Records what on_delta received. */
struct delta_log {
	char text[512];
	size_t len;
	int calls;
	bool empty_delta;
	bool split_character;
	bool overflow;
};

/* Returns true when text is a sequence of whole UTF-8 characters. It checks
 * only the lengths that the lead bytes announce, which is what a split
 * character would break. */
static bool is_whole_utf8(const unsigned char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t width = text[i] < 0x80 ? 1 : text[i] >= 0xF0 ? 4 : text[i] >= 0xE0 ? 3 : text[i] >= 0xC0 ? 2 : 0;
		if (width == 0 || i + width > len)
			return false;
		for (size_t k = 1; k < width; k++)
			if ((text[i + k] & 0xC0) != 0x80)
				return false;
		i += width;
	}
	return true;
}

static void record_delta(void *user, const char *text, size_t len)
{
	struct delta_log *log = user;

	log->calls++;
	if (len == 0)
		log->empty_delta = true;
	if (!is_whole_utf8((const unsigned char *)text, len))
		log->split_character = true;
	if (text[len] != '\0')
		log->split_character = true;
	if (log->len + len >= sizeof(log->text)) {
		log->overflow = true;
		return;
	}
	memcpy(log->text + log->len, text, len);
	log->len += len;
	log->text[log->len] = '\0';
}

/* How one run cut the input: at one offset, or into single bytes. */
struct split {
	size_t offset;
	bool bytewise;
};

static int feed_split(struct llm_stream *s, const char *input, size_t len, struct split split)
{
	if (split.bytewise) {
		for (size_t i = 0; i < len; i++)
			if (llm_stream_feed(s, input + i, 1) < 0)
				return -1;
		return 0;
	}
	if (llm_stream_feed(s, input, split.offset) < 0)
		return -1;
	return llm_stream_feed(s, input + split.offset, len - split.offset);
}

/* Reports a mismatch with the case and the split, so a failure names both. */
#define EXPECT(cond, c, split, what)                                                        \
	do {                                                                                \
		if (!(cond)) {                                                              \
			test_fail(__FILE__, __LINE__, "case \"%s\", %s %zu: %s", (c)->name,   \
				  (split).bytewise ? "byte by byte, length" : "split at",   \
				  (split).bytewise ? strlen((c)->input) : (split).offset, what); \
			failures++;                                                         \
		}                                                                           \
	} while (0)

static bool same_text(const char *actual, const char *expected)
{
	if (!actual || !expected)
		return actual == expected;
	return strcmp(actual, expected) == 0;
}

static int check_calls(const struct stream_case *c, struct split split, const struct llm_result *r)
{
	int failures = 0;

	EXPECT(r->ncalls == c->ncalls, c, split, "number of tool calls");
	for (size_t i = 0; i < r->ncalls && i < c->ncalls; i++) {
		EXPECT(r->calls[i].index == c->calls[i].index, c, split, "tool call index");
		EXPECT(same_text(r->calls[i].id, c->calls[i].id), c, split, "tool call id");
		EXPECT(same_text(r->calls[i].name, c->calls[i].name), c, split, "tool call name");
		EXPECT(same_text(r->calls[i].arguments, c->calls[i].arguments), c, split, "tool call arguments");
	}
	return failures;
}

static int check_error(const struct stream_case *c, struct split split, struct llm_stream *s)
{
	const struct llm_result *r = llm_stream_result(s);
	const char *message = llm_stream_error(s);
	int failures = 0;

	if (c->message)
		EXPECT(strstr(message, c->message) != NULL, c, split, message);
	else
		EXPECT(message[0] == '\0', c, split, message);

	if (c->error_message) {
		EXPECT(r->error != NULL, c, split, "result->error is NULL");
		EXPECT(same_text(json_string_value(json_object_get(r->error, "message")), c->error_message),
		       c, split, "result->error's message");
	} else {
		EXPECT(r->error == NULL, c, split, "result->error is set");
	}
	return failures;
}

static int check_result(const struct stream_case *c, struct split split, struct llm_stream *s,
			const struct delta_log *log)
{
	const struct llm_result *r = llm_stream_result(s);
	int failures = 0;

	EXPECT(same_text(r->content, c->content), c, split, r->content);
	EXPECT(r->content_len == strlen(c->content), c, split, "content_len");
	EXPECT(!log->overflow && same_text(log->text, c->content), c, split, "deltas joined differ from content");
	EXPECT(!log->empty_delta, c, split, "an empty delta was passed");
	EXPECT(!log->split_character, c, split, "a delta split a UTF-8 character");
	if (c->finish_reason)
		EXPECT(same_text(r->finish_reason, c->finish_reason), c, split, r->finish_reason);
	EXPECT(r->done == c->done, c, split, "done");
	EXPECT(r->has_usage == c->has_usage, c, split, "has_usage");
	EXPECT(r->prompt_tokens == c->prompt_tokens, c, split, "prompt_tokens");
	EXPECT(r->completion_tokens == c->completion_tokens, c, split, "completion_tokens");
	failures += check_calls(c, split, r);
	failures += check_error(c, split, s);
	return failures;
}

/* Runs one case with one split. Returns the number of failed checks. */
static int run_case(const struct stream_case *c, struct split split)
{
	struct delta_log log = { .text = "" };
	struct llm_stream *s = llm_stream_new(record_delta, &log);
	size_t len = strlen(c->input);
	int failures = 0;

	if (!s) {
		test_fail(__FILE__, __LINE__, "llm_stream_new returned NULL");
		return 1;
	}
	int feed_rc = feed_split(s, c->input, len, split);
	EXPECT(feed_rc == c->feed_rc, c, split, "feed status");
	if (feed_rc == 0) {
		int finish_rc = llm_stream_finish(s);
		EXPECT(finish_rc == c->finish_rc, c, split, "finish status");
	} else {
		EXPECT(llm_stream_feed(s, "\n\n", 2) == -1, c, split, "feed after a failure");
		EXPECT(llm_stream_finish(s) == -1, c, split, "finish after a failure");
	}
	failures += check_result(c, split, s, &log);
	llm_stream_free(s);
	return failures;
}

/* Runs a case every way. Stops at the first failing split so that a broken
 * case reports once, not once per offset. */
static void run_every_split(const struct stream_case *c)
{
	size_t len = strlen(c->input);

	if (run_case(c, (struct split){ .offset = len }) > 0)
		return;
	if (run_case(c, (struct split){ .bytewise = true }) > 0)
		return;
	for (size_t offset = 0; offset < len; offset++)
		if (run_case(c, (struct split){ .offset = offset }) > 0)
			return;
}

TEST(llm_stream_cases_every_split)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_every_split(&cases[i]);
}

static void count_delta(void *user, const char *text, size_t len)
{
	(void)text;
	(void)len;
	(*(int *)user)++;
}

TEST(llm_stream_delta_when_event_ends)
{
	static const char first[] = TEXT("one");
	int deltas = 0;
	struct llm_stream *s = llm_stream_new(count_delta, &deltas);

	CHECK_INT(llm_stream_feed(s, first, strlen(first) - 1), 0);
	CHECK_INT(deltas, 0);
	CHECK_INT(llm_stream_feed(s, "\n", 1), 0);
	CHECK_INT(deltas, 1);
	llm_stream_free(s);
}

TEST(llm_stream_null_callback)
{
	static const char input[] = TEXT("quiet") FINISH("stop") DONE;
	struct llm_stream *s = llm_stream_new(NULL, NULL);

	CHECK_INT(llm_stream_feed(s, input, strlen(input)), 0);
	CHECK_INT(llm_stream_finish(s), 0);
	CHECK_STR(llm_stream_result(s)->content, "quiet");
	CHECK_STR(llm_stream_error(s), "");
	llm_stream_free(s);
}

TEST(llm_stream_error_hides_payload)
{
	static const char input[] = "data: {\"content\" \"+33 1 23 45 67 89\"}\n\n";
	struct llm_stream *s = llm_stream_new(NULL, NULL);

	CHECK_INT(llm_stream_feed(s, input, strlen(input)), -1);
	CHECK(strstr(llm_stream_error(s), "+33") == NULL);
	CHECK(strstr(llm_stream_error(s), "not valid JSON") != NULL);
	llm_stream_free(s);
}

TEST(llm_stream_free_accepts_null)
{
	llm_stream_free(NULL);
	CHECK(1);
}
