#include <string.h>

#include "workers/nlu_readers.h"

static const char *const people_words[] = {
	"people", "persons", "person", "peoples", "guests", "guest", "adults", "adult", "pax",
	"diners", "ppl", "seats", "covers", "friends", "of", "folks", "individuals",
	/* frequent typos */
	"poeple", "peple", "pepole", "peoople", "persones", NULL
};

/* Nouns after "for N" that make N something else than a party size. */
static const char *const other_nouns[] = {
	"tickets", "ticket", "minutes", "mins", "hours", "hour", "days", "day", "nights",
	"night", "weeks", "euros", "eur", "dollars", "bucks", "restaurants", "dishes",
	"courses", "stars", "rooms", "cars", "seconds", "o'clock", "oclock", "am", "pm",
	"months", "years", "bottles", "glasses", ":", "h", "%", NULL
};

/* Companions that make "me and my X" a party of two. */
static const char *const companions[] = {
	"wife", "husband", "partner", "girlfriend", "boyfriend", "friend", "date", "mom",
	"mum", "mother", "dad", "father", "son", "daughter", "brother", "sister", "colleague",
	"boss", "fiance", "fiancee", "client", "spouse", "kid", "child", "buddy", "mate",
	"cousin", "aunt", "uncle", "grandma", "grandpa", "grandmother", "grandfather", "guest",
	"coworker", "co", NULL
};

/* Words that may follow "for N" when N is a party size. */
static const char *const followers[] = {
	"at", "on", "in", "tomorrow", "tonight", "today", "this", "next", "please", "and",
	"for", "from", "around", "by", "instead", "only", "then", "now", "this", "the", "pls",
	"thanks", "thank", "rather", "not", "but", "with", "adults", "kids", "children", "of",
	"us", "later", "so", "too", "as", "again", "tomorrow's", "monday", "tuesday",
	"wednesday", "thursday", "friday", "saturday", "sunday", "lunch", "dinner", "brunch",
	"breakfast", "if", "or", "here", "inside", "outside", "indoors", "outdoors", "including",
	"there", "myself", "total", "altogether", "in total", NULL
};

/* Verbs after which "for one" names a place or a ride ("look for one in
 * Windsor", "can you search for one?"), not a party of one. */
static const char *const search_verbs[] = {
	"look", "looking", "looks", "search", "searching", "searches", "hunt", "hunting",
	"shop", "shopping", "check", "checking", NULL
};

static const char *const solo_phrases[] = {
	"the only one", "just me", "only me", "just myself", "only myself", "for myself", "by myself",
	"me alone", "myself only", "just for me", "only for me", "on my own", "solo",
	"table for one", NULL
};

static bool valid_count(int n)
{
	return n >= 1 && n <= NLU_PARTY_MAX;
}

/* Reads a count in words or digits at i, such as "4" or "four". Returns it
 * and sets *next, or returns 0. */
static int read_count(const struct nlu_tokens *t, int i, int *next)
{
	if (!nlu_is_number(t, i))
		return 0;
	if (t->token[i].kind == NLU_TOKEN_NUMBER && strlen(t->token[i].text) > 2)
		return 0;
	/* Digits glued to a word or a minus sign before them ("1e9", "-1") are
	 * no count of people. */
	if (t->token[i].kind == NLU_TOKEN_NUMBER && i > 0 && !t->token[i].space_before &&
	    (t->token[i - 1].kind == NLU_TOKEN_WORD || strcmp(t->token[i - 1].text, "-") == 0))
		return 0;
	*next = i + 1;
	return t->token[i].number;
}

/* "4 people", "six of us", "2 adults and 2 kids", "the two of us". */
static int read_counted_people(const struct nlu_tokens *t, int i, int *first, int *last)
{
	int next, n = read_count(t, i, &next);

	if (!valid_count(n))
		return 0;
	if (nlu_is(t, next, "more") || nlu_is(t, next, "other"))
		next++;
	if (nlu_is(t, next, "of") && !nlu_is(t, next + 1, "us") && !nlu_is(t, next + 1, "them") &&
	    !nlu_is(t, next + 1, "you"))
		return 0;
	if (!nlu_is_any(t, next, people_words) && !nlu_is(t, next, "adults"))
		return 0;
	*first = nlu_is(t, i - 1, "the") ? i - 1 : i;
	*last = nlu_is(t, next, "of") ? next + 1 : next;

	/* "2 adults and 2 children" */
	int kids_next, kids = 0;
	if (nlu_is(t, *last + 1, "and") &&
	    (kids = read_count(t, *last + 2, &kids_next)) > 0 &&
	    (nlu_is(t, kids_next, "kids") || nlu_is(t, kids_next, "children") ||
	     nlu_is(t, kids_next, "child") || nlu_is(t, kids_next, "kid") ||
	     nlu_is(t, kids_next, "babies") || nlu_is(t, kids_next, "teenagers"))) {
		*last = kids_next;
		n += kids;
	}
	return valid_count(n) ? n : 0;
}

/* "for 4", "table for four", "party of 6", "group of 5", "we are 4",
 * "we'll be 3", "there will be 5 of us", "booking for 2", "reservation
 * for 2". The count must not be followed by a noun of another kind. */
