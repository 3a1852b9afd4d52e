#include <stdio.h>
#include <string.h>

#include "workers/nlu_readers.h"

enum daypart { DAYPART_NONE, DAYPART_MORNING, DAYPART_AFTERNOON, DAYPART_EVENING, DAYPART_NIGHT };

struct time_hit {
	int hour;          /* as said: 0..24 */
	int minute;
	int offset;        /* minutes added after resolving the hour: -15 for "quarter to" */
	int first, last;   /* token span */
	char meridiem;     /* 'a', 'p' or 0 */
	enum daypart daypart;
	bool marked;       /* something says it is a time: ':', am/pm, o'clock, "half past" */
};

static const char *const lead_words[] = {
	"at", "around", "about", "by", "from", "after", "before", "until", "till", "for",
	"approximately", "roughly", NULL
};

static const char *const count_nouns[] = {
	"people", "persons", "person", "guests", "guest", "adults", "of", "pax", "diners",
	"ppl", "seats", "tickets", "minutes", "mins", "hours", "days", "weeks", "euros",
	"eur", "dollars", "restaurants", "places", "kids", "children", NULL
};

static enum daypart daypart_word(const struct nlu_tokens *t, int i)
{
	if (nlu_is(t, i, "morning"))
		return DAYPART_MORNING;
	if (nlu_is(t, i, "afternoon"))
		return DAYPART_AFTERNOON;
	if (nlu_is(t, i, "evening") || nlu_is(t, i, "dinner"))
		return DAYPART_EVENING;
	if (nlu_is(t, i, "night") || nlu_is(t, i, "tonight"))
		return DAYPART_NIGHT;
	return DAYPART_NONE;
}

/* Reads "thirty", "fifteen", "forty five", "oh five" after an hour word. */
static int minute_words(const struct nlu_tokens *t, int i, int *next)
{
	if (nlu_is(t, i, "oh") && nlu_is_number(t, i + 1) && t->token[i + 1].number < 10) {
		*next = i + 2;
		return t->token[i + 1].number;
	}
	if (!nlu_is_number(t, i) || t->token[i].kind != NLU_TOKEN_WORD)
		return -1;

	int tens = t->token[i].number;
	if (tens < 10 || tens > 59)
		return -1;
	*next = i + 1;
	if (tens % 10 == 0 && tens >= 20 && nlu_is_number(t, i + 1) &&
	    t->token[i + 1].kind == NLU_TOKEN_WORD && t->token[i + 1].number < 10) {
		*next = i + 2;
		return tens + t->token[i + 1].number;
	}
	return tens;
}

/* Reads an hour with optional minutes at i: "7", "seven", "7:30", "19h30",
 * "7.30" (only when marked later), "7 30" (only with am/pm), "seven thirty". */
static bool read_clock(const struct nlu_tokens *t, int i, struct time_hit *hit)
{
	const struct nlu_token *tok = &t->token[i];

	if (!nlu_is_number(t, i) || tok->number > 24)
		return false;
	hit->hour = tok->number;
	hit->minute = 0;
	hit->first = hit->last = i;

	bool digits = tok->kind == NLU_TOKEN_NUMBER;
	if (digits && (nlu_is(t, i + 1, ":") || nlu_is(t, i + 1, "h") || nlu_is(t, i + 1, ".")) &&
	    i + 2 < t->count && t->token[i + 2].kind == NLU_TOKEN_NUMBER &&
	    !t->token[i + 2].used && strlen(t->token[i + 2].text) == 2 &&
	    t->token[i + 2].number < 60) {
		hit->minute = t->token[i + 2].number;
		hit->last = i + 2;
		hit->marked = !nlu_is(t, i + 1, ".");
		return true;
	}
	if (digits && nlu_is(t, i + 1, "h") && !t->token[i + 1].space_before) {
		hit->last = i + 1;
		hit->marked = true;
		return true;
	}
	if (digits && i + 1 < t->count && t->token[i + 1].kind == NLU_TOKEN_NUMBER &&
	    !t->token[i + 1].used && strlen(t->token[i + 1].text) == 2 &&
	    t->token[i + 1].number < 60 && (nlu_is(t, i + 2, "am") || nlu_is(t, i + 2, "pm"))) {
		hit->minute = t->token[i + 1].number;
		hit->last = i + 1;
		return true;
	}

	int next;
	int minute = tok->kind == NLU_TOKEN_WORD ? minute_words(t, i + 1, &next) : -1;
	if (minute >= 0) {
		hit->minute = minute;
		hit->last = next - 1;
	}
	return true;
}

