#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "tests/unit/test.h"

static int load(struct config *cfg, int argc, char **argv, char *err, size_t len)
{
	int first;
	return config_load(cfg, argc, argv, &first, err, len);
}

TEST(config_defaults_and_precedence)
{
	struct config cfg;
	char err[256];
	char *argv[] = { "maitred", "--workers", "3", "--max-concurrent-crews=7", "serve" };
	int first = 0;

	setenv("WORKERS", "2", 1);
	setenv("PORT", "8123", 1);
	CHECK_INT(config_load(&cfg, 5, argv, &first, err, sizeof(err)), 0);
	unsetenv("WORKERS");
	unsetenv("PORT");
	CHECK_INT(cfg.workers, 3);
	CHECK_INT(cfg.port, 8123);
	CHECK_INT(cfg.max_concurrent_crews, 7);
	CHECK_INT(cfg.threads_per_worker, 2);
	CHECK_STR(cfg.shm_name, "/maitred-8123");
	CHECK_INT(first, 4);
}

TEST(config_rejects_bad_values_with_the_fix)
{
	struct config cfg;
	char err[256];
	char *argv[] = { "maitred" };
	struct {
		const char *name, *value, *expect;
	} cases[] = {
		{ "WORKERS", "abc", "expected an integer from 1 to 64" },
		{ "WORKERS", "0", "WORKERS=0" },
		{ "LOG_FORMAT", "xml", "text or json" },
		{ "OPENAI_PRICE", "cheap", "OPENAI_PRICE=cheap" },
		{ "BRAND_COLOR", "red", "#rrggbb" },
		{ "ACCESS_LOG", "maybe", "expected 1, 0, true or false" },
		{ "OPENAI_BASE_URL", "ftp://x", "http:// or https://" },
		{ "SHM_NAME", "no-slash", "SHM_NAME" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv(cases[i].name, cases[i].value, 1);
		int rc = load(&cfg, 1, argv, err, sizeof(err));
		unsetenv(cases[i].name);
		CHECK_INT(rc, -1);
		if (!strstr(err, cases[i].expect))
			test_fail(__FILE__, __LINE__, "%s=%s: error \"%s\" lacks \"%s\"", cases[i].name,
				  cases[i].value, err, cases[i].expect);
	}
}

TEST(config_rejects_unknown_flag)
{
	struct config cfg;
	char err[256];
	char *argv[] = { "maitred", "--wokers", "3" };
	CHECK_INT(load(&cfg, 3, argv, err, sizeof(err)), -1);
	CHECK(strstr(err, "--wokers") != NULL);
}

TEST(config_file_below_environment)
{
	struct config cfg;
	char err[256];
	char path[] = "/tmp/maitred-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs("# a comment\nMAX_QUEUE=77\nQUEUE_TIMEOUT = \"9\"\n", f);
	fclose(f);

	char *argv[] = { "maitred" };
	setenv("CONFIG_FILE", path, 1);
	setenv("QUEUE_TIMEOUT", "11", 1);
	int rc = load(&cfg, 1, argv, err, sizeof(err));
	unsetenv("QUEUE_TIMEOUT");
	CHECK_INT(rc, 0);
	CHECK_INT(cfg.max_queue, 77);
	CHECK_INT(cfg.queue_timeout, 11);

	f = fopen(path, "w");
	fputs("MAX_QUEUE 77\n", f);
	fclose(f);
	CHECK_INT(load(&cfg, 1, argv, err, sizeof(err)), -1);
	CHECK(strstr(err, "line 1") != NULL);
	unsetenv("CONFIG_FILE");
	unlink(path);
}