static int read_led_count(const struct nlu_tokens *t, int i, int *first, int *last)
{
	int k = i;
	static const char *const leads[] = {
		"for", "party of", "group of", "we are", "we're", "we will be", "we'll be",
		"there will be", "there are", "there'll be", "table of", "a party of",
		"family of", "total of", "table to", "number of people is", "number of people:",
		"number of people will be", "number of guests is", "people is", NULL
	};

	for (int l = 0; leads[l]; l++) {
		if (nlu_phrase_at(t, i, leads[l], &k))
			break;
	}
	if (k == i)
		return 0;
	if (nlu_is(t, k, "a") && nlu_is(t, k + 1, "couple") && !nlu_is(t, k + 2, "of")) {
		*first = i;
		*last = k + 1;
		return 2;
	}
	if (nlu_is(t, k, "the") || nlu_is(t, k, "about") || nlu_is(t, k, "around") ||
	    nlu_is(t, k, "just") || nlu_is(t, k, "only"))
		k++;

	bool after_the = nlu_is(t, k - 1, "the");
	int next, n = read_count(t, k, &next);
	if (!valid_count(n) || nlu_is_any(t, next, other_nouns) || t->token[k].ordinal)
		return 0;
	if (nlu_is(t, i, "for") && nlu_is(t, k, "one") && nlu_is_any(t, i - 1, search_verbs) &&
	    !nlu_is_any(t, next, people_words))
		return 0;
	/* "for the one located in San Francisco", "for one nice place": the
	 * count must end the phrase or be followed by people or a time. */
	if (!nlu_is_any(t, next, people_words) &&
	    (after_the || (next < t->count && !t->token[next].used &&
			   t->token[next].kind == NLU_TOKEN_WORD && !nlu_is_any(t, next, followers))))
		return 0;
	if (next < t->count && t->token[next].used && t->token[next].kind == NLU_TOKEN_PUNCT)
		return 0;
	*first = i;
	*last = nlu_is_any(t, next, people_words) ? next : k;
	if (nlu_is(t, *last, "of"))
		*last = next + 1;
	return n;
}

/* "me and my wife", "my wife and I", "me and two friends", "I and my friend". */
static int read_companions(const struct nlu_tokens *t, int i, int *first, int *last)
{
	int k;

	if (nlu_phrase_at(t, i, "me and", &k) || nlu_phrase_at(t, i, "i and", &k) ||
	    nlu_phrase_at(t, i, "myself and", &k)) {
		int next, n = read_count(t, k, &next);
		if (valid_count(n) && (nlu_is_any(t, next, people_words) ||
				       nlu_is(t, next, "colleagues") || nlu_is(t, next, "kids") ||
				       nlu_is(t, next, "children") || nlu_is(t, next, "others"))) {
			*first = i;
			*last = next;
			return n + 1 <= NLU_PARTY_MAX ? n + 1 : 0;
		}
		if ((nlu_is(t, k, "my") || nlu_is(t, k, "a") || nlu_is(t, k, "the")) &&
		    nlu_is_any(t, k + 1, companions)) {
			*first = i;
			*last = k + 1;
			return 2;
		}
		return 0;
	}
	if ((nlu_is(t, i, "my") || nlu_is(t, i, "a")) && nlu_is_any(t, i + 1, companions) &&
	    (nlu_phrase_at(t, i + 2, "and i", &k) || nlu_phrase_at(t, i + 2, "and me", &k) ||
	     nlu_phrase_at(t, i + 2, "and myself", &k))) {
		*first = i;
		*last = k - 1;
		return 2;
	}
	if (nlu_phrase_at(t, i, "the two of us", &k) || nlu_phrase_at(t, i, "both of us", &k) ||
	    nlu_phrase_at(t, i, "a couple", &k)) {
		if (nlu_is(t, i, "a") && nlu_is(t, k, "of"))
			return 0;
		*first = i;
		*last = k - 1;
		return 2;
	}
	return 0;
}

static int read_solo(const struct nlu_tokens *t, int i, int *first, int *last)
{
	int k;

	for (int s = 0; solo_phrases[s]; s++) {
		if (nlu_phrase_at(t, i, solo_phrases[s], &k)) {
			*first = i;
			*last = k - 1;
			return 1;
		}
	}
	if (nlu_is(t, i, "alone") && !nlu_is(t, i - 1, "leave")) {
		*first = *last = i;
		return 1;
	}
	return 0;
}

/* "change to three", "make it four": a spelled count after a change is
 * a party size, because a time would carry am/pm or a part of the day. */
static int read_changed_count(const struct nlu_tokens *t, int i, int *first, int *last)
{
	static const char *const leads[] = {
		"change to", "change it to", "make it", "make that", "changed to", NULL
	};
	int k = i;

	for (int l = 0; leads[l] && k == i; l++)
		nlu_phrase_at(t, i, leads[l], &k);
	if (k == i || !nlu_is_number(t, k) || t->token[k].kind != NLU_TOKEN_WORD)
		return 0;
	if (k + 1 < t->count && !t->token[k + 1].used && t->token[k + 1].kind == NLU_TOKEN_WORD &&
	    !nlu_is(t, k + 1, "for") && !nlu_is(t, k + 1, "please") && !nlu_is(t, k + 1, "instead"))
		return 0;
	*first = i;
	*last = k;
	return valid_count(t->token[k].number) ? t->token[k].number : 0;
}

int nlu_take_party(struct nlu_tokens *t)
{
	int party = 0;

	for (int i = 0; i < t->count; i++) {
		int first = i, last = i, n;

		if (t->token[i].used)
			continue;
		n = read_counted_people(t, i, &first, &last);
		if (!n)
			n = read_solo(t, i, &first, &last);
		if (!n)
			n = read_companions(t, i, &first, &last);
		if (!n)
			n = read_led_count(t, i, &first, &last);
		if (!n)
			n = read_changed_count(t, i, &first, &last);
		if (!n)
			continue;

		bool negated = nlu_is_negated(t, first);
		nlu_use(t, first, last);
		if (!negated)
			party = n;
		i = last;
	}
	return party;
}