/* Reads "half past 7", "quarter to 8", "ten past 6", "20 to 9", "half 7". */
static bool read_relative(const struct nlu_tokens *t, int i, struct time_hit *hit)
{
	int minutes = -1, k = i + 1;

	if (nlu_is(t, i, "half"))
		minutes = 30;
	else if (nlu_is(t, i, "quarter"))
		minutes = 15;
	else if (nlu_is_number(t, i) && t->token[i].kind == NLU_TOKEN_WORD &&
		 (t->token[i].number == 5 || t->token[i].number == 10 ||
		  t->token[i].number == 20 || t->token[i].number == 25))
		minutes = t->token[i].number;
	if (minutes < 0)
		return false;

	if (nlu_is(t, k, "minutes"))
		k++;
	bool before = nlu_is(t, k, "to") || nlu_is(t, k, "till");
	if (!before && !nlu_is(t, k, "past") && !nlu_is(t, k, "after")) {
		/* British "half 7" means 7:30. */
		if (minutes != 30 || !nlu_is_number(t, k))
			return false;
		k--;
	}

	struct time_hit clock = { 0 };
	if (!read_clock(t, k + 1, &clock) || clock.minute != 0 || clock.hour == 0 ||
	    clock.hour > 12)
		return false;
	hit->hour = clock.hour;
	hit->minute = 0;
	hit->offset = before ? -minutes : minutes;
	hit->first = i;
	hit->last = clock.last;
	hit->marked = true;
	return true;
}

static bool read_named(const struct nlu_tokens *t, int i, struct time_hit *hit)
{
	if (nlu_is(t, i, "noon") || nlu_is(t, i, "midday") || nlu_phrase_at(t, i, "mid day", NULL)) {
		hit->hour = 12;
		hit->last = nlu_is(t, i, "mid") ? i + 1 : i;
	} else if (nlu_is(t, i, "midnight")) {
		hit->hour = 0;
		hit->last = i;
	} else {
		return false;
	}
	hit->first = i;
	hit->meridiem = hit->hour == 12 ? 'p' : 'a';
	hit->marked = true;
	return true;
}

/* Reads what may follow a clock: o'clock, am/pm, "ish", "in the evening",
 * "at night", "tonight", "this evening". */
static void read_suffix(const struct nlu_tokens *t, struct time_hit *hit)
{
	int k = hit->last + 1;

	if (nlu_is(t, k, "o'clock") || nlu_is(t, k, "oclock")) {
		hit->marked = true;
		k++;
	} else if (nlu_is(t, k, "o") && nlu_is(t, k + 1, "clock")) {
		hit->marked = true;
		k += 2;
	}
	if (nlu_is(t, k, "am") || nlu_is(t, k, "pm")) {
		hit->meridiem = t->token[k].text[0];
		hit->marked = true;
		k++;
	}
	if (nlu_is(t, k, "ish") || nlu_is(t, k, "sharp"))
		k++;

	/* "this evening" and "tonight" also name the day, so the date reader
	 * must still see them: they set the part of the day but stay unused. */
	int next = k;
	bool keep_unused = false;
	if (nlu_is(t, k, "tonight")) {
		keep_unused = true;
	} else if (nlu_is(t, k, "this")) {
		keep_unused = true;
		next = k + 1;
	} else if (nlu_is(t, k, "at") && nlu_is(t, k + 1, "night")) {
		next = k + 1;
	} else if (!nlu_phrase_at(t, k, "in the", &next) && !nlu_phrase_at(t, k, "of the", &next)) {
		next = k;
	}
	if (nlu_is(t, next, "late") || nlu_is(t, next, "early"))
		next++;

	enum daypart part = daypart_word(t, next);
	/* In "for 1 in the evening 6:30" the part of the day belongs to the
	 * clock after it. */
	if (part != DAYPART_NONE && nlu_is_number(t, next + 1) && !keep_unused)
		part = DAYPART_NONE;
	if (part != DAYPART_NONE) {
		hit->daypart = part;
		hit->marked = true;
		if (!keep_unused)
			k = next + 1;
	}
	hit->last = k - 1;
}

/* Reads a part of the day or a lead word before the clock: "evening 6:30",
 * "the afternoon 1:30", "evening at 7", "at 7", "around 8". */
