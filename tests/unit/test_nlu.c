#include <stdlib.h>
#include <time.h>

#include "tests/unit/test.h"
#include "workers/nlu.h"

/* Monday 1 March 2027, 10:00 in Paris. */
#define NOW ((time_t)1803891600)

static struct nlu_result read_at_now(const char *message)
{
	struct nlu_result r;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	nlu_read(message, NOW, &r);
	return r;
}

struct text_case {
	const char *message;
	const char *expected;
};

struct count_case {
	const char *message;
	int expected;
};

static void check_dates(const struct text_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct nlu_result r = read_at_now(cases[i].message);
		if (strcmp(r.date, cases[i].expected) != 0)
			test_fail(__FILE__, __LINE__, "date of \"%s\" is \"%s\", expected \"%s\"",
				  cases[i].message, r.date, cases[i].expected);
	}
}

static void check_times(const struct text_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct nlu_result r = read_at_now(cases[i].message);
		if (strcmp(r.time, cases[i].expected) != 0)
			test_fail(__FILE__, __LINE__, "time of \"%s\" is \"%s\", expected \"%s\"",
				  cases[i].message, r.time, cases[i].expected);
	}
}

static void check_parties(const struct count_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct nlu_result r = read_at_now(cases[i].message);
		if (r.party_size != cases[i].expected)
			test_fail(__FILE__, __LINE__, "party of \"%s\" is %d, expected %d",
				  cases[i].message, r.party_size, cases[i].expected);
	}
}

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

