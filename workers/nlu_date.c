#include <stdio.h>
#include <string.h>

#include "workers/nlu_readers.h"

/* A date found in the message, as an offset from today or a calendar day
 * whose missing year or month is filled in later. */
struct date_hit {
	int first, last;     /* token span */
	int offset;          /* days from today, when relative */
	bool relative;
	int year, month, day; /* 0 when not said */
	bool vague;          /* "next week": a day is still to be asked */
	bool past;           /* "yesterday" */
};

static const int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool day_exists(int year, int month, int day)
{
	if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1])
		return false;
	return month != 2 || day <= 28 || is_leap(year);
}

/* Monday-based weekday (0 Monday .. 6 Sunday) from tm_wday. */
static int monday_index(int wday)
{
	return (wday + 6) % 7;
}

static bool read_relative_day(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	int next = i;

	if (nlu_phrase_at(t, i, "the day after tomorrow", &next) ||
	    nlu_phrase_at(t, i, "day after tomorrow", &next) ||
	    nlu_phrase_at(t, i, "overmorrow", &next)) {
		hit->offset = 2;
	} else if (nlu_is(t, i, "tomorrow") || nlu_is(t, i, "tomorrows") ||
		   nlu_is(t, i, "tomorrow's") || nlu_is(t, i, "tmrw") || nlu_is(t, i, "tmr") ||
		   nlu_is(t, i, "tomorow") || nlu_is(t, i, "tommorow") || nlu_is(t, i, "tommorrow")) {
		hit->offset = 1;
		next = i + 1;
	} else if (nlu_is(t, i, "today") || nlu_is(t, i, "today's") || nlu_is(t, i, "tonight") ||
		   nlu_is(t, i, "tonite") || nlu_phrase_at(t, i, "this evening", &next) ||
		   nlu_phrase_at(t, i, "this afternoon", &next) ||
		   nlu_phrase_at(t, i, "this morning", &next)) {
		hit->offset = 0;
		if (next == i)
			next = i + 1;
	} else if (nlu_is(t, i, "yesterday")) {
		hit->offset = -1;
		hit->past = true;
		next = i + 1;
	} else {
		return false;
	}
	hit->relative = true;
	hit->first = i;
	hit->last = next - 1;
	return true;
}

/* Reads "in 3 days", "in a week", "in two weeks", "a week from today". */
static bool read_in_days(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	int count, k = i + 1;

	if (!nlu_is(t, i, "in"))
		return false;
	if (nlu_is(t, k, "a") || nlu_is(t, k, "one")) {
		count = 1;
	} else if (nlu_is_number(t, k) && t->token[k].number > 0 && t->token[k].number < 100) {
		count = t->token[k].number;
	} else {
		return false;
	}
	k++;
	if (nlu_is(t, k, "days") || nlu_is(t, k, "day"))
		hit->offset = count;
	else if (nlu_is(t, k, "weeks") || nlu_is(t, k, "week"))
		hit->offset = count * 7;
	else
		return false;
	if (nlu_is(t, k + 1, "time"))
		k++;
	hit->relative = true;
	hit->first = i;
	hit->last = k;
	return true;
}

/* Reads a weekday with what qualifies it: "friday", "this friday", "next
 * friday", "this coming friday", "friday next week", "friday this week",
 * "tuesday, next week". */
static bool read_weekday(const struct nlu_tokens *t, int i, const struct tm *today,
			 struct date_hit *hit)
{
	int k = i, first = i;
	bool next_week = false, this_week = false;

	if (nlu_phrase_at(t, k, "this coming", &k) || nlu_is(t, k, "coming") ||
	    nlu_is(t, k, "this")) {
		if (nlu_is(t, k, "coming") || nlu_is(t, k, "this"))
			k++;
	} else if (nlu_is(t, k, "next")) {
		next_week = true;
		k++;
	}
	if (k >= t->count || t->token[k].used)
		return false;

