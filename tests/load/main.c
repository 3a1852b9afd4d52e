/*
 * maitred-load: simulated guests chat with maitred over Server-Sent Events
 * and the tool reports latency percentiles, rates, events and errors.
 * docs/load-tool.md is the manual.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tests/load/load_options.h"
#include "tests/load/load_report.h"
#include "tests/load/load_run.h"
#include "tests/load/load_scenario.h"

#define EXIT_USAGE 2
/* Descriptors the tool needs besides one socket a guest: stdio, epoll,
 * health probes and libcurl's spares. */
#define SPARE_DESCRIPTORS 64

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int signo)
{
	(void)signo;
	stop_requested = 1;
}

/* Lets a first SIGINT or SIGTERM end the run early with a report. No
 * SA_RESTART, so that epoll_wait returns at once. */
static void install_signal_handlers(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = on_stop_signal;
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Raises the open-file limit to the hard limit, because every guest in
 * flight uses a socket, and warns when even that is too low. */
static void raise_open_file_limit(unsigned users)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
		perror("maitred-load: getrlimit(RLIMIT_NOFILE) failed");
		return;
	}
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
			perror("maitred-load: setrlimit(RLIMIT_NOFILE) failed");
	}
	if (limit.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)users + SPARE_DESCRIPTORS > limit.rlim_cur)
		fprintf(stderr,
			"maitred-load: warning: %u guests need about %u open files but the limit is "
			"%llu; turns past it fail as \"connect\". Raise the hard limit (ulimit -Hn) "
			"or lower --users\n",
			users, users + SPARE_DESCRIPTORS, (unsigned long long)limit.rlim_cur);
}

static int run(const struct load_options *options, const struct load_scenario *scenario)
{
	struct load_result result;
	char err[512] = "";
	bool show_progress = options->progress == 1 ||
			     (options->progress == -1 && isatty(STDERR_FILENO));
	int status = 0;

	load_result_init(&result);
	if (load_run(options, scenario, &stop_requested, show_progress ? stderr : NULL,
		     isatty(STDERR_FILENO), &result, err, sizeof(err)) != 0) {
		fprintf(stderr, "maitred-load: the run failed: %s\n", err);
		status = 1;
	}

	int written = options->json ? load_report_json(stdout, options, &result)
				    : load_report_table(stdout, options, &result);

	if (written != 0) {
		fprintf(stderr, "maitred-load: cannot write the report to stdout\n");
		status = 1;
	}
	load_result_free(&result);
	return status;
}

int main(int argc, char **argv)
{
	struct load_options options;
	struct load_scenario scenario;
	char err[512] = "";
	int status = EXIT_USAGE;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "maitred-load: curl_global_init() failed\n");
		return 1;
	}
	load_options_default(&options);

	switch (load_options_parse(&options, argc, argv, err, sizeof(err))) {
	case LOAD_OPTIONS_HELP:
		fputs(load_options_usage, stdout);
		status = 0;
		goto done;
	case LOAD_OPTIONS_INVALID:
		fprintf(stderr, "maitred-load: %s\n", err);
		goto done;
	case LOAD_OPTIONS_RUN:
		break;
	}

	if (load_scenario_load(&scenario, options.scenario_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "maitred-load: --scenario: %s\n", err);
		goto done;
	}

	install_signal_handlers();
	raise_open_file_limit(options.users);
	status = run(&options, &scenario);
	load_scenario_free(&scenario);

done:
	load_options_free(&options);
	curl_global_cleanup();
	return status;
}