static void read_prefix(const struct nlu_tokens *t, struct time_hit *hit)
{
	int k = hit->first - 1;

	if (nlu_is_any(t, k, lead_words)) {
		if (!nlu_is(t, k, "for"))
			hit->marked = hit->marked || !nlu_is(t, k, "about");
		k--;
	}
	enum daypart part = daypart_word(t, k);
	if (part != DAYPART_NONE && hit->daypart == DAYPART_NONE) {
		hit->daypart = part;
		hit->marked = true;
		/* "tonight" and "this evening" also name the day: leave them to
		 * the date reader. */
		if (!nlu_is(t, k, "tonight") && !nlu_is(t, k - 1, "this"))
			hit->first = k;
	}
}

/* Returns true when the clause of token i talks about the morning or a
 * morning meal, which keeps a bare "at 9" in the morning. */
static bool clause_says_morning(const struct nlu_tokens *t, int i)
{
	int clause = t->token[i].clause;

	for (int k = 0; k < t->count; k++) {
		if (t->token[k].clause != clause)
			continue;
		if (strcmp(t->token[k].text, "morning") == 0 ||
		    strcmp(t->token[k].text, "breakfast") == 0 ||
		    strcmp(t->token[k].text, "brunch") == 0)
			return true;
	}
	return false;
}

static int resolve_hour(const struct time_hit *hit, bool morning_hint)
{
	int h = hit->hour;

	if (hit->meridiem == 'p')
		return h < 12 ? h + 12 : h;
	if (hit->meridiem == 'a')
		return h == 12 ? 0 : h;
	switch (hit->daypart) {
	case DAYPART_MORNING:
		return h;
	case DAYPART_AFTERNOON:
	case DAYPART_EVENING:
		return h >= 1 && h <= 11 ? h + 12 : h;
	case DAYPART_NIGHT:
		if (h == 12)
			return 0;
		return h >= 1 && h <= 11 ? h + 12 : h;
	case DAYPART_NONE:
		break;
	}
	if (morning_hint && h <= 11)
		return h;
	return h >= 1 && h <= 9 ? h + 12 : h % 24;
}

/* Returns true when hit should count as a time: marked by its own words,
 * or a bare hour after "at"/"around" that is not followed by a count noun. */
static bool hit_is_time(const struct nlu_tokens *t, const struct time_hit *hit)
{
	/* "19:00 hours" is how some people write a 24-hour time. */
	if (nlu_is(t, hit->last + 1, "hours") && hit->marked && hit->minute + hit->offset >= 0 &&
	    hit->last > hit->first)
		return true;
	if (nlu_is_any(t, hit->last + 1, count_nouns))
		return false;
	if (hit->meridiem && (hit->hour < 1 || hit->hour > 12))
		return false;
	return hit->marked;
}

static bool read_hit_at(const struct nlu_tokens *t, int i, struct time_hit *hit)
{
	memset(hit, 0, sizeof(*hit));
	if (!read_relative(t, i, hit) && !read_named(t, i, hit)) {
		memset(hit, 0, sizeof(*hit));
		if (!read_clock(t, i, hit))
			return false;
	}
	read_suffix(t, hit);
	read_prefix(t, hit);
	return hit_is_time(t, hit);
}

bool nlu_take_invalid_clock(struct nlu_tokens *t)
{
	bool found = false;

	for (int i = 0; i + 2 < t->count; i++) {
		const struct nlu_token *hour = &t->token[i], *minute = &t->token[i + 2];

		if (hour->used || hour->kind != NLU_TOKEN_NUMBER || strlen(hour->text) > 2 ||
		    !nlu_is(t, i + 1, ":") || minute->used || minute->kind != NLU_TOKEN_NUMBER ||
		    strlen(minute->text) != 2 || t->token[i + 1].space_before ||
		    minute->space_before)
			continue;
		if (hour->number > 23 || minute->number > 59) {
			nlu_use(t, i, i + 2);
			found = true;
		}
	}
	return found;
}

bool nlu_take_time(struct nlu_tokens *t, char out[NLU_TIME_SIZE])
{
	bool found = false;

	for (int i = 0; i < t->count; i++) {
		struct time_hit hit;

		if (t->token[i].used || !read_hit_at(t, i, &hit))
			continue;

		bool negated = nlu_is_negated(t, hit.first);
		int minutes = resolve_hour(&hit, clause_says_morning(t, hit.first)) * 60 +
			      hit.minute + hit.offset;
		unsigned day_minute = (unsigned)(minutes + 24 * 60) % (24 * 60);
		nlu_use(t, hit.first, hit.last);
		if (!negated) {
			snprintf(out, NLU_TIME_SIZE, "%02u:%02u", day_minute / 60, day_minute % 60);
			found = true;
		}
		i = hit.last;
	}
	return found;
}
