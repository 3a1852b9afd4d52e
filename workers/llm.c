#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "workers/llm.h"
#include "workers/llm_stream.h"
#include "workers/prompts.h"
#include "workers/worker.h"

#define ERROR_BODY_MAX 65536

static void on_parser_delta(void *user, const char *text, size_t len)
{
	llm_on_delta(user, text, len);
}

/* The messages of the request: system prompt, history, the guest's
 * message, then this turn's tool rounds. */
static json_t *build_messages(struct turn *t)
{
	const struct worker *w = worker_self;
	const char *name = w->cfg->restaurant_name[0] ? w->cfg->restaurant_name : "the restaurant";
	char *system = prompts_system(t->agent, name, w->timezone);
	json_t *messages = json_array();

	json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "system", "content", system ? system : ""));
	free(system);
	json_t *history = json_object_get(t->session, "messages");
	size_t i;
	json_t *m;
	json_array_foreach(history, i, m)
		json_array_append(messages, m);
	json_array_append_new(messages, json_pack("{s:s,s:s}", "role", "user", "content", t->message));
	json_array_foreach(t->convo, i, m)
		json_array_append(messages, m);
	return messages;
}

static char *build_body(struct turn *t, bool with_tools)
{
	const struct config *cfg = worker_self->cfg;
	json_t *body = json_pack("{s:s,s:o,s:b,s:{s:b},s:f,s:i}",
				 "model", cfg->openai_model,
				 "messages", build_messages(t),
				 "stream", 1,
				 "stream_options", "include_usage", 1,
				 "temperature", prompts_temperature(t->agent),
				 "max_tokens", prompts_max_tokens(t->agent));
	json_object_set_new(body, "tools", tools_openai_schema(t->agent));
	if (!with_tools)
		json_object_set_new(body, "tool_choice", json_string("none"));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

long llm_parse_reset(const char *text)
{
	double total = 0;
	const char *p = text;
	bool any = false;

	while (*p == ' ')
		p++;
	while (*p && *p != '\r' && *p != '\n') {
		char *end;
		double value = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			total += value / 1000;
			p += 2;
		} else if (*p == 's') {
			total += value;
			p++;
		} else if (*p == 'm') {
			total += value * 60;
			p++;
		} else if (*p == 'h') {
			total += value * 3600;
			p++;
		} else if (!*p || *p == '\r' || *p == '\n') {
			total += value;   /* a bare number of seconds */
		} else {
			return -1;
		}
		any = true;
	}
	return any ? (long)(total * 1000) : -1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
	struct turn *t = user;
	size_t len = size * n;
	char line[256];
	if (len >= sizeof(line))
		return len;
	memcpy(line, buf, len);
	line[len] = '\0';

	long ms = -1;
	if (strncasecmp(line, "retry-after:", 12) == 0) {
		char *end;
		long seconds = strtol(line + 12, &end, 10);
		if (end != line + 12 && seconds >= 0 && seconds < 3600)
			ms = seconds * 1000;
	} else if (strncasecmp(line, "x-ratelimit-reset-requests:", 27) == 0) {
		ms = llm_parse_reset(line + 27);
	} else if (strncasecmp(line, "x-ratelimit-remaining-requests:", 31) == 0) {
		t->remaining_requests = strtol(line + 31, NULL, 10);
		return len;
	}
	if (ms >= 0 && (t->retry_after_s < 0 || ms > t->retry_after_s))
		t->retry_after_s = (int)ms;   /* held in ms despite the name */
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *user)
{
	struct turn *t = user;
	size_t len = size * n;

	if (!t->http_status)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);
	t->last_chunk_ms = shm_now_ms();
	if (t->http_status == 200)
		return llm_stream_feed(t->parser, buf, len) == 0 ? len : 0;

	/* An error body: keep its start for the log. */
	if (t->error_len < ERROR_BODY_MAX) {
		size_t take = len < ERROR_BODY_MAX - t->error_len ? len : ERROR_BODY_MAX - t->error_len;
		char *grown = realloc(t->error_body, t->error_len + take + 1);
		if (grown) {
			memcpy(grown + t->error_len, buf, take);
			t->error_len += take;
			grown[t->error_len] = '\0';
			t->error_body = grown;
		}
	}
	return len;
}

