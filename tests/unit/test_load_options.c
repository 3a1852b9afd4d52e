#include <stdlib.h>

#include "tests/load/load_options.h"
#include "tests/unit/test.h"

/* Parses a NULL-terminated list of arguments after the program name. */
static enum load_options_result parse_args(struct load_options *options, char *err,
					   size_t err_size, const char *const *args)
{
	char *argv[32] = { "maitred-load" };
	int argc = 1;

	while (args[argc - 1])
		argv[argc] = (char *)args[argc - 1], argc++;
	load_options_default(options);
	return load_options_parse(options, argc, argv, err, err_size);
}

TEST(load_options_defaults)
{
	struct load_options options;
	char err[256] = "";
	const char *args[] = { NULL };

	CHECK_INT(parse_args(&options, err, sizeof(err), args), LOAD_OPTIONS_RUN);
	CHECK_STR(options.chat_url, "http://127.0.0.1:8000/v1/chat");
	CHECK_INT(options.users, 10);
	CHECK_INT(options.turns, 3);
	CHECK(options.duration_s == 120);
	CHECK_INT(options.progress, -1);
	CHECK(options.healthz_url == NULL);
	load_options_free(&options);
}

TEST(load_options_all_flags)
{
	struct load_options options;
	char err[256] = "";
	const char *args[] = { "--url", "http://[::1]:9000/base/", "--users", "5000", "--turns", "4",
			       "--scenario", "x.txt", "--seed", "18446744073709551615",
			       "--duration", "2.5", "--ramp-ms", "100", "--think-ms", "20",
			       "--timeout-ms", "3000", "--healthz-url", "http://127.0.0.1:8000/healthz",
			       "--healthz-rate", "50", "--healthz-timeout-ms", "700", "--json",
			       "--no-progress", "--label", "run a", NULL };

	CHECK_INT(parse_args(&options, err, sizeof(err), args), LOAD_OPTIONS_RUN);
	CHECK_STR(err, "");
	CHECK_STR(options.chat_url, "http://[::1]:9000/base/v1/chat");
	CHECK_INT(options.users, 5000);
	CHECK_INT(options.turns, 4);
	CHECK_STR(options.scenario_path, "x.txt");
	CHECK(options.seed == UINT64_MAX);
	CHECK(options.duration_s == 2.5);
	CHECK_INT(options.ramp_ms, 100);
	CHECK_INT(options.think_ms, 20);
	CHECK_INT(options.timeout_ms, 3000);
	CHECK_STR(options.healthz_url, "http://127.0.0.1:8000/healthz");
	CHECK_INT(options.healthz_rate, 50);
	CHECK_INT(options.healthz_timeout_ms, 700);
	CHECK(options.json);
	CHECK_INT(options.progress, 0);
	CHECK_STR(options.label, "run a");
	load_options_free(&options);
}

TEST(load_options_help)
{
	struct load_options options;
	char err[256] = "";
	const char *args[] = { "--users", "3", "--help", NULL };

	CHECK_INT(parse_args(&options, err, sizeof(err), args), LOAD_OPTIONS_HELP);
	load_options_free(&options);
}

/* Checks that args are rejected with a message that contains each part. */
static void check_invalid(const char *const *args, const char *part1, const char *part2)
{
	struct load_options options;
	char err[256] = "";

	CHECK_INT(parse_args(&options, err, sizeof(err), args), LOAD_OPTIONS_INVALID);
	if (!strstr(err, part1) || !strstr(err, part2))
		test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\" or \"%s\"", err, part1, part2);
	load_options_free(&options);
}

TEST(load_options_rejects_bad_numbers)
{
	const char *zero_users[] = { "--users", "0", NULL };
	const char *many_users[] = { "--users", "100001", NULL };
	const char *negative[] = { "--turns", "-1", NULL };
	const char *suffix[] = { "--ramp-ms", "10ms", NULL };
	const char *empty[] = { "--think-ms", "", NULL };
	const char *huge[] = { "--seed", "18446744073709551616", NULL };
	const char *rate[] = { "--healthz-rate", "0", NULL };

	check_invalid(zero_users, "--users: invalid value \"0\"", "1..100000");
	check_invalid(many_users, "--users", "100001");
	check_invalid(negative, "--turns: invalid value \"-1\"", "whole number");
	check_invalid(suffix, "--ramp-ms: invalid value \"10ms\"", "0..3600000");
	check_invalid(empty, "--think-ms", "whole number");
	check_invalid(huge, "--seed", "18446744073709551616");
	check_invalid(rate, "--healthz-rate", "1..1000");
}

TEST(load_options_rejects_bad_duration)
{
	const char *zero[] = { "--duration", "0", NULL };
	const char *word[] = { "--duration", "soon", NULL };
	const char *nan[] = { "--duration", "nan", NULL };
	const char *big[] = { "--duration", "86401", NULL };

	check_invalid(zero, "--duration: invalid value \"0\"", "0.1..86400");
	check_invalid(word, "--duration", "soon");
	check_invalid(nan, "--duration", "nan");
	check_invalid(big, "--duration", "86401");
}

TEST(load_options_rejects_bad_flags)
{
	const char *unknown[] = { "--users", "2", "--user", "3", NULL };
	const char *missing[] = { "--users", NULL };
	const char *bare[] = { "extra", NULL };

	check_invalid(unknown, "unknown flag \"--user\"", "--help");
	check_invalid(missing, "--users: missing value", "--help");
	check_invalid(bare, "unexpected argument \"extra\"", "--flag");
}

TEST(load_options_rejects_bad_urls)
{
	const char *scheme[] = { "--url", "ftp://127.0.0.1/", NULL };
	const char *junk[] = { "--url", "http://", NULL };
	const char *healthz[] = { "--healthz-url", "127.0.0.1 8000", NULL };

	check_invalid(scheme, "--url: invalid URL \"ftp://127.0.0.1/\"", "http or https");
	check_invalid(junk, "--url: invalid URL \"http://\"", "http://127.0.0.1:8000");
	check_invalid(healthz, "--healthz-url: invalid URL", "127.0.0.1 8000");
}

TEST(load_options_chat_url_forms)
{
	char err[256] = "";
	char *url;

	url = load_options_chat_url("http://127.0.0.1:8000", err, sizeof(err));
	CHECK_STR(url, "http://127.0.0.1:8000/v1/chat");
	free(url);
	url = load_options_chat_url("http://127.0.0.1:8000///", err, sizeof(err));
	CHECK_STR(url, "http://127.0.0.1:8000/v1/chat");
	free(url);
	url = load_options_chat_url("https://chat.example/v1/chat", err, sizeof(err));
	CHECK_STR(url, "https://chat.example/v1/chat");
	free(url);
	url = load_options_chat_url("http://127.0.0.1:8000/prefix", err, sizeof(err));
	CHECK_STR(url, "http://127.0.0.1:8000/prefix/v1/chat");
	free(url);
}
