#ifndef MAITRED_LOAD_OPTIONS_H
#define MAITRED_LOAD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The command line of maitred-load. docs/load-tool.md describes each flag. */
struct load_options {
	const char *url;         /* base URL as given */
	char *chat_url;          /* the POST /v1/chat endpoint derived from url */
	unsigned users;
	unsigned turns;
	const char *scenario_path;
	uint64_t seed;
	double duration_s;
	unsigned ramp_ms;
	unsigned think_ms;
	unsigned timeout_ms;     /* per turn, from send to end of stream */
	const char *healthz_url; /* NULL: no probes */
	unsigned healthz_rate;   /* probes per second */
	unsigned healthz_timeout_ms;
	bool json;
	int progress;            /* -1: when stderr is a terminal, 0: never, 1: always */
	const char *label;
};

enum load_options_result {
	LOAD_OPTIONS_RUN,
	LOAD_OPTIONS_HELP,
	LOAD_OPTIONS_INVALID,
};

/* Sets every option to its default. */
void load_options_default(struct load_options *options);

/* Parses argv into options, which must hold the defaults first. Returns
 * LOAD_OPTIONS_RUN, LOAD_OPTIONS_HELP for -h or --help, or
 * LOAD_OPTIONS_INVALID with a message naming the flag, the value and the
 * fix in err. The strings point into argv, except chat_url, which
 * load_options_free frees. */
enum load_options_result load_options_parse(struct load_options *options, int argc,
					    char **argv, char *err, size_t err_size);

/* Frees what load_options_parse allocated. */
void load_options_free(struct load_options *options);

/* Builds the chat endpoint from a base URL: "http://host:8000" and
 * "http://host:8000/" become "http://host:8000/v1/chat"; a URL whose path
 * already ends in "/v1/chat" is kept. Only http and https are accepted.
 * Returns a malloc'd string, or NULL with the reason in err. */
char *load_options_chat_url(const char *base, char *err, size_t err_size);

/* The usage text printed by --help. */
extern const char load_options_usage[];

#endif
