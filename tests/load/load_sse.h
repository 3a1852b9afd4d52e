#ifndef MAITRED_LOAD_SSE_H
#define MAITRED_LOAD_SSE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * An incremental Server-Sent Events parser, as the WHATWG HTML standard
 * ("Interpreting an event stream") describes it. Bytes may arrive split at
 * any offset. Lines end with CRLF, LF or CR. "event" sets the type, each
 * "data" line appends to the data with a newline between lines, "id" and
 * "retry" are ignored, and a blank line dispatches the event unless it has
 * no data. Lines that start with ':' are comments (": keep-alive").
 * A UTF-8 byte order mark at the start of the stream is skipped.
 */

#define LOAD_SSE_TYPE_MAX 64

/* Called once per dispatched event. type is "message" when the event had no
 * "event" field; data is NUL-terminated but may hold NUL bytes, so use
 * data_len. Both are valid only during the call. */
typedef void (*load_sse_event_fn)(void *context, const char *type,
				  const char *data, size_t data_len);

/* Called once per comment line with the text after the ':' and one optional
 * space. Valid only during the call. */
typedef void (*load_sse_comment_fn)(void *context, const char *text);

struct load_sse {
	load_sse_event_fn on_event;
	load_sse_comment_fn on_comment; /* may be NULL */
	void *context;
	size_t max_bytes;

	char *line;
	size_t line_len;
	size_t line_cap;
	char *data;
	size_t data_len;
	size_t data_cap;
	char type[LOAD_SSE_TYPE_MAX];
	bool after_cr;
	size_t bom_seen;
	bool failed;
};

/* Prepares a parser. max_bytes caps one line and one event's data (a server
 * that never ends a line must not exhaust memory). The parser allocates on
 * first use; free it with load_sse_free. */
void load_sse_init(struct load_sse *parser, size_t max_bytes, load_sse_event_fn on_event,
		   load_sse_comment_fn on_comment, void *context);

/* Parses len bytes, calling the callbacks for each complete event and
 * comment. Returns 0, or -1 when a line or an event's data exceeds max_bytes
 * or memory runs out. After -1 the parser rejects all input until
 * load_sse_reset. */
int load_sse_feed(struct load_sse *parser, const char *bytes, size_t len);

/* Forgets any partial line and event, keeping the buffers, so that the next
 * byte starts a new stream. */
void load_sse_reset(struct load_sse *parser);

/* Frees the buffers; the struct itself is the caller's. */
void load_sse_free(struct load_sse *parser);

#endif
