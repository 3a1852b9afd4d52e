#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/llm_stream.h"

/* A growable byte buffer that stays NUL-terminated once allocated. */
struct byte_buf {
	char *bytes;
	size_t len;
	size_t cap;
};

struct call_text {
	size_t len;
	size_t cap;
};

struct llm_stream {
	llm_delta_fn on_delta;
	void *user;
	struct llm_result result;
	struct byte_buf content;
	struct call_text *call_text;  /* lengths of result.calls[i].arguments */
	size_t text_total;          /* content plus all arguments, in bytes */

	struct byte_buf line;       /* the line being read, without its end */
	struct byte_buf data;       /* the current event's data lines, each + "\n" */
	bool after_cr;              /* the last byte was CR, so a LF next is part of it */
	bool bom_checked;
	unsigned long line_number;  /* of the line being read, from 1 */
	size_t bytes_fed;

	bool failed;
	char message[320];
};

static const char utf8_bom[] = "\xEF\xBB\xBF";

static int fail(struct llm_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct llm_stream *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->message, sizeof(s->message), fmt, ap);
	va_end(ap);
	s->failed = true;
	return -1;
}

/* Makes room for extra more bytes plus a NUL. Returns 0, or -1 when out of
 * memory. */
static int reserve(char **bytes, size_t *cap, size_t len, size_t extra)
{
	if (len + extra < *cap)
		return 0;

	size_t want = *cap ? *cap : 64;
	while (want <= len + extra)
		want *= 2;
	char *grown = realloc(*bytes, want);
	if (!grown)
		return -1;
	*bytes = grown;
	*cap = want;
	return 0;
}

static int buf_append(struct byte_buf *b, const char *src, size_t n)
{
	if (reserve(&b->bytes, &b->cap, b->len, n) < 0)
		return -1;
	memcpy(b->bytes + b->len, src, n);
	b->len += n;
	b->bytes[b->len] = '\0';
	return 0;
}

struct llm_stream *llm_stream_new(llm_delta_fn on_delta, void *user)
{
	struct llm_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;

	s->on_delta = on_delta;
	s->user = user;
	s->line_number = 1;
	if (buf_append(&s->content, "", 0) < 0) {
		free(s);
		return NULL;
	}
	s->result.content = s->content.bytes;
	return s;
}

/* ---- Chunk contents ---- */

/* Reads an optional string member: *out is NULL when the member is absent
 * or null. Returns -1 when it has another type. */
static int get_optional_string(struct llm_stream *s, json_t *obj, const char *key,
			       const char *where, json_t **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(s, "model stream line %lu: %s.%s is not a string or null",
			    s->line_number, where, key);
	*out = v;
	return 0;
}

static int check_text_limit(struct llm_stream *s, size_t n)
{
	if (n > LLM_STREAM_TEXT_MAX - s->text_total)
		return fail(s, "model stream line %lu: the answer's text and tool arguments exceed %d bytes",
			    s->line_number, LLM_STREAM_TEXT_MAX);
	s->text_total += n;
	return 0;
}

static int append_content(struct llm_stream *s, json_t *text)
{
	const char *bytes = json_string_value(text);
	size_t n = json_string_length(text);

	if (n == 0)
		return 0;
	if (check_text_limit(s, n) < 0)
		return -1;
	if (buf_append(&s->content, bytes, n) < 0)
		return fail(s, "model stream: out of memory for %zu bytes of content", s->content.len + n);

	s->result.content = s->content.bytes;
	s->result.content_len = s->content.len;
	if (s->on_delta)
		s->on_delta(s->user, bytes, n);
	return 0;
}

/* Returns the call with this index, adding an empty one in index order when
 * none has it yet, or NULL after recording an error. */
static struct llm_tool_call *find_or_add_call(struct llm_stream *s, int index)
{
	struct llm_result *r = &s->result;
	size_t at = 0;

	while (at < r->ncalls && r->calls[at].index < index)
		at++;
	if (at < r->ncalls && r->calls[at].index == index)
		return &r->calls[at];

	struct llm_tool_call *calls = realloc(r->calls, (r->ncalls + 1) * sizeof(*calls));
	if (calls)
		r->calls = calls;
	struct call_text *texts = realloc(s->call_text, (r->ncalls + 1) * sizeof(*texts));
	if (texts)
		s->call_text = texts;
	char *arguments = calloc(1, 1);
	if (!calls || !texts || !arguments) {
		free(arguments);
		fail(s, "model stream: out of memory for tool call %d", index);
		return NULL;
	}

	memmove(&calls[at + 1], &calls[at], (r->ncalls - at) * sizeof(*calls));
	memmove(&texts[at + 1], &texts[at], (r->ncalls - at) * sizeof(*texts));
	calls[at] = (struct llm_tool_call){ .index = index, .arguments = arguments };
	texts[at] = (struct call_text){ .len = 0, .cap = 1 };
	r->ncalls++;
	return &calls[at];
}

