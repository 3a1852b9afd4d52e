#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "workers/tool_parse.h"

TEST(phone_normalise_cases)
{
	static const struct {
		const char *input;
		const char *expected;   /* NULL: rejected */
	} cases[] = {
		{"+33 1 23 45 67 89", "+33123456789"},
		{"+33 (0)1 23 45 67 89", "+33123456789"},
		{"01 23 45 67 89", "+33123456789"},
		{"06.12.34.56.78", "+33612345678"},
		{"06-12-34-56-78", "+33612345678"},
		{"(06) 12 34 56 78", "+33612345678"},
		{"0033 6 12 34 56 78", "+33612345678"},
		{"+1 (415) 555-0100", "+14155550100"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+12345678", "+12345678"},
		{"+123456789012345", "+123456789012345"},
		{"+1234567", NULL},
		{"+1234567890123456", NULL},
		{"+0 123 456 789", NULL},
		{"6 12 34 56 78", NULL},
		{"0612345678 9", NULL},
		{"061234567", NULL},
		{"+33 6 12 34 56 7x", NULL},
		{"", NULL},
		{"+", NULL},
		{"phone", NULL},
		{"+33 6 12 34 56 78 ext 2", NULL},
		{"+33 6 12 34 56 78 12 34 56 78 12 34 56 78 12", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32] = "";
		int rc = tool_normalise_phone(cases[i].input, out, sizeof(out));

		if (cases[i].expected) {
			CHECK_INT(rc, 0);
			CHECK_STR(out, cases[i].expected);
		} else if (rc != -1) {
			test_fail(__FILE__, __LINE__, "phone \"%s\" was accepted as %s",
				  cases[i].input, out);
		}
	}
}

TEST(code_normalise_cases)
{
	static const struct {
		const char *input;
		const char *expected;
	} cases[] = {
		{"K7M4QX2PA", "K7M4QX2PA"},
		{"k7m4qx2pa", "K7M4QX2PA"},
		{"K7M-4QX-2PA", "K7M4QX2PA"},
		{" k7m 4qx 2pa ", "K7M4QX2PA"},
		{"K7M4QX2P", NULL},
		{"K7M4QX2PAB", NULL},
		{"K7M4QX2P0", NULL},
		{"K7M4QX2PO", NULL},
		{"K7M4QX2PI", NULL},
		{"K7M4QX2PL", NULL},
		{"K7M4QX2P1", NULL},
		{"", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[TOOL_CODE_LEN + 1] = "";
		int rc = tool_normalise_code(cases[i].input, out, sizeof(out));

		if (cases[i].expected) {
			CHECK_INT(rc, 0);
			CHECK_STR(out, cases[i].expected);
		} else if (rc != -1) {
			test_fail(__FILE__, __LINE__, "code \"%s\" was accepted", cases[i].input);
		}
	}
}

TEST(code_generate_alphabet_and_length)
{
	int seen[256] = {0};

	for (int i = 0; i < 500; i++) {
		char code[TOOL_CODE_LEN + 1];
		char again[TOOL_CODE_LEN + 1];

		CHECK_INT(tool_generate_code(code, sizeof(code)), 0);
		CHECK_INT(strlen(code), TOOL_CODE_LEN);
		CHECK_INT(strspn(code, TOOL_CODE_ALPHABET), TOOL_CODE_LEN);
		CHECK_INT(tool_normalise_code(code, again, sizeof(again)), 0);
		for (const char *p = code; *p; p++)
			seen[(unsigned char)*p]++;
	}

	/* 4,500 draws from 31 symbols: each appears about 145 times. */
	for (const char *p = TOOL_CODE_ALPHABET; *p; p++)
		if (seen[(unsigned char)*p] < 60)
			test_fail(__FILE__, __LINE__, "symbol %c drawn %d times", *p,
				  seen[(unsigned char)*p]);
	CHECK_INT(strlen(TOOL_CODE_ALPHABET), 31);
	CHECK(tool_generate_code((char[4]){0}, 4) == -1);
}

TEST(date_parse_cases)
{
	CHECK_INT(tool_parse_date("2026-12-24"), 0);
	CHECK_INT(tool_parse_date("2028-02-29"), 0);
	CHECK_INT(tool_parse_date("2027-02-29"), -1);
	CHECK_INT(tool_parse_date("2026-02-30"), -1);
	CHECK_INT(tool_parse_date("2026-13-01"), -1);
	CHECK_INT(tool_parse_date("2026-12-24T19:00"), -1);
	CHECK_INT(tool_parse_date("24/12/2026"), -1);
	CHECK_INT(tool_parse_date("2026-1-5"), -1);
	CHECK_INT(tool_parse_date(""), -1);
}

TEST(time_parse_cases)
{
	char out[8];

	CHECK_INT(tool_parse_time("19:30", out, sizeof(out)), 0);
	CHECK_STR(out, "19:30");
	CHECK_INT(tool_parse_time("9:05", out, sizeof(out)), 0);
	CHECK_STR(out, "09:05");
	CHECK_INT(tool_parse_time("00:00", out, sizeof(out)), 0);
	CHECK_INT(tool_parse_time("24:00", out, sizeof(out)), -1);
	CHECK_INT(tool_parse_time("19:60", out, sizeof(out)), -1);
	CHECK_INT(tool_parse_time("7pm", out, sizeof(out)), -1);
	CHECK_INT(tool_parse_time("19:30:00", out, sizeof(out)), -1);
	CHECK_INT(tool_parse_time("", out, sizeof(out)), -1);
}

TEST(instant_parse_cases)
{
	static const struct {
		const char *input;
		long long expected;     /* -1: rejected */
	} cases[] = {
		{"2026-12-24T19:00:00+01:00", 1798135200},
		{"2026-12-24T18:00:00Z", 1798135200},
		{"2026-12-24T18:00Z", 1798135200},
		{"2026-12-24 19:00+0100", 1798135200},
		{"2026-12-24T19:00:00.000+01:00", 1798135200},
		{"2026-12-24T13:00:00-05:00", 1798135200},
		{"2026-12-24T19:00:00", -1},
		{"2026-12-24T19:00:00.5+01:00", -1},
		{"2026-12-24T25:00:00+01:00", -1},
		{"2026-12-24T19:00:00+25:00", -1},
		{"2026-12-24", -1},
		{"tomorrow at 7", -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long epoch = 0;
		int rc = tool_parse_instant(cases[i].input, &epoch);

		if (cases[i].expected < 0) {
			if (rc != -1)
				test_fail(__FILE__, __LINE__, "\"%s\" was accepted", cases[i].input);
			continue;
		}
		CHECK_INT(rc, 0);
		CHECK_INT(epoch, cases[i].expected);
	}
}

TEST(amount_parse_cases)
{
	char out[32];
	json_t *value;

	value = json_string("12.50");
	CHECK_INT(tool_parse_amount(value, out, sizeof(out)), 0);
	CHECK_STR(out, "12.50");
	json_decref(value);

	value = json_integer(15);
	CHECK_INT(tool_parse_amount(value, out, sizeof(out)), 0);
	CHECK_STR(out, "15");
	json_decref(value);

	value = json_real(9.5);
	CHECK_INT(tool_parse_amount(value, out, sizeof(out)), 0);
	CHECK_STR(out, "9.500000");
	json_decref(value);

	static const char *const rejected[] = {"-1", "abc", "1e3", "", "12.", ".5", "1,50",
					       "12.1234567", "1234567890"};
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		value = json_string(rejected[i]);
		if (tool_parse_amount(value, out, sizeof(out)) != -1)
			test_fail(__FILE__, __LINE__, "amount \"%s\" was accepted", rejected[i]);
		json_decref(value);
	}
	value = json_integer(-3);
	CHECK_INT(tool_parse_amount(value, out, sizeof(out)), -1);
	json_decref(value);
	value = json_true();
	CHECK_INT(tool_parse_amount(value, out, sizeof(out)), -1);
	json_decref(value);
}

TEST(text_helpers)
{
	char *trimmed = tool_trim("  Ann Smith \n");

	CHECK_STR(trimmed, "Ann Smith");
	free(trimmed);
	CHECK_INT(tool_utf8_length("Zoë"), 3);
	CHECK_INT(tool_utf8_length("日本"), 2);
	CHECK_INT(tool_has_control("a\tb", 0), 1);
	CHECK_INT(tool_has_control("a\nb", 1), 0);
	CHECK_INT(tool_has_control("a\x01" "b", 1), 1);
}