	int wday = nlu_weekday_word(t->token[k].text);
	if (wday < 0)
		return false;
	/* "sat", "sun" and "wed" are also words: take them only after a
	 * qualifier, "on", or with a capital. */
	if (strlen(t->token[k].text) <= 3 && k == i && !t->token[k].capitalized &&
	    !nlu_is(t, i - 1, "on"))
		return false;

	int last = k, after = k + 1;
	if (nlu_is(t, after, ","))
		after++;
	if (nlu_phrase_at(t, after, "next week", &after) ||
	    nlu_phrase_at(t, after, "of next week", &after) ||
	    nlu_phrase_at(t, after, "after next", &after)) {
		next_week = true;
		last = after - 1;
	} else if (nlu_phrase_at(t, after, "this week", &after) ||
		   nlu_phrase_at(t, after, "of this week", &after)) {
		this_week = true;
		last = after - 1;
	}

	int today_index = monday_index(today->tm_wday), target = monday_index(wday);
	if (next_week)
		hit->offset = 7 - today_index + target;
	else if (this_week && target >= today_index)
		hit->offset = target - today_index;
	else
		hit->offset = (target - today_index + 7) % 7;
	hit->relative = true;
	hit->first = first;
	hit->last = last;
	return true;
}

/* Reads a day of the month: "11th", "the 11th", "11" before a month name,
 * "the third". Returns the day or 0, and sets *next past it. */
static int read_day_number(const struct nlu_tokens *t, int i, bool need_ordinal, int *next)
{
	int k = i;

	if (nlu_is(t, k, "the"))
		k++;
	if (k >= t->count || t->token[k].used || t->token[k].number < 1)
		return 0;

	const struct nlu_token *tok = &t->token[k];
	int day = tok->number;
	/* "twenty first" and "thirty first" are two words. */
	if (tok->kind == NLU_TOKEN_WORD && (day == 20 || day == 30) && k + 1 < t->count &&
	    !t->token[k + 1].used && t->token[k + 1].ordinal && t->token[k + 1].number < 10) {
		day += t->token[k + 1].number;
		k++;
	} else if (need_ordinal && !tok->ordinal) {
		return 0;
	}
	if (day > 31)
		return 0;
	*next = k + 1;
	return day;
}

static int read_month_at(const struct nlu_tokens *t, int i)
{
	if (i < 0 || i >= t->count || t->token[i].used)
		return 0;
	return nlu_month_word(t->token[i].text);
}

static int read_year_at(const struct nlu_tokens *t, int i, int *next)
{
	int k = i;

	if (nlu_is(t, k, ","))
		k++;
	if (k < t->count && !t->token[k].used && t->token[k].kind == NLU_TOKEN_NUMBER &&
	    t->token[k].number >= 2000 && t->token[k].number < 2100) {
		*next = k + 1;
		return t->token[k].number;
	}
	*next = i;
	return 0;
}

/* Reads "March 11", "March 11th, 2027", "March the 11th", "11 March",
 * "11th of March", "the 11th of March". */
static bool read_month_day(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	int month = read_month_at(t, i), day, next;

	/* "may" is also a verb ("may 2 of us come?"): take it as the month only
	 * with a capital or an ordinal day. */
	if (month == 5 && !t->token[i].capitalized && !(i + 1 < t->count && t->token[i + 1].ordinal))
		month = 0;
	if (month) {
		day = read_day_number(t, i + 1, false, &next);
		if (!day || (t->token[next - 1].kind == NLU_TOKEN_WORD && !t->token[next - 1].ordinal))
			return false;
	} else {
		day = read_day_number(t, i, false, &next);
		if (!day)
			return false;
		if (nlu_is(t, next, "of"))
			next++;
		month = read_month_at(t, next);
		if (!month)
			return false;
		next++;
	}
	hit->year = read_year_at(t, next, &next);
	hit->month = month;
	hit->day = day;
	hit->first = i;
	hit->last = next - 1;
	return true;
}

/* Reads "the 11th", "on the 24th", "11th of this month", "the 4th of next
 * month", "the twenty first". A spelled ordinal alone ("the third") needs
 * "on"/"for" before it or "of this month" after it. */