TEST(nlu_date_relative_days)
{
	static const struct text_case cases[] = {
		{ "today please", "2027-03-01" },
		{ "tonight at 8", "2027-03-01" },
		{ "later today", "2027-03-01" },
		{ "this evening", "2027-03-01" },
		{ "tomorrow", "2027-03-02" },
		{ "tomorrow night at 7", "2027-03-02" },
		{ "day after tomorrow", "2027-03-03" },
		{ "the day after tomorrow", "2027-03-03" },
		{ "in 3 days", "2027-03-04" },
		{ "in three days", "2027-03-04" },
		{ "in a week", "2027-03-08" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_weekdays)
{
	/* 1 March 2027 is a Monday: "next" means the following calendar week. */
	static const struct text_case cases[] = {
		{ "friday", "2027-03-05" },
		{ "on Friday", "2027-03-05" },
		{ "this friday", "2027-03-05" },
		{ "this coming Friday", "2027-03-05" },
		{ "next Friday", "2027-03-12" },
		{ "next tuesday", "2027-03-09" },
		{ "next Monday", "2027-03-08" },
		{ "Friday next week", "2027-03-12" },
		{ "Tuesday, next week", "2027-03-09" },
		{ "Saturday this week", "2027-03-06" },
		{ "monday", "2027-03-01" },
		{ "on sat", "2027-03-06" },
		{ "Thurs", "2027-03-04" },
		{ "on wed", "2027-03-03" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_day_of_month)
{
	static const struct text_case cases[] = {
		{ "the 11th", "2027-03-11" },
		{ "on the 24th", "2027-03-24" },
		{ "11th of this month", "2027-03-11" },
		{ "the 4th of next month", "2027-04-04" },
		{ "on the 1st", "2027-03-01" },
		{ "on the twenty first", "2027-03-21" },
		{ "on the third", "2027-03-03" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_past_day_moves_on)
{
	struct nlu_result r;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	/* On 15 March the 11th is past, so it is 11 April; March 2 is next year. */
	nlu_read("the 11th", NOW + 14 * 86400, &r);
	CHECK_STR(r.date, "2027-04-11");
	nlu_read("March 2", NOW + 14 * 86400, &r);
	CHECK_STR(r.date, "2028-03-02");
}

TEST(nlu_date_month_names)
{
	static const struct text_case cases[] = {
		{ "March 11", "2027-03-11" },
		{ "11 March", "2027-03-11" },
		{ "Dec 24", "2027-12-24" },
		{ "December 24th", "2027-12-24" },
		{ "the 24th of December", "2027-12-24" },
		{ "2nd of march", "2027-03-02" },
		{ "3rd of MArch", "2027-03-03" },
		{ "March the 14th", "2027-03-14" },
		{ "March 11th, 2028", "2028-03-11" },
		{ "May 5th", "2027-05-05" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_numeric)
{
	static const struct text_case cases[] = {
		{ "24/12", "2027-12-24" },
		{ "24.12.", "2027-12-24" },
		{ "24/12/2026", "2026-12-24" },
		{ "24.12.2027", "2027-12-24" },
		{ "2026-12-24", "2026-12-24" },
		{ "12/24", "2027-12-24" },
		{ "on 5.3.", "2027-03-05" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_not_a_date)
{
	static const struct text_case cases[] = {
		{ "a table for 2", "" },
		{ "I found 7 restaurants", "" },
		{ "on second thought, make it 3", "" },
		{ "may 2 of us come?", "" },
		{ "I sat by the window", "" },
		{ "under 12.50 euros", "" },
		{ "the first one", "" },
		{ "3 tickets for the concert on the 5th", "" },
		{ "What's the weather like March 7th?", "" },
		{ "No, the 8th. Where did you get March 1st from?", "2027-03-08" },
		{ "Thanks, that's all for today.", "" },
	};
	check_dates(cases, COUNT(cases));
}

TEST(nlu_date_vague_and_past)
{
	struct nlu_result r = read_at_now("sometime next week");
	CHECK(r.date_vague);
	CHECK_STR(r.date, "");

	r = read_at_now("this weekend");
	CHECK(r.date_vague);

	r = read_at_now("yesterday");
	CHECK(r.date_past);
}

TEST(nlu_time_clock_forms)
{
	static const struct text_case cases[] = {
		{ "7pm", "19:00" },
		{ "7 pm", "19:00" },
		{ "7:30pm", "19:30" },
		{ "7.30 p.m.", "19:30" },
		{ "19:30", "19:30" },
		{ "19h30", "19:30" },
		{ "20h", "20:00" },
		{ "11:30 am", "11:30" },
		{ "11:30 AM", "11:30" },
		{ "12 pm", "12:00" },
		{ "twelve pm", "12:00" },
		{ "12 am", "00:00" },
		{ "at 19:00 hours", "19:00" },
		{ "seven thirty pm", "19:30" },
		{ "1 o\"clock in the afternoon", "13:00" },
		{ "8 o'clock", "20:00" },
	};
	check_times(cases, COUNT(cases));
}

TEST(nlu_time_spoken_forms)
{
	static const struct text_case cases[] = {
		{ "half past seven", "19:30" },
		{ "half past 6 in the evening", "18:30" },
		{ "quarter past 6", "18:15" },
		{ "quarter to 8", "19:45" },
		{ "quarter to 1 in the afternoon", "12:45" },
		{ "quarter to 12 in the morning", "11:45" },
		{ "half past 10 in the morning", "10:30" },
		{ "noon", "12:00" },
		{ "midday", "12:00" },
		{ "ten past eight", "20:10" },
		{ "half 7", "19:30" },
	};
	check_times(cases, COUNT(cases));
}

TEST(nlu_time_parts_of_day)
{
	static const struct text_case cases[] = {
		{ "evening 6:30", "18:30" },
		{ "6:30 in the evening", "18:30" },
		{ "afternoon 12", "12:00" },
		{ "12 in the afternoon", "12:00" },
		{ "morning 11:15", "11:15" },
		{ "night 8", "20:00" },
		{ "8 at night", "20:00" },
		{ "seven in the evening", "19:00" },
		{ "this evening 4:45", "16:45" },
		{ "for 1 in the evening 6:30", "18:30" },
		{ "tomorrow morning at 9", "09:00" },
		{ "breakfast at 9", "09:00" },
	};
	check_times(cases, COUNT(cases));
}

TEST(nlu_time_bare_hours)
{
	/* Without am/pm: 1..9 are afternoon or evening, 10..12 stay. */
	static const struct text_case cases[] = {
		{ "at 7", "19:00" },
		{ "at 1", "13:00" },
		{ "around 8", "20:00" },
		{ "at 11", "11:00" },
		{ "at 12", "12:00" },
		{ "10:45", "10:45" },
		{ "at 7:30", "19:30" },
		{ "for 7", "" },
		{ "7 restaurants", "" },
		{ "at 7 people", "" },
		{ "not at 6, at 8", "20:00" },
		{ "at 5:30 instead of 6", "17:30" },
	};
	check_times(cases, COUNT(cases));
}

TEST(nlu_time_from_hour_rule)
{
	char time[NLU_TIME_SIZE];

	CHECK(nlu_time_from_hour(8, time));
	CHECK_STR(time, "20:00");
	CHECK(nlu_time_from_hour(11, time));
	CHECK_STR(time, "11:00");
	CHECK(!nlu_time_from_hour(24, time));
}

TEST(nlu_party_counts)
{
	static const struct count_case cases[] = {
		{ "for two", 2 },
		{ "for 2", 2 },
		{ "party of 6", 6 },
		{ "4 people", 4 },
		{ "a table for four", 4 },
		{ "me and my wife", 2 },
		{ "my wife and I", 2 },
		{ "I and my friend", 2 },
		{ "me and two friends", 3 },
		{ "just me", 1 },
		{ "I'm the only one going", 1 },
		{ "3 persons", 3 },
		{ "six of us", 6 },
		{ "the two of us", 2 },
		{ "we are 5", 5 },
		{ "we'll be 3", 3 },
		{ "there will be 3 people", 3 },
		{ "2 adults and 2 kids", 4 },
		{ "for one people", 1 },
		{ "number of people is 2", 2 },
		{ "change to three", 3 },
		{ "it's for five people, not 6", 5 },
		{ "make the reservation for five poeple", 5 },
		{ "reservation for 4 including me", 4 },
		{ "a reservation for two there to Tuesday", 2 },
	};
	check_parties(cases, COUNT(cases));
}

TEST(nlu_party_not_a_count)
{
	static const struct count_case cases[] = {
		{ "I found 7 restaurants", 0 },
		{ "for 7pm", 0 },
		{ "for 7:30", 0 },
		{ "for 2 hours", 0 },
		{ "3 tickets for the concert", 0 },
		{ "book a cab for 4 people", 0 },
		{ "for the 4th", 0 },
		{ "under 15 euros", 0 },
		{ "a restaurant in San Jose for 2 people", 2 },
		{ "a table for 3 at 8", 3 },
		{ "for three at evening 5:30", 3 },
		{ "it will be for the one located in San Fran", 0 },
		{ "Search for one nice place in SFO", 0 },
	};
	check_parties(cases, COUNT(cases));
}

/* "one" after a search verb stands for a place or a ride, not a guest. */
TEST(nlu_party_search_for_one)
{
	static const struct count_case cases[] = {
		{ "Look for one in Windsor.", 0 },
		{ "Can you search for one?", 0 },
		{ "I'm looking for one near the station", 0 },
		{ "Please find one for me", 0 },
		{ "a table for one", 1 },
		{ "Book for one at 8", 1 },
		{ "I'm looking for a table for one", 1 },
	};
	check_parties(cases, COUNT(cases));
}

/* A clause about the guest's calendar copies a booking's details into an
 * event, so they are not a new booking's, even with "restaurant" in it. */
TEST(nlu_calendar_clause_is_elsewhere)
{
	struct nlu_result r = read_at_now("Can you add this event to my calendar with title as "
					  "Restaurant reservation for 5 at Alegrias, location as "
					  "2018 Lombard Street and time as 11:30.");

	CHECK_INT(r.party_size, 0);
	CHECK_STR(r.time, "");
	CHECK(r.intents & NLU_INTENT_ELSEWHERE);

	r = read_at_now("Thanks a lot. Can you add the Restaurant reservation for 5 at La "
			"Taberna as the event title in my calendar?");
	CHECK_INT(r.party_size, 0);

	r = read_at_now("Add it to my calendar. Also a table for 2 at 8pm, please.");
	CHECK_INT(r.party_size, 2);
	CHECK_STR(r.time, "20:00");
}

TEST(nlu_answers)
{
	CHECK_INT(read_at_now("yes").answer, NLU_ANSWER_YES);
	CHECK_INT(read_at_now("yes, that works").answer, NLU_ANSWER_YES);
	CHECK_INT(read_at_now("Sure").answer, NLU_ANSWER_YES);
	CHECK_INT(read_at_now("sounds good").answer, NLU_ANSWER_YES);
	CHECK_INT(read_at_now("That suits me well").answer, NLU_ANSWER_YES);
	CHECK_INT(read_at_now("no").answer, NLU_ANSWER_NO);
	CHECK_INT(read_at_now("Nope").answer, NLU_ANSWER_NO);
	CHECK_INT(read_at_now("Please change it to 7").answer, NLU_ANSWER_NONE);
}

TEST(nlu_correction_replaces_slot)
{
	struct nlu_result r = read_at_now("no, make it 7pm");
	CHECK_INT(r.answer, NLU_ANSWER_NO);
	CHECK_STR(r.time, "19:00");
	CHECK(r.intents & NLU_INTENT_CHANGE);

	r = read_at_now("actually make it 8pm");
	CHECK_STR(r.time, "20:00");
	CHECK(r.intents & NLU_INTENT_CHANGE);

	r = read_at_now("no, make it 7");
	CHECK_INT(r.number, 7);
}

TEST(nlu_names)
{
	CHECK_STR(read_at_now("my name is Ann Smith").name, "Ann Smith");
	CHECK_STR(read_at_now("I'm Ann").name, "Ann");
	CHECK_STR(read_at_now("Ann Smith, +33 6 12 34 56 78").name, "Ann Smith");
	CHECK_STR(read_at_now("under the name Dupont").name, "Dupont");
	CHECK_STR(read_at_now("name is ann smith").name, "Ann Smith");
	CHECK_STR(read_at_now("I'm looking for a table").name, "");
	CHECK_STR(read_at_now("I'm hungry").name, "");
}

TEST(nlu_bare_name)
{
	char name[NLU_NAME_SIZE];

	CHECK(nlu_read_bare_name("Ann Smith", name, sizeof(name)));
	CHECK_STR(name, "Ann Smith");
	CHECK(nlu_read_bare_name("it's jean-luc picard", name, sizeof(name)));
	CHECK_STR(name, "Jean Luc Picard");
	CHECK(!nlu_read_bare_name("yes please", name, sizeof(name)));
	CHECK(!nlu_read_bare_name("for 4 people", name, sizeof(name)));
	CHECK(!nlu_read_bare_name("do you have vegan dishes", name, sizeof(name)));
}

TEST(nlu_phones)
{
	CHECK_STR(read_at_now("+33 6 12 34 56 78").phone, "+33612345678");
	CHECK_STR(read_at_now("my number is 06 12 34 56 78").phone, "0612345678");
	CHECK_STR(read_at_now("call 408-971-8523").phone, "4089718523");
	CHECK_STR(read_at_now("(415) 555-0199").phone, "4155550199");
	CHECK_STR(read_at_now("2026-12-24").phone, "");
	CHECK_STR(read_at_now("24.12.2026").phone, "");
	CHECK_STR(read_at_now("for 4 at 7").phone, "");
}

TEST(nlu_reservation_codes)
{
	CHECK_STR(read_at_now("my code is K7M2QX9PT").code, "K7M2QX9PT");
	CHECK_STR(read_at_now("k7m2-qx9p-t please").code, "K7M2QX9PT");
	CHECK_STR(read_at_now("K7M 2QX 9PT").code, "K7M2QX9PT");
	CHECK_STR(read_at_now("code is abcdefghj").code, "ABCDEFGHJ");
	CHECK_STR(read_at_now("my booking yesterday").code, "");
	CHECK_STR(read_at_now("party of 4 at 7 pm sat").code, "");
	CHECK_STR(read_at_now("K7M2QX9P0").code, "");
	CHECK(read_at_now("what's my booking K7M2QX9PT?").intents & NLU_INTENT_FIND);
}

TEST(nlu_intents)
{
	CHECK(read_at_now("I'd like to book a table").intents & NLU_INTENT_BOOK);
	CHECK(read_at_now("please cancel my reservation").intents & NLU_INTENT_CANCEL);
	CHECK(!(read_at_now("in case I have to cancel").intents & NLU_INTENT_CANCEL));
	CHECK(read_at_now("Do you have vegan starters?").intents & NLU_INTENT_MENU);
	CHECK(read_at_now("when are you open on Sunday?").intents & NLU_INTENT_HOURS);
	CHECK(read_at_now("any good movies nearby?").intents & NLU_INTENT_ELSEWHERE);
	CHECK(read_at_now("another restaurant in Oakland").intents & NLU_INTENT_ELSEWHERE);
	CHECK(read_at_now("thanks, bye").intents & NLU_INTENT_GOODBYE);
}

TEST(nlu_elsewhere_clause_keeps_booking_clause)
{
	struct nlu_result r =
		read_at_now("I need 3 tickets for the concert on the 5th. Also a table for 2 at 8pm.");

	CHECK_INT(r.party_size, 2);
	CHECK_STR(r.date, "");
	CHECK_STR(r.time, "20:00");
}

TEST(nlu_format_for_guests)
{
	char buf[64];

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	nlu_format_date("2027-03-12", NOW, buf, sizeof(buf));
	CHECK_STR(buf, "Friday 12 March");
	nlu_format_date("2028-01-02", NOW, buf, sizeof(buf));
	CHECK_STR(buf, "Sunday 2 January 2028");
	nlu_format_time("19:30", buf, sizeof(buf));
	CHECK_STR(buf, "7:30 pm");
	nlu_format_time("12:00", buf, sizeof(buf));
	CHECK_STR(buf, "noon");
	CHECK(nlu_date_valid("2028-02-29"));
	CHECK(!nlu_date_valid("2027-02-29"));
}

TEST(nlu_long_message_is_safe)
{
	char message[2100];

	for (size_t i = 0; i + 1 < sizeof(message); i++)
		message[i] = i % 3 == 2 ? ' ' : (char)('0' + i % 10);
	message[sizeof(message) - 1] = '\0';
	struct nlu_result r = read_at_now(message);
	CHECK(r.party_size >= 0);
}

TEST(nlu_name_and_phone_with_request)
{
	static const struct {
		const char *message;
		const char *name;
		const char *phone;
	} cases[] = {
		{ "Can I book a table for 2 tomorrow at 19:30? Name Jean Dupont, phone "
		  "+33 6 98 76 54 32", "Jean Dupont", "+33698765432" },
		{ "table for 2 at 8pm, name: Marie Curie, 06 11 22 33 44", "Marie Curie",
		  "0611223344" },
		{ "book under Dupont for 4 tomorrow", "Dupont", "" },
		{ "a table for Jean Dupont tomorrow at 8, phone 0611111111", "Jean Dupont",
		  "0611111111" },
		{ "a table for Friday at 8", "", "" },
		{ "a table for Christmas Eve", "", "" },
		{ "a table for New Year's Eve", "", "" },
		{ "a table for two people", "", "" },
	};

	for (size_t i = 0; i < COUNT(cases); i++) {
		struct nlu_result r = read_at_now(cases[i].message);
		if (strcmp(r.name, cases[i].name) != 0)
			test_fail(__FILE__, __LINE__, "name of \"%s\" is \"%s\", expected \"%s\"",
				  cases[i].message, r.name, cases[i].name);
		if (strcmp(r.phone, cases[i].phone) != 0)
			test_fail(__FILE__, __LINE__, "phone of \"%s\" is \"%s\", expected \"%s\"",
				  cases[i].message, r.phone, cases[i].phone);
	}
}

TEST(nlu_code_asks_for_existing_booking)
{
	static const char *const messages[] = {
		"find booking PGPT9S35B phone 0611111111",
		"what's the booking for code 8P84XUVM4?",
		"check booking pgpt9s35b",
		"my booking 8P84XUVM4",
	};

	for (size_t i = 0; i < COUNT(messages); i++) {
		struct nlu_result r = read_at_now(messages[i]);
		if (!(r.intents & NLU_INTENT_FIND) || (r.intents & NLU_INTENT_BOOK))
			test_fail(__FILE__, __LINE__, "\"%s\" has intents %#x, expected find only",
				  messages[i], r.intents);
		if (strlen(r.code) != NLU_CODE_LENGTH)
			test_fail(__FILE__, __LINE__, "\"%s\" has code \"%s\"", messages[i], r.code);
	}
}

TEST(nlu_invalid_numbers_dates_and_times)
{
	static const struct count_case parties[] = {
		{ "1e9 people", 0 },
		{ "table for -1 people", 0 },
		{ "-1 people", 0 },
		{ "4 people", 4 },
	};
	check_parties(parties, COUNT(parties));

	struct nlu_result r = read_at_now("a table on 2026-02-30");
	CHECK_STR(r.date, "");
	CHECK(r.date_invalid);
	r = read_at_now("table for 2 at 25:61");
	CHECK_STR(r.time, "");
	CHECK(r.time_invalid);
	CHECK_INT(r.party_size, 2);
	r = read_at_now("table for 2 on 2027-03-12 at 19:30");
	CHECK_STR(r.date, "2027-03-12");
	CHECK(!r.date_invalid);
	CHECK(!r.time_invalid);
}
