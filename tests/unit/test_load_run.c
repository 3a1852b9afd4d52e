#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/load/load_loop.h"
#include "tests/load/load_run.h"
#include "tests/unit/test.h"

/* The session id the canned server hands out on a guest's first turn. */
#define SERVER_SESSION "sess_from_meta_1"

/* Returns a socket listening on 127.0.0.1 at an ephemeral port. The kernel
 * completes connections into the backlog even if nobody calls accept(). */
static int listen_loopback(int *port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(fd, 64) != 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

static void prepare_options(struct load_options *options, char *url, size_t url_size, int port)
{
	char err[256];

	load_options_default(options);
	snprintf(url, url_size, "http://127.0.0.1:%d", port);
	options->url = url;
	options->chat_url = load_options_chat_url(url, err, sizeof(err));
	options->progress = 0;
}

static void parse_scenario(struct load_scenario *scenario)
{
	char err[256] = "";
	const char text[] = "Do you have vegan starters?\nAnd desserts?\n\nBook for {guest}.\n";

	CHECK_INT(load_scenario_parse(scenario, "test", text, strlen(text), err, sizeof(err)), 0);
}

TEST(load_run_stops_at_duration)
{
	struct load_options options;
	struct load_scenario scenario;
	struct load_result result;
	char url[64], err[256] = "";
	int port = 0;
	int fd = listen_loopback(&port);

	CHECK(fd >= 0);
	prepare_options(&options, url, sizeof(url), port);
	options.users = 3;
	options.turns = 2;
	options.duration_s = 1.0;
	parse_scenario(&scenario);
	load_result_init(&result);

	double start = load_now_ms();

	CHECK_INT(load_run(&options, &scenario, NULL, NULL, false, &result, err, sizeof(err)), 0);

	double elapsed = load_now_ms() - start;

	CHECK(elapsed >= 1000);
	CHECK(elapsed < 2000);
	CHECK(result.elapsed_s >= 1.0);
	CHECK(result.deadline_reached);
	CHECK_INT(result.planned, 6);
	CHECK_INT(result.started, 3);
	CHECK_INT(result.ok, 0);
	CHECK_INT(result.failed, 3);
	CHECK_INT(result.not_started, 3);
	CHECK_INT(load_counts_get(&result.errors, "deadline"), 3);
	CHECK_INT(load_counts_get(&result.statuses, "none"), 3);

	load_result_free(&result);
	load_scenario_free(&scenario);
	load_options_free(&options);
	close(fd);
}

TEST(load_run_counts_timeouts)
{
	struct load_options options;
	struct load_scenario scenario;
	struct load_result result;
	char url[64], err[256] = "";
	int port = 0;
	int fd = listen_loopback(&port);

	CHECK(fd >= 0);
	prepare_options(&options, url, sizeof(url), port);
	options.users = 2;
	options.turns = 2;
	options.timeout_ms = 200;
	options.duration_s = 5;
	parse_scenario(&scenario);
	load_result_init(&result);

	CHECK_INT(load_run(&options, &scenario, NULL, NULL, false, &result, err, sizeof(err)), 0);
	CHECK(!result.deadline_reached);
	CHECK_INT(result.started, 4);
	CHECK_INT(load_counts_get(&result.errors, "timeout"), 4);
	CHECK(result.elapsed_s >= 0.4);
	CHECK(result.elapsed_s < 2);
	CHECK_INT(result.connections, 4);

	load_result_free(&result);
	load_scenario_free(&scenario);
	load_options_free(&options);
	close(fd);
}

TEST(load_run_counts_connect_errors)
{
	struct load_options options;
	struct load_scenario scenario;
	struct load_result result;
	char url[64], err[256] = "";
	int port = 0;
	int fd = listen_loopback(&port);

	/* Nobody listens on the port once it is closed. */
	close(fd);
	prepare_options(&options, url, sizeof(url), port);
	options.users = 2;
	options.turns = 2;
	options.duration_s = 5;
	parse_scenario(&scenario);
	load_result_init(&result);

	CHECK_INT(load_run(&options, &scenario, NULL, NULL, false, &result, err, sizeof(err)), 0);
	CHECK(!result.deadline_reached);
	CHECK_INT(result.started, 4);
	CHECK_INT(result.failed, 4);
	CHECK_INT(load_counts_get(&result.errors, "connect"), 4);
	CHECK(result.elapsed_s < 2);

	load_result_free(&result);
	load_scenario_free(&scenario);
	load_options_free(&options);
}

TEST(load_run_stop_flag_ends_run)
{
	struct load_options options;
	struct load_scenario scenario;
	struct load_result result;
	volatile sig_atomic_t stop = 1;
	char url[64], err[256] = "";

	prepare_options(&options, url, sizeof(url), 9);
	parse_scenario(&scenario);
	load_result_init(&result);

	CHECK_INT(load_run(&options, &scenario, &stop, NULL, false, &result, err, sizeof(err)), 0);
	CHECK(result.interrupted);
	CHECK_INT(result.started, 0);
	CHECK_INT(result.not_started, result.planned);

	load_result_free(&result);
	load_scenario_free(&scenario);
	load_options_free(&options);
}

/* Reads one HTTP request into buf. Returns its length, or -1. */
static ssize_t read_request(int fd, char *buf, size_t size)
{
	size_t used = 0;

	while (used + 1 < size) {
		ssize_t got = read(fd, buf + used, size - 1 - used);

		if (got <= 0)
			return -1;
		used += (size_t)got;
		buf[used] = '\0';

		char *head_end = strstr(buf, "\r\n\r\n");
		const char *length = strcasestr(buf, "Content-Length:");

		if (head_end && (!length || length > head_end))
			return (ssize_t)used;
		if (head_end &&
		    used >= (size_t)(head_end + 4 - buf) + strtoul(length + 15, NULL, 10))
			return (ssize_t)used;
	}
	return -1;
}

static void write_all(int fd, const char *text)
{
	size_t len = strlen(text);

	while (len > 0) {
		ssize_t put = write(fd, text, len);

		if (put <= 0)
			return;
		text += put;
		len -= (size_t)put;
	}
}

/* Serves one connection. The first message ("first") must come without a
 * session id and gets SERVER_SESSION in its meta event; the second must
 * carry SERVER_SESSION. Any other request gets 400. */
static void answer_connection(int fd)
{
	char request[8192];

	if (read_request(fd, request, sizeof(request)) < 0)
		return;
	if (strncmp(request, "GET /healthz ", 13) == 0) {
		write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
		return;
	}

	bool first = strstr(request, "\"message\":\"first\"") != NULL;
	bool second = strstr(request, "\"message\":\"second\"") != NULL;
	bool has_session = strstr(request, "\"session_id\"") != NULL;
	bool carried = strstr(request, "\"session_id\":\"" SERVER_SESSION "\"") != NULL;

	if (!(first && !has_session) && !(second && carried)) {
		write_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n"
			      "Connection: close\r\n\r\n{}");
		return;
	}
	write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		      "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
		      "event: meta\r\ndata: {\"session_id\":\"" SERVER_SESSION "\"}\r\n\r\n"
		      ": keep-alive\r\n\r\n"
		      "event: delta\r\ndata: {\"text\":\"Hello\"}\r\n\r\n");
	usleep(200 * 1000);
	write_all(fd, "event: delta\ndata: {\"text\":\" there\"}\n\n"
		      "event: done\ndata: {\"reply\":\"Hello there\"}\n\n");
}