static bool read_day_of_month(const struct nlu_tokens *t, int i, const struct tm *today,
			      struct date_hit *hit)
{
	int next, day = read_day_number(t, i, true, &next);

	if (!day)
		return false;
	if (t->token[i].used || (!nlu_is(t, i, "the") && t->token[i].kind == NLU_TOKEN_WORD &&
				  !t->token[i].ordinal))
		return false;

	/* A spelled ordinal needs "the": "on second thought" is no date. */
	bool spelled = t->token[next - 1].kind == NLU_TOKEN_WORD;
	if (spelled && !nlu_is(t, i, "the"))
		return false;
	int month = 0, year = 0;
	if (nlu_phrase_at(t, next, "of this month", &next) ||
	    nlu_phrase_at(t, next, "this month", &next)) {
		month = today->tm_mon + 1;
	} else if (nlu_phrase_at(t, next, "of next month", &next) ||
		   nlu_phrase_at(t, next, "next month", &next)) {
		month = today->tm_mon + 2;
	} else if (spelled && !nlu_is(t, i - 1, "on") && !nlu_is(t, i - 1, "for")) {
		return false;
	}
	if (nlu_phrase_at(t, next, "of the month", &next))
		month = 0;
	if (month == 13) {
		month = 1;
		year = today->tm_year + 1901;
	}
	hit->year = year;
	hit->month = month;
	hit->day = day;
	hit->first = i;
	hit->last = next - 1;
	return true;
}

static bool is_number_token(const struct nlu_tokens *t, int i)
{
	return i < t->count && !t->token[i].used && t->token[i].kind == NLU_TOKEN_NUMBER &&
	       !t->token[i].ordinal;
}

/* Reads "2026-12-24", "24/12", "24/12/2026", "24.12.", "24.12.2026", "12/24". */
static bool read_numeric(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	if (!is_number_token(t, i) || i + 2 >= t->count)
		return false;

	const char *sep = t->token[i + 1].text;
	if (t->token[i + 1].used || !strchr("/.-", sep[0]) || !is_number_token(t, i + 2) ||
	    t->token[i + 1].space_before || t->token[i + 2].space_before)
		return false;

	int a = t->token[i].number, b = t->token[i + 2].number, c = 0, last = i + 2;
	bool has_year = nlu_is(t, i + 3, sep) && is_number_token(t, i + 4) &&
			!t->token[i + 4].space_before;
	if (has_year) {
		c = t->token[i + 4].number;
		last = i + 4;
	}

	if (sep[0] == '-' && strlen(t->token[i].text) == 4 && has_year) {
		hit->year = a;
		hit->month = b;
		hit->day = c;
	} else if (sep[0] == '-') {
		return false;
	} else {
		/* Day first, as in Europe, unless only month first makes sense. */
		bool month_first = a <= 12 && b > 12;
		hit->day = month_first ? b : a;
		hit->month = month_first ? a : b;
		if (has_year)
			hit->year = c < 100 ? 2000 + c : c;
		/* "24.12" alone may be a price: a dot date needs its final dot,
		 * a year, or "on" before it. */
		if (sep[0] == '.' && !has_year && !nlu_is(t, i + 3, ".") && !nlu_is(t, i - 1, "on"))
			return false;
		if (sep[0] == '.' && !has_year && nlu_is(t, i + 3, "."))
			last = i + 3;
	}
	hit->first = i;
	hit->last = last;
	/* A full date with a month or day out of range is still read, so the
	 * guest hears that it does not exist; resolve() rejects it. */
	return has_year || (hit->month >= 1 && hit->month <= 12 && hit->day >= 1 && hit->day <= 31);
}

/* Reads the holidays guests book for: "christmas" (day), "christmas eve",
 * "new year's eve", "new year's day". */