/* Sets *field from a fragment the first time. A later fragment may repeat
 * the same value, since some servers send it with every fragment, but may
 * not change it. */
static int set_call_field(struct llm_stream *s, struct llm_tool_call *call, char **field,
			  json_t *value, const char *key)
{
	const char *text = json_string_value(value);

	if (*field) {
		if (strcmp(*field, text) == 0)
			return 0;
		return fail(s, "model stream line %lu: tool call %d changed its %s from \"%.64s\" to \"%.64s\"",
			    s->line_number, call->index, key, *field, text);
	}
	*field = strdup(text);
	if (!*field)
		return fail(s, "model stream: out of memory for a tool call's %s", key);
	return 0;
}

static int append_arguments(struct llm_stream *s, struct llm_tool_call *call, json_t *fragment)
{
	size_t n = json_string_length(fragment);
	struct call_text *text = &s->call_text[call - s->result.calls];

	if (check_text_limit(s, n) < 0)
		return -1;
	if (reserve(&call->arguments, &text->cap, text->len, n) < 0)
		return fail(s, "model stream: out of memory for tool call %d's arguments", call->index);
	memcpy(call->arguments + text->len, json_string_value(fragment), n);
	text->len += n;
	call->arguments[text->len] = '\0';
	return 0;
}

static int read_call_index(struct llm_stream *s, json_t *fragment, int *index)
{
	json_t *v = json_object_get(fragment, "index");

	if (!json_is_integer(v))
		return fail(s, "model stream line %lu: a tool_calls entry has no integer \"index\"",
			    s->line_number);
	json_int_t i = json_integer_value(v);
	if (i < 0 || i >= LLM_STREAM_CALLS_MAX)
		return fail(s, "model stream line %lu: tool call index %lld is outside 0..%d",
			    s->line_number, (long long)i, LLM_STREAM_CALLS_MAX - 1);
	*index = (int)i;
	return 0;
}

static int handle_call_function(struct llm_stream *s, struct llm_tool_call *call, json_t *function)
{
	json_t *name, *arguments;

	if (!function || json_is_null(function))
		return 0;
	if (!json_is_object(function))
		return fail(s, "model stream line %lu: tool call %d's \"function\" is not an object",
			    s->line_number, call->index);
	if (get_optional_string(s, function, "name", "tool_calls[].function", &name) < 0 ||
	    get_optional_string(s, function, "arguments", "tool_calls[].function", &arguments) < 0)
		return -1;
	if (name && json_string_length(name) > 0 &&
	    set_call_field(s, call, &call->name, name, "name") < 0)
		return -1;
	if (arguments && append_arguments(s, call, arguments) < 0)
		return -1;
	return 0;
}

static int handle_call_fragment(struct llm_stream *s, json_t *fragment)
{
	json_t *id, *type;
	int index = 0;

	if (!json_is_object(fragment))
		return fail(s, "model stream line %lu: a tool_calls entry is not an object", s->line_number);
	if (read_call_index(s, fragment, &index) < 0)
		return -1;
	if (get_optional_string(s, fragment, "id", "tool_calls[]", &id) < 0 ||
	    get_optional_string(s, fragment, "type", "tool_calls[]", &type) < 0)
		return -1;
	if (type && strcmp(json_string_value(type), "function") != 0)
		return fail(s, "model stream line %lu: tool call %d has type \"%.32s\"; only \"function\" is supported",
			    s->line_number, index, json_string_value(type));

	struct llm_tool_call *call = find_or_add_call(s, index);
	if (!call)
		return -1;
	if (id && json_string_length(id) > 0 && set_call_field(s, call, &call->id, id, "id") < 0)
		return -1;
	return handle_call_function(s, call, json_object_get(fragment, "function"));
}

static int handle_delta(struct llm_stream *s, json_t *delta)
{
	json_t *content, *calls;
	size_t i;
	json_t *fragment;

	if (!delta || json_is_null(delta))
		return 0;
	if (!json_is_object(delta))
		return fail(s, "model stream line %lu: choices[0].delta is not an object", s->line_number);

	if (get_optional_string(s, delta, "content", "choices[0].delta", &content) < 0)
		return -1;
	if (content && append_content(s, content) < 0)
		return -1;

	calls = json_object_get(delta, "tool_calls");
	if (!calls || json_is_null(calls))
		return 0;
	if (!json_is_array(calls))
		return fail(s, "model stream line %lu: choices[0].delta.tool_calls is not an array",
			    s->line_number);
	json_array_foreach(calls, i, fragment) {
		if (handle_call_fragment(s, fragment) < 0)
			return -1;
	}
	return 0;
}

