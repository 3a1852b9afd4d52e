#ifndef MAITRED_LLM_H
#define MAITRED_LLM_H

/*
 * One model call of a turn: the chat completions request, its libcurl easy
 * handle on the dispatcher's multi handle, and the verdict when it ends.
 */
#include <stdbool.h>

#include <curl/curl.h>

#include "shm/region.h"
#include "workers/turn.h"

struct llm_failure {
	enum shm_model_error kind;
	bool retryable;
	bool timeout;
	enum shm_timeout_kind timeout_kind;
	long retry_after_ms;        /* from Retry-After or x-ratelimit-reset-*, or -1 */
	char message[200];          /* for logs; never the guest's text */
};

enum llm_outcome { LLM_TEXT, LLM_TOOLS, LLM_FAILED };

/* Called by the parser for each content fragment (dispatcher thread). */
void llm_on_delta(struct turn *t, const char *text, size_t len);

/* Builds the request from the session history, the guest's message and
 * the turn's tool rounds, and adds the transfer to multi. with_tools false
 * asks the model to answer without calling tools. Returns 0, or -1 with
 * the reason in err. */
int llm_call_start(CURLM *multi, struct turn *t, bool with_tools, char *err, size_t errlen);

/* Judges a finished transfer. On LLM_TOOLS the parser's result holds the
 * calls; on LLM_FAILED f says why and whether a retry may help. */
enum llm_outcome llm_call_finish(struct turn *t, CURLcode code, struct llm_failure *f);

/* Removes the transfer from multi and frees it (guest gone, deadline). */
void llm_call_abort(CURLM *multi, struct turn *t);

/* Parses "1s", "6m0s", "250ms", "1.5s" (x-ratelimit-reset-*). Returns ms or -1. */
long llm_parse_reset(const char *text);

#endif
