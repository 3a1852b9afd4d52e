#ifndef MAITRED_LLM_STREAM_H
#define MAITRED_LLM_STREAM_H

/*
 * A parser for a streamed chat completion: the Server-Sent Events body that
 * an OpenAI-compatible server sends for "stream": true. It takes the bytes in
 * whatever pieces the transfer delivers them and collects the text, the tool
 * calls, the finish reason and the usage of choice 0.
 *
 * SSE framing follows the HTML Living Standard's event-stream rules: lines
 * end in CRLF, LF or CR; a blank line dispatches the event; ":" starts a
 * comment; the data lines of one event are joined with "\n"; the fields
 * event, id and retry are ignored, as are unknown fields; a leading UTF-8
 * byte order mark is skipped; an event not ended by a blank line before the
 * end of the input is discarded.
 *
 * Each event's data is "[DONE]" or one JSON object: a "chat.completion.chunk"
 * or {"error": {...}}. Limits: a line or an event's data may be at most
 * LLM_STREAM_LINE_MAX bytes, the text and tool arguments together at most
 * LLM_STREAM_TEXT_MAX bytes, and a chunk may name at most LLM_STREAM_CALLS_MAX
 * tool calls. Input past a limit is a protocol error, not a truncation.
 *
 * One parser belongs to one response and one thread at a time.
 */
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define LLM_STREAM_LINE_MAX  (1024 * 1024)
#define LLM_STREAM_TEXT_MAX  (16 * 1024 * 1024)
#define LLM_STREAM_CALLS_MAX 64

/* One tool call of the answer, put together from its fragments. */
struct llm_tool_call {
	char *id;           /* "call_..."; NULL until a fragment carries it */
	char *name;         /* function name; NULL until a fragment carries it */
	char *arguments;    /* accumulated JSON text, "" until a fragment adds to it */
	int index;          /* position the server gave the call, from 0 */
};

struct llm_result {
	char *content;              /* all text so far, NUL-terminated, never NULL */
	size_t content_len;
	struct llm_tool_call *calls;  /* sorted by index */
	size_t ncalls;
	char finish_reason[32];     /* "stop", "length", "tool_calls", ...; "" until seen */
	long prompt_tokens, completion_tokens;
	bool has_usage;             /* a chunk carried a usage object */
	bool done;                  /* "data: [DONE]" seen */
	json_t *error;              /* the server's error object from inside the
	                             * stream ({"message", "type", "code", ...}),
	                             * or NULL; owned by the parser */
};

/* Receives one content fragment: len bytes of whole UTF-8 characters,
 * NUL-terminated, valid only during the call. Never called with len 0. */
typedef void (*llm_delta_fn)(void *user, const char *text, size_t len);

/* Creates a parser that passes content fragments to on_delta (which may be
 * NULL) with user. Returns NULL when out of memory. Free with
 * llm_stream_free(). */
struct llm_stream *llm_stream_new(llm_delta_fn on_delta, void *user);

/*
 * Feeds len bytes of the response body. Calls on_delta for each non-empty
 * content fragment as its event completes.
 * Returns 0, or -1 when the stream cannot be used further:
 *   - the server sent an error object: llm_stream_result()->error is set;
 *   - a protocol error (invalid JSON, a field of the wrong type, a limit
 *     exceeded, data after [DONE]) or out of memory: error is NULL.
 * Either way llm_stream_error() describes it, and every later call to feed
 * or finish returns -1 again.
 */
int llm_stream_feed(struct llm_stream *s, const char *buf, size_t len);

/*
 * Ends the input, when the transfer has finished. Returns 0 when the stream
 * was complete: result->done tells whether it ended with [DONE] or, when
 * done is false, only with a finish_reason. Returns -1, with a message in
 * llm_stream_error(), when it was cut off (neither came), when a tool call
 * lacks its id or name, or when feed had already failed.
 */
int llm_stream_finish(struct llm_stream *s);

/* Returns the result so far. It stays owned by the parser and is valid
 * until llm_stream_free(). */
const struct llm_result *llm_stream_result(const struct llm_stream *s);

/* Returns the message of the last failure, or "" when there was none. */
const char *llm_stream_error(const struct llm_stream *s);

/* Frees the parser and its result. Accepts NULL. */
void llm_stream_free(struct llm_stream *s);

#endif
