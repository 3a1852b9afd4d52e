#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tests/load/load_loop.h"

#define EPOLL_BATCH 256

double load_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

/* libcurl's CURLMOPT_SOCKETFUNCTION: mirrors the sockets it wants watched
 * into the epoll set. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *user, void *socket_data)
{
	struct load_loop *loop = user;
	struct epoll_event event = { .data.fd = fd };

	(void)easy;
	(void)socket_data;
	if (what == CURL_POLL_REMOVE) {
		/* The socket may already be closed, which removed it too. */
		epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}

	if (what & CURL_POLL_IN)
		event.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		event.events |= EPOLLOUT;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd, &event) == 0)
		return 0;
	if (errno == ENOENT && epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) == 0)
		return 0;
	return -1;
}

/* libcurl's CURLMOPT_TIMERFUNCTION: records when to call it back. */
static int on_timer(CURLM *multi, long timeout_ms, void *user)
{
	struct load_loop *loop = user;

	(void)multi;
	loop->curl_due_ms = timeout_ms < 0 ? INFINITY : load_now_ms() + (double)timeout_ms;
	return 0;
}

int load_loop_open(struct load_loop *loop, char *err, size_t err_size)
{
	memset(loop, 0, sizeof(*loop));
	loop->curl_due_ms = INFINITY;
	loop->epoll_fd = -1;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		snprintf(err, err_size, "epoll_create1() failed: %s", strerror(errno));
		return -1;
	}

	loop->multi = curl_multi_init();
	if (!loop->multi) {
		snprintf(err, err_size, "curl_multi_init() failed");
		return -1;
	}
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	return 0;
}

void load_loop_close(struct load_loop *loop)
{
	if (loop->multi) {
		curl_multi_cleanup(loop->multi);
		loop->multi = NULL;
	}
	if (loop->epoll_fd >= 0)
		close(loop->epoll_fd);
	loop->epoll_fd = -1;
	loop->active = 0;
}

int load_loop_add(struct load_loop *loop, struct load_transfer *transfer)
{
	curl_easy_setopt(transfer->easy, CURLOPT_PRIVATE, transfer);
	if (curl_multi_add_handle(loop->multi, transfer->easy) != CURLM_OK)
		return -1;
	loop->active++;
	return 0;
}

void load_loop_remove(struct load_loop *loop, struct load_transfer *transfer)
{
	if (curl_multi_remove_handle(loop->multi, transfer->easy) == CURLM_OK && loop->active > 0)
		loop->active--;
}

/* Calls on_done for each transfer that libcurl reports finished. */
static void finish_transfers(struct load_loop *loop)
{
	CURLMsg *message;
	int queued;

	while ((message = curl_multi_info_read(loop->multi, &queued))) {
		struct load_transfer *transfer = NULL;
		CURLcode code = message->data.result;

		if (message->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&transfer);
		load_loop_remove(loop, transfer);
		transfer->on_done(transfer, code, load_now_ms());
	}
}

static void act_on_socket(struct load_loop *loop, const struct epoll_event *event)
{
	int flags = 0;
	int running;

	if (event->events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (event->events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (event->events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(loop->multi, event->data.fd, flags, &running);
}

int load_loop_step(struct load_loop *loop, int timeout_ms, char *err, size_t err_size)
{
	struct epoll_event events[EPOLL_BATCH];
	double now = load_now_ms();
	int running;

	if (loop->curl_due_ms - now < timeout_ms)
		timeout_ms = loop->curl_due_ms <= now ? 0 : (int)ceil(loop->curl_due_ms - now);

	int ready = epoll_wait(loop->epoll_fd, events, EPOLL_BATCH, timeout_ms);

	if (ready < 0 && errno != EINTR) {
		snprintf(err, err_size, "epoll_wait() failed: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < ready; i++)
		act_on_socket(loop, &events[i]);

	/* on_timer may set a new time while libcurl acts, so clear it first. */
	if (loop->curl_due_ms <= load_now_ms()) {
		loop->curl_due_ms = INFINITY;
		curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	finish_transfers(loop);
	return 0;
}
