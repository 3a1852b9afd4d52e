#ifndef MAITRED_LOAD_LOOP_H
#define MAITRED_LOAD_LOOP_H

#include <curl/curl.h>
#include <stddef.h>

/*
 * One thread's event loop for many HTTP transfers: the libcurl multi
 * interface in its socket mode (curl_multi_socket_action) driven by epoll,
 * so that the cost of a wake-up follows the sockets that are ready, not the
 * number open. Connections have no total limit.
 */

struct load_transfer;

/* Called once when a transfer ends, after its handle left the loop, with
 * libcurl's result and the time in ms (load_now_ms). */
typedef void (*load_transfer_done_fn)(struct load_transfer *transfer, CURLcode code,
				      double now_ms);

/* A transfer in the loop. Its easy handle's CURLOPT_PRIVATE is set to it. */
struct load_transfer {
	CURL *easy;
	load_transfer_done_fn on_done;
	void *owner;
};

struct load_loop {
	CURLM *multi;
	int epoll_fd;
	double curl_due_ms; /* when libcurl's timer expires; INFINITY when unset */
	size_t active;      /* transfers added and not yet done */
};

/* Returns the time in milliseconds on the monotonic clock. */
double load_now_ms(void);

/* Creates the multi handle and the epoll instance. Returns 0, or -1 with
 * the failed call in err. Close with load_loop_close even after -1. */
int load_loop_open(struct load_loop *loop, char *err, size_t err_size);

/* Frees the multi handle and the epoll instance. Remove every transfer
 * still in the loop first (load_loop_remove): the easy handles are the
 * callers'. */
void load_loop_close(struct load_loop *loop);

/* Starts a transfer. Returns 0, or -1 when libcurl refuses the handle. */
int load_loop_add(struct load_loop *loop, struct load_transfer *transfer);

/* Takes a transfer out of the loop without calling on_done. */
void load_loop_remove(struct load_loop *loop, struct load_transfer *transfer);

/* Waits until a socket is ready, libcurl's timer expires or timeout_ms
 * passes (whichever comes first), lets libcurl act, and calls on_done for
 * every transfer that ended. A signal ends the wait early. Returns 0, or
 * -1 with the reason in err when epoll fails. */
int load_loop_step(struct load_loop *loop, int timeout_ms, char *err, size_t err_size);

#endif