static void call_reset(struct turn *t)
{
	llm_stream_free(t->parser);
	t->parser = NULL;
	curl_slist_free_all(t->headers);
	t->headers = NULL;
	free(t->request_body);
	t->request_body = NULL;
	free(t->error_body);
	t->error_body = NULL;
	t->error_len = 0;
	t->http_status = 0;
	t->retry_after_s = -1;
	t->remaining_requests = -1;
	if (t->easy) {
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
}

int llm_call_start(CURLM *multi, struct turn *t, bool with_tools, char *err, size_t errlen)
{
	const struct config *cfg = worker_self->cfg;
	char url[600], auth[300];

	call_reset(t);
	t->parser = llm_stream_new(on_parser_delta, t);
	t->request_body = build_body(t, with_tools);
	t->easy = curl_easy_init();
	if (!t->parser || !t->request_body || !t->easy) {
		snprintf(err, errlen, "out of memory building the model request");
		return -1;
	}
	size_t base_len = strlen(cfg->openai_base_url);
	snprintf(url, sizeof(url), "%.*s/chat/completions", (int)(base_len && cfg->openai_base_url[base_len - 1] == '/' ? base_len - 1 : base_len), cfg->openai_base_url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->openai_api_key);
	t->headers = curl_slist_append(NULL, auth);
	t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
	t->headers = curl_slist_append(t->headers, "Accept: text/event-stream");

	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->request_body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->openai_connect_timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->openai_timeout);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "maitred");

	t->call_started_ms = shm_now_ms();
	t->last_chunk_ms = 0;
	shm_add(&worker_self->slot->model_calls, 1);
	if (curl_multi_add_handle(multi, e) != CURLM_OK) {
		snprintf(err, errlen, "curl_multi_add_handle() failed");
		return -1;
	}
	return 0;
}

void llm_call_abort(CURLM *multi, struct turn *t)
{
	if (t->easy) {
		curl_multi_remove_handle(multi, t->easy);
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
}

__attribute__((format(printf, 4, 5)))
static enum llm_outcome fail(struct llm_failure *f, enum shm_model_error kind, bool retryable,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	f->kind = kind;
	f->retryable = retryable;
	return LLM_FAILED;
}

static enum llm_outcome judge_transport(struct turn *t, CURLcode code, struct llm_failure *f)
{
	if (code == CURLE_OPERATION_TIMEDOUT) {
		f->timeout = true;
		f->timeout_kind = t->http_status ? TIMEOUT_CALL : TIMEOUT_CONNECT;
		return fail(f, MODEL_ERR_TIMEOUT, true, "model call timed out: %s", curl_easy_strerror(code));
	}
	if (code == CURLE_WRITE_ERROR) {
		const struct llm_result *r = llm_stream_result(t->parser);
		if (r->error)
			return fail(f, MODEL_ERR_SERVER, true, "the model server sent an error in the stream: %s",
				    llm_stream_error(t->parser));
		return fail(f, MODEL_ERR_BAD_RESPONSE, false, "malformed model stream: %s",
			    llm_stream_error(t->parser));
	}
	return fail(f, MODEL_ERR_CONNECTION, true, "model call failed: %s", curl_easy_strerror(code));
}

enum llm_outcome llm_call_finish(struct turn *t, CURLcode code, struct llm_failure *f)
{
	memset(f, 0, sizeof(*f));
	f->retry_after_ms = t->retry_after_s;
	if (!t->http_status && t->easy)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->http_status);

	if (code != CURLE_OK)
		return judge_transport(t, code, f);
	if (t->http_status == 429)
		return fail(f, MODEL_ERR_RATE_LIMITED, true, "the model server answered 429");
	if (t->http_status >= 500)
		return fail(f, MODEL_ERR_SERVER, true, "the model server answered %ld", t->http_status);
	if (t->http_status != 200) {
		log_error("model_request_rejected", "the model server answered %ld: %.300s", t->http_status,
			  t->error_body ? t->error_body : "");
		return fail(f, MODEL_ERR_BAD_RESPONSE, false, "the model server answered %ld", t->http_status);
	}
	if (llm_stream_finish(t->parser) < 0)
		return fail(f, MODEL_ERR_BAD_RESPONSE, true, "the model stream was cut off: %s",
			    llm_stream_error(t->parser));

	const struct llm_result *r = llm_stream_result(t->parser);
	if (r->has_usage) {
		t->prompt_tokens += r->prompt_tokens;
		t->completion_tokens += r->completion_tokens;
	}
	if (r->ncalls == 0)
		return LLM_TEXT;

	/* After the last tool round the request sets tool_choice "none", so
	 * running these calls would let the model loop until TURN_TIMEOUT. */
	int max_rounds = worker_self->cfg->max_tool_rounds;
	if (t->rounds >= max_rounds)
		return fail(f, MODEL_ERR_BAD_RESPONSE, false,
			    "the model called tools after the last of %d tool rounds (MAX_TOOL_ROUNDS)", max_rounds);
	return LLM_TOOLS;
}
