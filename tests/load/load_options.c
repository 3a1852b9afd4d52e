#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/load/load_options.h"

#define CHAT_PATH "/v1/chat"

const char load_options_usage[] =
	"usage: maitred-load [flags]\n"
	"Simulated guests chat with maitred over POST /v1/chat (Server-Sent Events)\n"
	"and the tool reports time to first delta, whole-turn time and errors.\n"
	"\n"
	"  --url URL              server base URL (default http://127.0.0.1:8000)\n"
	"  --users N              concurrent guests, 1..100000 (default 10)\n"
	"  --turns M              turns per guest, in sequence, 1..10000 (default 3)\n"
	"  --scenario FILE        guest messages (default tests/load/scenarios/mixed.txt)\n"
	"  --seed S               picks each guest's first conversation (default 1)\n"
	"  --duration SECONDS     hard stop, 0.1..86400, decimals allowed (default 120)\n"
	"  --ramp-ms MS           spread guest starts over MS milliseconds (default 0)\n"
	"  --think-ms MS          pause between a guest's turns, in ms (default 0)\n"
	"  --timeout-ms MS        per-turn limit from send to end of stream (default 120000)\n"
	"  --healthz-url URL      also probe this URL during the run\n"
	"  --healthz-rate N       probes per second, 1..1000 (default 10)\n"
	"  --healthz-timeout-ms MS  per-probe limit (default 5000)\n"
	"  --progress             print a progress line every second even when stderr\n"
	"                         is not a terminal\n"
	"  --no-progress          never print the progress line\n"
	"  --json                 print one JSON object instead of the table\n"
	"  --label TEXT           name carried into the report\n"
	"  -h, --help             print this text\n"
	"\n"
	"Exit status: 0 when the run completed (errors are counted, not fatal),\n"
	"1 when the tool itself failed, 2 on bad usage.\n";

void load_options_default(struct load_options *options)
{
	memset(options, 0, sizeof(*options));
	options->url = "http://127.0.0.1:8000";
	options->users = 10;
	options->turns = 3;
	options->scenario_path = "tests/load/scenarios/mixed.txt";
	options->seed = 1;
	options->duration_s = 120;
	options->timeout_ms = 120000;
	options->healthz_rate = 10;
	options->healthz_timeout_ms = 5000;
	options->progress = -1;
}

void load_options_free(struct load_options *options)
{
	free(options->chat_url);
	options->chat_url = NULL;
}

/* Parses a decimal integer in min..max. Returns 0 or -1 with err filled. */
static int parse_unsigned(const char *flag, const char *text, unsigned long long min,
			  unsigned long long max, unsigned long long *out, char *err,
			  size_t err_size)
{
	char *end = NULL;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 ||
	    value < min || value > max) {
		snprintf(err, err_size, "%s: invalid value \"%s\"; give a whole number in %llu..%llu",
			 flag, text, min, max);
		return -1;
	}
	*out = value;
	return 0;
}

static int parse_seconds(const char *flag, const char *text, double *out, char *err,
			 size_t err_size)
{
	char *end = NULL;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (end == text || *end != '\0' || errno != 0 || !(value >= 0.1 && value <= 86400)) {
		snprintf(err, err_size,
			 "%s: invalid value \"%s\"; give seconds in 0.1..86400, such as 60 or 2.5",
			 flag, text);
		return -1;
	}
	*out = value;
	return 0;
}

/* Parses url with libcurl's URL parser and checks its scheme. Returns the
 * handle, or NULL with err filled. */
static CURLU *parse_http_url(const char *flag, const char *url, char *err, size_t err_size)
{
	CURLU *handle = curl_url();
	char *scheme = NULL;

	if (!handle) {
		snprintf(err, err_size, "%s: out of memory", flag);
		return NULL;
	}

	CURLUcode rc = curl_url_set(handle, CURLUPART_URL, url, 0);

	if (rc != CURLUE_OK) {
		snprintf(err, err_size, "%s: invalid URL \"%s\" (%s); give one such as http://127.0.0.1:8000",
			 flag, url, curl_url_strerror(rc));
		goto fail;
	}
	if (curl_url_get(handle, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, err_size, "%s: invalid URL \"%s\"; the scheme must be http or https",
			 flag, url);
		goto fail;
	}
	curl_free(scheme);
	return handle;

fail:
	curl_free(scheme);
	curl_url_cleanup(handle);
	return NULL;
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t len = strlen(text), suffix_len = strlen(suffix);

	return len >= suffix_len && strcmp(text + len - suffix_len, suffix) == 0;
}