static bool read_holiday(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	static const struct {
		const char *phrase;
		int month, day;
	} holidays[] = {
		{ "christmas eve", 12, 24 }, { "christmas day", 12, 25 }, { "christmas", 12, 25 },
		{ "xmas", 12, 25 }, { "new year's eve", 12, 31 }, { "new years eve", 12, 31 },
		{ "new year eve", 12, 31 }, { "nye", 12, 31 }, { "new year's day", 1, 1 },
		{ "new years day", 1, 1 },
	};
	int next;

	for (size_t k = 0; k < sizeof(holidays) / sizeof(holidays[0]); k++) {
		if (nlu_phrase_at(t, i, holidays[k].phrase, &next)) {
			hit->month = holidays[k].month;
			hit->day = holidays[k].day;
			hit->first = i;
			hit->last = next - 1;
			return true;
		}
	}
	return false;
}

static bool read_vague(const struct nlu_tokens *t, int i, struct date_hit *hit)
{
	int next = i;

	if (nlu_phrase_at(t, i, "next week", &next) || nlu_phrase_at(t, i, "this weekend", &next) ||
	    nlu_phrase_at(t, i, "next weekend", &next) || nlu_phrase_at(t, i, "the weekend", &next) ||
	    nlu_phrase_at(t, i, "next month", &next) || nlu_phrase_at(t, i, "later this week", &next) ||
	    nlu_phrase_at(t, i, "this week", &next)) {
		hit->vague = true;
		hit->first = i;
		hit->last = next - 1;
		return true;
	}
	return false;
}

static bool read_hit_at(const struct nlu_tokens *t, int i, const struct tm *today,
			struct date_hit *hit)
{
	memset(hit, 0, sizeof(*hit));
	return read_relative_day(t, i, hit) || read_in_days(t, i, hit) ||
	       read_weekday(t, i, today, hit) || read_month_day(t, i, hit) ||
	       read_day_of_month(t, i, today, hit) || read_numeric(t, i, hit) ||
	       read_holiday(t, i, hit) || read_vague(t, i, hit);
}

/* Turns a hit into a calendar day; fills in a missing month or year so the
 * day is not in the past. Returns false when no such day exists. */
static bool resolve(const struct date_hit *hit, const struct tm *today, struct tm *out)
{
	*out = *today;
	out->tm_hour = 12;
	out->tm_min = out->tm_sec = 0;
	out->tm_isdst = -1;
	if (hit->relative) {
		out->tm_mday += hit->offset;
		return mktime(out) != (time_t)-1;
	}

	int year = hit->year ? hit->year : today->tm_year + 1900;
	int month = hit->month ? hit->month : today->tm_mon + 1;
	int now_key = (today->tm_year + 1900) * 10000 + (today->tm_mon + 1) * 100 + today->tm_mday;
	if (!hit->year && year * 10000 + month * 100 + hit->day < now_key) {
		if (hit->month) {
			year++;
		} else if (++month == 13) {
			month = 1;
			year++;
		}
	}
	if (month < 1 || month > 12 || !day_exists(year, month, hit->day))
		return false;
	out->tm_year = year - 1900;
	out->tm_mon = month - 1;
	out->tm_mday = hit->day;
	return mktime(out) != (time_t)-1;
}

void nlu_take_date(struct nlu_tokens *t, const struct tm *today, struct nlu_result *out)
{
	for (int i = 0; i < t->count; i++) {
		struct date_hit hit;
		struct tm day;

		if (t->token[i].used || !read_hit_at(t, i, today, &hit))
			continue;
		nlu_use(t, hit.first, hit.last);
		i = hit.last;
		if (nlu_is_negated(t, hit.first))
			continue;
		if (hit.vague) {
			if (!out->date[0])
				out->date_vague = true;
			continue;
		}
		if (!resolve(&hit, today, &day) || day.tm_year + 1900 > 9999) {
			out->date_invalid = true;
			continue;
		}
		snprintf(out->date, NLU_DATE_SIZE, "%04u-%02u-%02u",
			 (unsigned)(day.tm_year + 1900) % 10000u, (unsigned)(day.tm_mon + 1) % 100u,
			 (unsigned)day.tm_mday % 100u);
		out->date_vague = false;
		out->date_invalid = false;
		out->date_past = hit.past;
	}
}
