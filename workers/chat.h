#ifndef MAITRED_CHAT_H
#define MAITRED_CHAT_H

/* POST /v1/chat on the HTTP side: checks the request, hands the turn to the
 * dispatcher, and sends what it produces, as a stream or one JSON reply. */
#include <stdbool.h>
#include <stdint.h>

#include "workers/http.h"

/* The route handler: validates the body and defers the request. */
void chat_start(struct http_request *req);

/* Called when the dispatcher resumes the request: queues the stream, the
 * JSON reply or the early error. */
enum MHD_Result chat_resumed(struct http_request *req);

/* Called when the request completes; aborted is true when it did not end
 * cleanly (the guest left, or a send failed). */
void chat_completed(struct http_request *req, bool aborted);

int chat_active_count(void);
int chat_suspended_count(void);

/* Returns the number of event streams this worker is sending now. */
int64_t chat_stream_count(void);

/* Starts and stops the thread that notices guests who close a connection
 * while it is suspended (libmicrohttpd does not watch those sockets). */
int chat_watcher_start(void);
void chat_watcher_stop(void);

#endif