char *load_options_chat_url(const char *base, char *err, size_t err_size)
{
	CURLU *handle = parse_http_url("--url", base, err, err_size);
	char *path = NULL, *joined = NULL, *full = NULL, *result = NULL;

	if (!handle)
		return NULL;
	if (curl_url_get(handle, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto oom;

	if (!ends_with(path, CHAT_PATH)) {
		size_t len = strlen(path);

		while (len > 0 && path[len - 1] == '/')
			len--;
		if (asprintf(&joined, "%.*s%s", (int)len, path, CHAT_PATH) < 0) {
			joined = NULL;
			goto oom;
		}
		if (curl_url_set(handle, CURLUPART_PATH, joined, 0) != CURLUE_OK)
			goto oom;
	}
	if (curl_url_get(handle, CURLUPART_URL, &full, 0) != CURLUE_OK)
		goto oom;
	result = strdup(full);
	if (!result)
		goto oom;
	goto done;

oom:
	snprintf(err, err_size, "--url: cannot build the chat URL from \"%s\"", base);
done:
	curl_free(full);
	free(joined);
	curl_free(path);
	curl_url_cleanup(handle);
	return result;
}

/* The flags that take a whole number, their range and where they go. */
struct number_flag {
	const char *name;
	unsigned long long min;
	unsigned long long max;
	size_t offset; /* of an unsigned field in struct load_options */
};

static const struct number_flag number_flags[] = {
	{ "--users", 1, 100000, offsetof(struct load_options, users) },
	{ "--turns", 1, 10000, offsetof(struct load_options, turns) },
	{ "--ramp-ms", 0, 3600000, offsetof(struct load_options, ramp_ms) },
	{ "--think-ms", 0, 600000, offsetof(struct load_options, think_ms) },
	{ "--timeout-ms", 1, 3600000, offsetof(struct load_options, timeout_ms) },
	{ "--healthz-rate", 1, 1000, offsetof(struct load_options, healthz_rate) },
	{ "--healthz-timeout-ms", 1, 600000, offsetof(struct load_options, healthz_timeout_ms) },
};

static int parse_number_flag(struct load_options *options, const char *flag, const char *value,
			     char *err, size_t err_size)
{
	unsigned long long number = 0;

	if (strcmp(flag, "--seed") == 0) {
		if (parse_unsigned(flag, value, 0, UINT64_MAX, &number, err, err_size) != 0)
			return -1;
		options->seed = number;
		return 0;
	}

	for (size_t i = 0; i < sizeof(number_flags) / sizeof(number_flags[0]); i++) {
		const struct number_flag *known = &number_flags[i];

		if (strcmp(flag, known->name) != 0)
			continue;
		if (parse_unsigned(flag, value, known->min, known->max, &number, err, err_size) != 0)
			return -1;
		*(unsigned *)((char *)options + known->offset) = (unsigned)number;
		return 0;
	}

	snprintf(err, err_size, "unknown flag \"%s\"; see --help for the flags", flag);
	return -1;
}

/* Parses one flag and its value at argv[*index], advancing *index past
 * what it used. Returns 0, or -1 with err filled. */
static int parse_flag(struct load_options *options, int argc, char **argv, int *index,
		      char *err, size_t err_size)
{
	const char *flag = argv[*index];

	if (strcmp(flag, "--progress") == 0) {
		options->progress = 1;
		return 0;
	}
	if (strcmp(flag, "--no-progress") == 0) {
		options->progress = 0;
		return 0;
	}
	if (strcmp(flag, "--json") == 0) {
		options->json = true;
		return 0;
	}

	if (strncmp(flag, "--", 2) != 0 || flag[2] == '\0') {
		snprintf(err, err_size, "unexpected argument \"%s\"; every setting is a --flag, see --help",
			 flag);
		return -1;
	}
	if (*index + 1 >= argc) {
		snprintf(err, err_size, "%s: missing value; see --help", flag);
		return -1;
	}

	const char *value = argv[++*index];

	if (strcmp(flag, "--url") == 0) {
		options->url = value;
	} else if (strcmp(flag, "--scenario") == 0) {
		options->scenario_path = value;
	} else if (strcmp(flag, "--healthz-url") == 0) {
		options->healthz_url = value;
	} else if (strcmp(flag, "--label") == 0) {
		options->label = value;
	} else if (strcmp(flag, "--duration") == 0) {
		return parse_seconds(flag, value, &options->duration_s, err, err_size);
	} else {
		return parse_number_flag(options, flag, value, err, err_size);
	}
	return 0;
}

enum load_options_result load_options_parse(struct load_options *options, int argc,
					    char **argv, char *err, size_t err_size)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return LOAD_OPTIONS_HELP;
		if (parse_flag(options, argc, argv, &i, err, err_size) != 0)
			return LOAD_OPTIONS_INVALID;
	}

	free(options->chat_url);
	options->chat_url = load_options_chat_url(options->url, err, err_size);
	if (!options->chat_url)
		return LOAD_OPTIONS_INVALID;

	if (options->healthz_url) {
		CURLU *handle = parse_http_url("--healthz-url", options->healthz_url, err, err_size);

		if (!handle)
			return LOAD_OPTIONS_INVALID;
		curl_url_cleanup(handle);
	}
	return LOAD_OPTIONS_RUN;
}
