/* The admin listener's reports, read from the shared region. */
#include <stdlib.h>

#include "shm/render.h"
#include "workers/routes.h"
#include "workers/worker.h"

void route_metrics(struct http_request *req)
{
	size_t len = 0;
	char *text = render_prometheus(worker_self->region, &len);
	if (!text) {
		http_reply_error(&req->reply, 503, "overloaded", "out of memory building the metrics");
		return;
	}
	http_reply_text(&req->reply, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

void route_stats(struct http_request *req)
{
	http_reply_json(&req->reply, 200, render_stats(worker_self->region));
}