/* Forks a server on listen_fd that serves each connection in its own
 * process. It ends itself after 10 s if the test does not kill it. */
static pid_t start_canned_server(int listen_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;

	signal(SIGCHLD, SIG_IGN);
	alarm(10);
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() == 0) {
			answer_connection(fd);
			close(fd);
			_exit(0);
		}
		close(fd);
	}
}

TEST(load_run_carries_session)
{
	struct load_options options;
	struct load_scenario scenario;
	struct load_result result;
	char url[64], healthz[96], err[256] = "";
	int port = 0;
	int fd = listen_loopback(&port);

	CHECK(fd >= 0);
	pid_t server = start_canned_server(fd);

	CHECK(server > 0);
	prepare_options(&options, url, sizeof(url), port);
	snprintf(healthz, sizeof(healthz), "http://127.0.0.1:%d/healthz", port);
	options.users = 3;
	options.turns = 2;
	options.duration_s = 8;
	options.healthz_url = healthz;
	options.healthz_rate = 50;
	CHECK_INT(load_scenario_parse(&scenario, "test", "first\nsecond\n", 13, err, sizeof(err)), 0);
	load_result_init(&result);

	CHECK_INT(load_run(&options, &scenario, NULL, NULL, false, &result, err, sizeof(err)), 0);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	close(fd);

	CHECK_STR(err, "");
	CHECK(!result.deadline_reached);
	CHECK_INT(result.started, 6);
	CHECK_INT(result.ok, 6);
	CHECK_INT(load_counts_get(&result.statuses, "200"), 6);
	CHECK_INT(load_counts_total(&result.errors), 0);
	CHECK_INT(result.events.meta, 6);
	CHECK_INT(result.events.delta, 12);
	CHECK_INT(result.events.done, 6);
	CHECK_INT(result.events.comments, 6);
	CHECK_INT(result.first_delta.count, 6);
	CHECK_INT(result.whole_turn.count, 6);
	/* The server sleeps 200 ms between the first delta and done. Both
	 * arrays hold the ok turns in the same order, and the first delta is
	 * timed on arrival, so it precedes the end by most of that pause. The
	 * margin allows for a slow loop (sanitizers, a busy machine). */
	for (size_t i = 0; i < result.whole_turn.count && i < result.first_delta.count; i++) {
		CHECK(result.whole_turn.values[i] >= 200);
		CHECK(result.whole_turn.values[i] - result.first_delta.values[i] >= 100);
	}
	/* Two turns of 200 ms each leave time for a dozen probes at 50/s. */
	CHECK(result.healthz.probes >= 5);
	CHECK_INT(result.healthz.ok, result.healthz.probes);
	CHECK_INT(result.healthz.latency.count, result.healthz.ok);

	load_result_free(&result);
	load_scenario_free(&scenario);
	load_options_free(&options);
}
