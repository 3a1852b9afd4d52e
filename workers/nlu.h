#ifndef MAITRED_NLU_H
#define MAITRED_NLU_H

/*
 * Rule-based language understanding for the offline agent: reads one guest
 * message and returns the booking details, contact details, reservation code,
 * yes/no answer and intents it finds. No I/O, no allocation, thread-safe.
 *
 * Dates are resolved against "now" in the process's local time zone (the
 * restaurant's, set through TZ before any thread starts):
 *   today, tonight, this evening, later today      -> today
 *   tomorrow, day after tomorrow, in 3 days        -> today + 1, + 2, + 3
 *   friday, on friday, this friday, friday this week
 *                                                  -> the first Friday from today on
 *                                                     (today included)
 *   next friday, friday next week                  -> the Friday of next calendar week
 *                                                     (weeks start on Monday), so on
 *                                                     Monday 1 March "next Friday" is
 *                                                     12 March, not 5 March
 *   the 11th, on the 24th, 11th of this month      -> that day of this month, or of next
 *                                                     month when it has passed
 *   March 11, 11 March, Dec 24th, the 24th of December, 24/12, 24.12.
 *                                                  -> that day this year, or next year
 *                                                     when it has passed; numeric dates
 *                                                     are day/month (European order)
 *                                                     unless the first number exceeds 12
 *   24/12/2026, 24.12.2026, 2026-12-24             -> that exact day
 *   christmas (day), christmas eve, new year's eve, new year's day
 *                                                  -> that day this year, or next year
 *                                                     when it has passed
 *   next week, this weekend, the weekend           -> no date; date_vague is set so the
 *                                                     agent asks for the day
 *
 * Times ("HH:MM", 24-hour): 7pm, 7:30pm, 19:30, 19h30, half past seven,
 * quarter to 8, noon, midday, evening 6:30, 6:30 in the evening, at 7.
 * An hour without am/pm or a part of the day is read for a restaurant:
 * 1 to 9 are afternoon or evening hours (at 7 is 19:00, at 1 is 13:00),
 * 10, 11 and 12 stay as they are (10:45 is 10:45, at 12 is noon), and 13
 * to 23 are 24-hour times. "in the morning" keeps the hour; "afternoon",
 * "evening", "night", "tonight" and "dinner" move 1..11 to the afternoon
 * or evening.
 */
#include <stdbool.h>
#include <time.h>

#define NLU_DATE_SIZE 11   /* "YYYY-MM-DD" and the terminating NUL */
#define NLU_TIME_SIZE 6    /* "HH:MM" and the terminating NUL */
#define NLU_NAME_SIZE 64
#define NLU_PHONE_SIZE 32
#define NLU_CODE_SIZE 10   /* 9 characters and the terminating NUL */
#define NLU_CODE_LENGTH 9
#define NLU_PARTY_MAX 99   /* larger counts are not read as a party size */

/* The characters of a reservation code: digits and capitals without the
 * look-alikes 0, 1, I, L and O. */
#define NLU_CODE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

enum nlu_answer { NLU_ANSWER_NONE, NLU_ANSWER_YES, NLU_ANSWER_NO };

/* Intents, as bits of nlu_result.intents. */
enum nlu_intent {
	NLU_INTENT_BOOK = 1 << 0,      /* book, reserve, a table */
	NLU_INTENT_FIND = 1 << 1,      /* my booking, check my reservation */
	NLU_INTENT_CANCEL = 1 << 2,    /* cancel */
	NLU_INTENT_MENU = 1 << 3,      /* dishes, diets, prices, allergens */
	NLU_INTENT_HOURS = 1 << 4,     /* open, close, opening hours */
	NLU_INTENT_GREETING = 1 << 5,
	NLU_INTENT_THANKS = 1 << 6,
	NLU_INTENT_GOODBYE = 1 << 7,   /* bye, that's all, nothing else */
	NLU_INTENT_HELP = 1 << 8,      /* what can you do */
	NLU_INTENT_CHANGE = 1 << 9,    /* actually, change, instead, make it */
	NLU_INTENT_ELSEWHERE = 1 << 10 /* films, rides, events, weather, other restaurants */
};

struct nlu_result {
	int party_size;               /* 1..NLU_PARTY_MAX, or 0 when not given */
	char date[NLU_DATE_SIZE];     /* "YYYY-MM-DD" local, or "" */
	bool date_vague;              /* "next week", "this weekend": ask which day */
	bool date_past;               /* "yesterday" and other days before today */
	bool date_invalid;            /* a day that does not exist ("2026-02-30") */
	bool time_invalid;            /* a clock time that does not exist ("25:61") */
	char time[NLU_TIME_SIZE];     /* "HH:MM" local, or "" */
	char name[NLU_NAME_SIZE];     /* "Ann Smith", or "" */
	char phone[NLU_PHONE_SIZE];   /* digits with an optional leading '+', or "" */
	char code[NLU_CODE_SIZE];     /* upper-case reservation code, or "" */
	int number;                   /* a message that is only a count ("4", "four please"), or -1 */
	enum nlu_answer answer;       /* how the message opens: "yes, ...", "no, ..." */
	unsigned intents;             /* enum nlu_intent bits */
};

/* Reads message (UTF-8, any length) as said at now. Booking details said
 * about something else, such as "3 tickets for the concert on the 5th" or
 * "a cab for 4", are left out, so they never reach a booking draft; the
 * clause's intents still include NLU_INTENT_ELSEWHERE. */
void nlu_read(const char *message, time_t now, struct nlu_result *out);

/* Reads only a bare name ("Ann Smith", "it's Ann"): the reply to "what name
 * should I put the booking under?". Copies it into name and returns true, or
 * returns false when the message does not look like a name. */
bool nlu_read_bare_name(const char *message, char *name, size_t size);

/* Writes date ("YYYY-MM-DD") in words for a guest, such as "Friday 12
 * March", with the year added when it is not the year of now. */
void nlu_format_date(const char *date, time_t now, char *buf, size_t size);

/* Writes time ("HH:MM") in words for a guest, such as "7:30 pm", "noon" or
 * "midnight". */
void nlu_format_time(const char *time, char *buf, size_t size);

/* Writes the time a bare hour stands for ("at 8" is 20:00), by the rule
 * above: 1..9 become afternoon or evening hours, 0 and 10..23 stay. Returns
 * false for an hour outside 0..23. */
bool nlu_time_from_hour(int hour, char out[NLU_TIME_SIZE]);

/* Returns true when date is a valid "YYYY-MM-DD" calendar day. */
bool nlu_date_valid(const char *date);

#endif