static int handle_finish_reason(struct llm_stream *s, json_t *choice)
{
	json_t *reason;

	if (get_optional_string(s, choice, "finish_reason", "choices[0]", &reason) < 0)
		return -1;
	if (!reason)
		return 0;
	if (json_string_length(reason) >= sizeof(s->result.finish_reason))
		return fail(s, "model stream line %lu: finish_reason \"%.40s\" is longer than %zu bytes",
			    s->line_number, json_string_value(reason), sizeof(s->result.finish_reason) - 1);
	snprintf(s->result.finish_reason, sizeof(s->result.finish_reason), "%s", json_string_value(reason));
	return 0;
}

/* Handles the choice with index 0. A request made with n = 1 gets no other,
 * so other choices are skipped. */
static int handle_choices(struct llm_stream *s, json_t *chunk)
{
	json_t *choices = json_object_get(chunk, "choices");
	json_t *choice;
	size_t i;

	if (!choices || json_is_null(choices))
		return 0;
	if (!json_is_array(choices))
		return fail(s, "model stream line %lu: \"choices\" is not an array", s->line_number);

	json_array_foreach(choices, i, choice) {
		if (!json_is_object(choice))
			return fail(s, "model stream line %lu: choices[%zu] is not an object", s->line_number, i);
		json_t *index = json_object_get(choice, "index");
		if (index && !json_is_integer(index))
			return fail(s, "model stream line %lu: choices[%zu].index is not an integer",
				    s->line_number, i);
		if (index && json_integer_value(index) != 0)
			continue;
		if (handle_delta(s, json_object_get(choice, "delta")) < 0 ||
		    handle_finish_reason(s, choice) < 0)
			return -1;
	}
	return 0;
}

static int read_token_count(struct llm_stream *s, json_t *usage, const char *key, long *out)
{
	json_t *v = json_object_get(usage, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(s, "model stream line %lu: usage.%s is missing or not a non-negative integer",
			    s->line_number, key);
	*out = (long)json_integer_value(v);
	return 0;
}

/* Reads the usage object. With stream_options.include_usage every chunk
 * carries "usage", null except in the last one. */
static int handle_usage(struct llm_stream *s, json_t *chunk)
{
	json_t *usage = json_object_get(chunk, "usage");

	if (!usage || json_is_null(usage))
		return 0;
	if (!json_is_object(usage))
		return fail(s, "model stream line %lu: \"usage\" is not an object", s->line_number);
	long prompt, completion;
	if (read_token_count(s, usage, "prompt_tokens", &prompt) < 0 ||
	    read_token_count(s, usage, "completion_tokens", &completion) < 0)
		return -1;
	s->result.prompt_tokens = prompt;
	s->result.completion_tokens = completion;
	s->result.has_usage = true;
	return 0;
}

/* Keeps the server's error object and fails the stream with its message.
 * A bare string in place of the object is wrapped as {"message": ...}. */
static int handle_error(struct llm_stream *s, json_t *error)
{
	json_t *message;

	if (json_is_object(error))
		s->result.error = json_incref(error);
	else
		s->result.error = json_pack("{s:O}", "message", error);
	if (!s->result.error)
		return fail(s, "model stream: out of memory for the server's error");

	message = json_object_get(s->result.error, "message");
	const char *type = json_string_value(json_object_get(s->result.error, "type"));
	const char *code = json_string_value(json_object_get(s->result.error, "code"));
	return fail(s, "model stream line %lu: the model server sent an error: %.200s (type %s, code %s)",
		    s->line_number, json_is_string(message) ? json_string_value(message) : "(no message)",
		    type ? type : "none", code ? code : "none");
}

static int handle_chunk(struct llm_stream *s, json_t *chunk)
{
	json_t *error = json_object_get(chunk, "error");

	if (error && !json_is_null(error))
		return handle_error(s, error);
	if (handle_choices(s, chunk) < 0 || handle_usage(s, chunk) < 0)
		return -1;
	return 0;
}

/* ---- Event framing ---- */

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	default:
		return "object";
	}
}

static int handle_payload(struct llm_stream *s, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *chunk;
	int rc;

	if (len == 0)
		return 0;
	if (s->result.done)
		return fail(s, "model stream line %lu: an event came after [DONE]", s->line_number);
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		s->result.done = true;
		return 0;
	}

	chunk = json_loadb(data, len, 0, &jerr);
	if (!chunk) {
		/* jansson ends some messages with "near '<token>'", a piece of
		 * the payload that may hold a guest's data, so it is cut off. */
		char *near = strstr(jerr.text, " near '");
		if (near)
			*near = '\0';
		return fail(s, "model stream line %lu: event data is not valid JSON: %s at byte %d",
			    s->line_number, jerr.text, jerr.position);
	}
	if (!json_is_object(chunk)) {
		rc = fail(s, "model stream line %lu: event data is a JSON %s, expected an object",
			  s->line_number, json_type_name(chunk));
		json_decref(chunk);
		return rc;
	}
	rc = handle_chunk(s, chunk);
	json_decref(chunk);
	return rc;
}

