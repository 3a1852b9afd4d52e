#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/log.h"
#include "tests/unit/test.h"

static void read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

TEST(log_json_escapes_message)
{
	char path[] = "/tmp/maitred-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);

	log_setup("worker-1", true, LOG_INFO);
	CHECK_INT(log_open(path), 0);
	log_info("test_event", "quote \" and\nnewline");
	log_debug("hidden", "below the level");
	log_open(NULL);
	log_setup("test", false, LOG_INFO);

	char buf[1024];
	read_file(path, buf, sizeof(buf));
	unlink(path);
	CHECK(strstr(buf, "\"role\":\"worker-1\"") != NULL);
	CHECK(strstr(buf, "\"event\":\"test_event\"") != NULL);
	CHECK(strstr(buf, "quote \\\" and\\u000anewline") != NULL);
	CHECK(strstr(buf, "hidden") == NULL);
	CHECK(strchr(buf, '\n') == buf + strlen(buf) - 1);
}

TEST(log_level_parse_names)
{
	CHECK_INT(log_level_parse("warn"), LOG_WARN);
	CHECK_INT(log_level_parse("loud"), -1);
}
