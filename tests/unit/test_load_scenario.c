#include <stdlib.h>
#include <unistd.h>

#include "tests/load/load_scenario.h"
#include "tests/unit/test.h"

static int parse(struct load_scenario *scenario, const char *text, char *err, size_t size)
{
	return load_scenario_parse(scenario, "s.txt", text, strlen(text), err, size);
}

TEST(load_scenario_conversations)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(parse(&scenario,
			"# menu\nDo you have vegan starters?\n\n\n  Book for 2.  \r\n"
			"# inside a conversation\nName {guest}.\n\nBye",
			err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(scenario.message_count, 4);
	CHECK_INT(scenario.conversation_count, 3);
	CHECK_STR(scenario.messages[1], "Book for 2.");
	CHECK_INT(scenario.conversation_first[0], 0);
	CHECK_INT(scenario.conversation_first[1], 1);
	CHECK_INT(scenario.conversation_first[2], 3);
	load_scenario_free(&scenario);
	CHECK(scenario.messages == NULL);
}

TEST(load_scenario_rejects_empty)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(parse(&scenario, "# only comments\n\n   \n", err, sizeof(err)), -1);
	CHECK(strstr(err, "s.txt: no messages") != NULL);
	CHECK(scenario.messages == NULL);
	CHECK_INT(parse(&scenario, "", err, sizeof(err)), -1);
}

TEST(load_scenario_rejects_bad_utf8)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(parse(&scenario, "fine\ncaf\xC3 au lait\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "s.txt:2: invalid UTF-8 at byte 4") != NULL);
	CHECK_INT(parse(&scenario, "overlong \xC0\xAF\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "s.txt:1: invalid UTF-8") != NULL);
	CHECK_INT(parse(&scenario, "surrogate \xED\xA0\x80\n", err, sizeof(err)), -1);
	CHECK(strstr(err, "invalid UTF-8") != NULL);
}

TEST(load_scenario_accepts_utf8)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(parse(&scenario, "Caf\xC3\xA9 cr\xC3\xA8me \xE2\x82\xAC \xF0\x9F\x8D\xB7\n",
			err, sizeof(err)), 0);
	CHECK_INT(scenario.message_count, 1);
	load_scenario_free(&scenario);
}

TEST(load_scenario_rejects_control_character)
{
	struct load_scenario scenario;
	char err[256] = "";
	const char text[] = "one\ntwo\x01three\n";

	CHECK_INT(load_scenario_parse(&scenario, "s.txt", text, sizeof(text) - 1, err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "s.txt:2: control character 0x01 at byte 4") != NULL);

	const char nul[] = "a\0b\n";

	CHECK_INT(load_scenario_parse(&scenario, "s.txt", nul, sizeof(nul) - 1, err, sizeof(err)),
		  -1);
	CHECK(strstr(err, "control character 0x00") != NULL);
}

TEST(load_scenario_rejects_long_message)
{
	struct load_scenario scenario;
	char err[256] = "";
	size_t len = LOAD_MESSAGE_MAX_CHARS + 1;
	char *text = malloc(len * 2 + 1);

	/* 2001 two-byte characters: the limit counts characters, not bytes. */
	for (size_t i = 0; i < len; i++)
		memcpy(text + 2 * i, "\xC3\xA9", 2);
	text[2 * len] = '\0';
	CHECK_INT(parse(&scenario, text, err, sizeof(err)), -1);
	CHECK(strstr(err, "s.txt:1: message is 2001 characters long") != NULL);

	text[2 * (len - 1)] = '\0';
	CHECK_INT(parse(&scenario, text, err, sizeof(err)), 0);
	load_scenario_free(&scenario);
	free(text);
}

TEST(load_scenario_missing_file)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(load_scenario_load(&scenario, "/nonexistent/mixed.txt", err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/mixed.txt: cannot open the scenario file") != NULL);
}

TEST(load_scenario_loads_file)
{
	struct load_scenario scenario;
	char path[] = "/tmp/maitred-scenario-XXXXXX";
	char err[256] = "";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, "a\nb\n\nc\n", 7), 7);
	close(fd);
	CHECK_INT(load_scenario_load(&scenario, path, err, sizeof(err)), 0);
	unlink(path);
	CHECK_INT(scenario.message_count, 3);
	CHECK_INT(scenario.conversation_count, 2);
	load_scenario_free(&scenario);
}

TEST(load_scenario_shipped_mixed_parses)
{
	struct load_scenario scenario;
	char err[256] = "";

	CHECK_INT(load_scenario_load(&scenario, "tests/load/scenarios/mixed.txt", err, sizeof(err)),
		  0);
	CHECK_STR(err, "");
	CHECK(scenario.conversation_count >= 10);
	load_scenario_free(&scenario);
}

TEST(load_scenario_pick_is_deterministic)
{
	struct load_scenario scenario;
	char err[256] = "";
	size_t seen[4] = { 0 };

	CHECK_INT(parse(&scenario, "a\n\nb\n\nc\n\nd\n", err, sizeof(err)), 0);
	for (size_t guest = 0; guest < 400; guest++) {
		size_t pick = load_scenario_pick(&scenario, 7, guest);

		CHECK(pick < 4);
		CHECK_INT(load_scenario_pick(&scenario, 7, guest), pick);
		seen[pick % 4]++;
	}
	/* Every conversation gets some guests. */
	for (int i = 0; i < 4; i++)
		CHECK(seen[i] > 50);

	size_t differ = 0;

	for (size_t guest = 0; guest < 100; guest++)
		differ += load_scenario_pick(&scenario, 7, guest) != load_scenario_pick(&scenario, 8, guest);
	CHECK(differ > 30);
	load_scenario_free(&scenario);
}

TEST(load_scenario_message_walks_and_wraps)
{
	struct load_scenario scenario;
	char err[256] = "";
	char out[64];

	CHECK_INT(parse(&scenario, "a1\na2\n\nb1\n", err, sizeof(err)), 0);

	/* Find a guest that starts at the first conversation. */
	size_t guest = 0;

	while (load_scenario_pick(&scenario, 1, guest) != 0)
		guest++;
	CHECK_INT(load_scenario_message(&scenario, 1, guest, 0, out, sizeof(out)), 2);
	CHECK_STR(out, "a1");
	load_scenario_message(&scenario, 1, guest, 1, out, sizeof(out));
	CHECK_STR(out, "a2");
	load_scenario_message(&scenario, 1, guest, 2, out, sizeof(out));
	CHECK_STR(out, "b1");
	load_scenario_message(&scenario, 1, guest, 3, out, sizeof(out));
	CHECK_STR(out, "a1");
	load_scenario_free(&scenario);
}

TEST(load_scenario_message_expands_guest)
{
	struct load_scenario scenario;
	char err[256] = "";
	char out[64];

	CHECK_INT(parse(&scenario, "Name {guest}, table {guest}{gu\n", err, sizeof(err)), 0);
	CHECK_INT(load_scenario_message(&scenario, 1, 42, 0, out, sizeof(out)), 20);
	CHECK_STR(out, "Name 42, table 42{gu");
	CHECK_INT(load_scenario_message(&scenario, 1, 42, 0, out, 20), -1);
	CHECK_INT(load_scenario_message(&scenario, 1, 42, 0, out, 21), 20);
	load_scenario_free(&scenario);
}
