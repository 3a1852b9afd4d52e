#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"
#include "server/utf8.h"
#include "workers/http.h"
#include "tests/unit/test.h"

TEST(utf8_valid_cases)
{
	struct {
		const char *text;
		int valid;
	} cases[] = {
		{ "plain", 1 }, { "crudit\xc3\xa9s", 1 }, { "\xe2\x82\xac 9.50", 1 }, { "\xf0\x9f\x8d\xb7", 1 },
		{ "\xff", 0 }, { "\xc3", 0 }, { "\xc0\xaf", 0 }, { "\xed\xa0\x80", 0 }, { "\xf4\x90\x80\x80", 0 },
		{ "\xe2\x82", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (utf8_valid(cases[i].text, strlen(cases[i].text)) != (bool)cases[i].valid)
			test_fail(__FILE__, __LINE__, "case %zu: expected %s", i, cases[i].valid ? "valid" : "invalid");
	CHECK(!utf8_valid("a\0b", 3));
}

TEST(log_escape_neutralises_paths)
{
	char out[128];
	http_log_escape("/x\n2026 error master worker_exited", out, sizeof(out));
	CHECK_STR(out, "/x%0A2026%20error%20master%20worker_exited");
	http_log_escape("/\x1b[31m\xff%", out, sizeof(out));
	CHECK_STR(out, "/%1B[31m%FF%25");
}

TEST(log_json_repairs_invalid_utf8)
{
	char path[] = "/tmp/maitred-log-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	log_setup("test", true, LOG_INFO);
	log_open(path);
	log_info("utf8_case", "caf\xc3\xa9 and \xff");
	log_open(NULL);
	log_setup("test", false, LOG_INFO);

	char buf[512] = "";
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	CHECK(strstr(buf, "caf\xc3\xa9 and \\ufffd") != NULL);
	CHECK(utf8_valid(buf, strlen(buf)));
}