/* Dispatches the event that a blank line ended. */
static int dispatch_event(struct llm_stream *s)
{
	size_t len = s->data.len;
	int rc;

	if (len == 0)
		return 0;
	len--;  /* the "\n" after the last data line */
	rc = handle_payload(s, s->data.bytes, len);
	s->data.len = 0;
	return rc;
}

static int append_data(struct llm_stream *s, const char *value, size_t len)
{
	if (s->data.len + len + 1 > LLM_STREAM_LINE_MAX + 1)
		return fail(s, "model stream line %lu: an event's data exceeds %d bytes",
			    s->line_number, LLM_STREAM_LINE_MAX);
	if (buf_append(&s->data, value, len) < 0 || buf_append(&s->data, "\n", 1) < 0)
		return fail(s, "model stream: out of memory for %zu bytes of event data", s->data.len + len);
	return 0;
}

/* Handles one complete line, without its line end. */
static int process_line(struct llm_stream *s, const char *line, size_t len)
{
	const char *colon, *value;
	size_t name_len, value_len;

	if (!s->bom_checked) {
		s->bom_checked = true;
		if (len >= 3 && memcmp(line, utf8_bom, 3) == 0) {
			line += 3;
			len -= 3;
		}
	}
	if (len == 0)
		return dispatch_event(s);
	if (line[0] == ':')
		return 0;

	colon = memchr(line, ':', len);
	name_len = colon ? (size_t)(colon - line) : len;
	value = colon ? colon + 1 : line + len;
	value_len = len - (size_t)(value - line);
	if (value_len > 0 && value[0] == ' ') {
		value++;
		value_len--;
	}

	if (name_len == 4 && memcmp(line, "data", 4) == 0)
		return append_data(s, value, value_len);
	return 0;  /* event, id, retry and unknown fields */
}

/* Returns the offset of the first CR or LF in buf, or len. */
static size_t find_line_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			return i;
	return len;
}

static int append_to_line(struct llm_stream *s, const char *bytes, size_t n)
{
	if (n > LLM_STREAM_LINE_MAX - s->line.len)
		return fail(s, "model stream line %lu is longer than %d bytes; the server's stream is malformed",
			    s->line_number, LLM_STREAM_LINE_MAX);
	if (buf_append(&s->line, bytes, n) < 0)
		return fail(s, "model stream: out of memory for a line of %zu bytes", s->line.len + n);
	return 0;
}

int llm_stream_feed(struct llm_stream *s, const char *buf, size_t len)
{
	size_t i = 0;

	if (s->failed)
		return -1;
	s->bytes_fed += len;

	while (i < len) {
		if (s->after_cr && buf[i] == '\n') {
			s->after_cr = false;
			i++;
			continue;
		}
		s->after_cr = false;

		size_t end = i + find_line_end(buf + i, len - i);
		if (append_to_line(s, buf + i, end - i) < 0)
			return -1;
		if (end == len)
			break;

		s->after_cr = buf[end] == '\r';
		if (process_line(s, s->line.bytes ? s->line.bytes : "", s->line.len) < 0)
			return -1;
		s->line.len = 0;
		s->line_number++;
		i = end + 1;
	}
	return 0;
}

int llm_stream_finish(struct llm_stream *s)
{
	const struct llm_result *r = &s->result;

	if (s->failed)
		return -1;

	/* An event that no blank line ended is discarded, as SSE requires. */
	if (!r->done && r->finish_reason[0] == '\0')
		return fail(s, "model stream ended after %zu bytes with neither [DONE] nor a finish_reason; the transfer was cut off",
			    s->bytes_fed);
	for (size_t i = 0; i < r->ncalls; i++) {
		if (!r->calls[i].id)
			return fail(s, "model stream: tool call %d has no id", r->calls[i].index);
		if (!r->calls[i].name)
			return fail(s, "model stream: tool call %d has no function name", r->calls[i].index);
	}
	return 0;
}

const struct llm_result *llm_stream_result(const struct llm_stream *s)
{
	return &s->result;
}

const char *llm_stream_error(const struct llm_stream *s)
{
	return s->failed ? s->message : "";
}

void llm_stream_free(struct llm_stream *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->result.ncalls; i++) {
		free(s->result.calls[i].id);
		free(s->result.calls[i].name);
		free(s->result.calls[i].arguments);
	}
	free(s->result.calls);
	json_decref(s->result.error);
	free(s->call_text);
	free(s->content.bytes);
	free(s->line.bytes);
	free(s->data.bytes);
	free(s);
}
