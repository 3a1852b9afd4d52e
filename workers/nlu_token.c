#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/nlu_token.h"

static bool is_letter(unsigned char c)
{
	return isalpha(c) || c >= 0x80;
}

/* Returns the length of a right single quotation mark (U+2019) at s, or 0. */
static size_t curly_apostrophe(const char *s)
{
	return (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
	       (unsigned char)s[2] == 0x99 ? 3 : 0;
}

static struct nlu_token *push_token(struct nlu_tokens *out, enum nlu_token_kind kind,
				    size_t start, bool space_before)
{
	if (out->count == NLU_TOKEN_MAX)
		return NULL;

	struct nlu_token *tok = &out->token[out->count++];
	memset(tok, 0, sizeof(*tok));
	tok->kind = kind;
	tok->number = -1;
	tok->start = start;
	tok->space_before = space_before;
	tok->clause = out->clauses;
	return tok;
}

static void append_char(struct nlu_token *tok, char c)
{
	size_t len = strlen(tok->text);

	if (len + 1 < sizeof(tok->text)) {
		tok->text[len] = (char)tolower((unsigned char)c);
		tok->text[len + 1] = '\0';
	}
}

/* Reads a word starting at s[i]; returns the index after it. An apostrophe
 * (straight, curly, or the '"' some people type in o"clock) stays inside the
 * word when letters follow it. */
static size_t read_word(const char *s, size_t i, struct nlu_token *tok)
{
	tok->capitalized = isupper((unsigned char)s[i]) != 0;
	for (;;) {
		if (is_letter((unsigned char)s[i]) && !curly_apostrophe(s + i)) {
			append_char(tok, s[i]);
			i++;
			continue;
		}

		size_t quote = curly_apostrophe(s + i);
		if (!quote && (s[i] == '\'' || s[i] == '"'))
			quote = 1;
		if (quote && isalpha((unsigned char)s[i + quote])) {
			append_char(tok, '\'');
			i += quote;
			continue;
		}
		return i;
	}
}

/* Reads a digit run and an ordinal suffix glued to it ("11th"). */
static size_t read_number(const char *s, size_t i, struct nlu_token *tok)
{
	long value = 0;

	while (isdigit((unsigned char)s[i])) {
		append_char(tok, s[i]);
		if (value < 100000000)
			value = value * 10 + (s[i] - '0');
		i++;
	}
	tok->number = (int)value;

	static const char *const suffixes[] = { "st", "nd", "rd", "th", NULL };
	for (int k = 0; suffixes[k]; k++) {
		if (strncasecmp(s + i, suffixes[k], 2) == 0 && !is_letter((unsigned char)s[i + 2])) {
			tok->ordinal = true;
			return i + 2;
		}
	}
	return i;
}

/* Matches "a.m." or "p.m." at s[i] and returns its length, or 0. */
static size_t dotted_meridiem(const char *s, size_t i)
{
	char c = (char)tolower((unsigned char)s[i]);

	if ((c == 'a' || c == 'p') && s[i + 1] == '.' && tolower((unsigned char)s[i + 2]) == 'm') {
		if (s[i + 3] == '.')
			return 4;
		if (!is_letter((unsigned char)s[i + 3]))
			return 3;
	}
	return 0;
}

static void finish_word(struct nlu_token *tok)
{
	bool ordinal = false;
	int value = nlu_number_word(tok->text, &ordinal);

	tok->number = value;
	tok->ordinal = ordinal;
}

void nlu_tokenize(const char *text, struct nlu_tokens *out)
{
	size_t i = 0;
	bool space = true;

	out->count = 0;
	out->clauses = 0;
	while (text[i]) {
		unsigned char c = (unsigned char)text[i];
		struct nlu_token *tok;

		if (isspace(c)) {
			space = true;
			i++;
			continue;
		}

		if (c == '-' && i > 0 && is_letter((unsigned char)text[i - 1]) &&
		    is_letter((unsigned char)text[i + 1])) {
			space = true;
			i++;
			continue;
		}

		tok = push_token(out, is_letter(c) ? NLU_TOKEN_WORD :
				 isdigit(c) ? NLU_TOKEN_NUMBER : NLU_TOKEN_PUNCT, i, space);
		if (!tok)
			return;
		space = false;

		size_t dotted = dotted_meridiem(text, i);
		if (dotted) {
			tok->kind = NLU_TOKEN_WORD;
			snprintf(tok->text, sizeof(tok->text), "%cm", tolower(c));
			i += dotted;
		} else if (tok->kind == NLU_TOKEN_WORD) {
			i = read_word(text, i, tok);
			finish_word(tok);
		} else if (tok->kind == NLU_TOKEN_NUMBER) {
			i = read_number(text, i, tok);
		} else {
			append_char(tok, (char)c);
			i++;
			if (strchr(".!?;", (int)c) && (isspace((unsigned char)text[i]) || !text[i]))
				out->clauses++;
		}
		tok->end = i;
	}
}

bool nlu_is(const struct nlu_tokens *t, int i, const char *word)
{
	return i >= 0 && i < t->count && !t->token[i].used && strcmp(t->token[i].text, word) == 0;
}

bool nlu_is_any(const struct nlu_tokens *t, int i, const char *const *words)
{
	for (int k = 0; words[k]; k++) {
		if (nlu_is(t, i, words[k]))
			return true;
	}
	return false;
}

bool nlu_is_number(const struct nlu_tokens *t, int i)
{
	return i >= 0 && i < t->count && !t->token[i].used && t->token[i].number >= 0 &&
	       !t->token[i].ordinal;
}

bool nlu_phrase_at(const struct nlu_tokens *t, int i, const char *phrase, int *next)
{
	char word[NLU_WORD_MAX];
	const char *p = phrase;

	while (*p) {
		size_t len = strcspn(p, " ");

		if (len >= sizeof(word))
			return false;
		memcpy(word, p, len);
		word[len] = '\0';
		if (!nlu_is(t, i, word))
			return false;
		i++;
		p += len;
		while (*p == ' ')
			p++;
	}
	if (next)
		*next = i;
	return true;
}

bool nlu_has_phrase(const struct nlu_tokens *t, const char *phrase)
{
	for (int i = 0; i < t->count; i++) {
		if (nlu_phrase_at(t, i, phrase, NULL))
			return true;
	}
	return false;
}

void nlu_use(struct nlu_tokens *t, int first, int last)
{
	for (int i = first; i <= last && i < t->count; i++) {
		if (i >= 0)
			t->token[i].used = true;
	}
}

struct word_value {
	const char *word;
	int value;
};

static const struct word_value cardinals[] = {
	{ "zero", 0 }, { "one", 1 }, { "two", 2 }, { "three", 3 }, { "four", 4 },
	{ "five", 5 }, { "six", 6 }, { "seven", 7 }, { "eight", 8 }, { "nine", 9 },
	{ "ten", 10 }, { "eleven", 11 }, { "twelve", 12 }, { "thirteen", 13 },
	{ "fourteen", 14 }, { "fifteen", 15 }, { "sixteen", 16 }, { "seventeen", 17 },
	{ "eighteen", 18 }, { "nineteen", 19 }, { "twenty", 20 }, { "thirty", 30 },
	{ "forty", 40 }, { "fifty", 50 }, { NULL, 0 }
};

static const struct word_value ordinals[] = {
	{ "first", 1 }, { "second", 2 }, { "third", 3 }, { "fourth", 4 }, { "fifth", 5 },
	{ "sixth", 6 }, { "seventh", 7 }, { "eighth", 8 }, { "ninth", 9 }, { "tenth", 10 },
	{ "eleventh", 11 }, { "twelfth", 12 }, { "thirteenth", 13 }, { "fourteenth", 14 },
	{ "fifteenth", 15 }, { "sixteenth", 16 }, { "seventeenth", 17 },
	{ "eighteenth", 18 }, { "nineteenth", 19 }, { "twentieth", 20 },
	{ "thirtieth", 30 }, { NULL, 0 }
};

static int lookup(const struct word_value *table, const char *word)
{
	for (int k = 0; table[k].word; k++) {
		if (strcmp(table[k].word, word) == 0)
			return table[k].value;
	}
	return -1;
}

int nlu_number_word(const char *word, bool *ordinal)
{
	int value = lookup(cardinals, word);

	*ordinal = false;
	if (value >= 0)
		return value;
	value = lookup(ordinals, word);
	if (value >= 0)
		*ordinal = true;
	return value;
}

static const struct word_value months[] = {
	{ "january", 1 }, { "jan", 1 }, { "february", 2 }, { "feb", 2 }, { "march", 3 },
	{ "mar", 3 }, { "april", 4 }, { "apr", 4 }, { "may", 5 }, { "june", 6 },
	{ "jun", 6 }, { "july", 7 }, { "jul", 7 }, { "august", 8 }, { "aug", 8 },
	{ "september", 9 }, { "sept", 9 }, { "sep", 9 }, { "october", 10 }, { "oct", 10 },
	{ "november", 11 }, { "nov", 11 }, { "december", 12 }, { "dec", 12 }, { NULL, 0 }
};

int nlu_month_word(const char *word)
{
	int value = lookup(months, word);

	return value < 0 ? 0 : value;
}

static const struct word_value weekdays[] = {
	{ "sunday", 0 }, { "sun", 0 }, { "monday", 1 }, { "mon", 1 }, { "tuesday", 2 },
	{ "tue", 2 }, { "tues", 2 }, { "wednesday", 3 }, { "wed", 3 }, { "weds", 3 },
	{ "thursday", 4 }, { "thu", 4 }, { "thur", 4 }, { "thurs", 4 }, { "friday", 5 },
	{ "fri", 5 }, { "saturday", 6 }, { "sat", 6 }, { NULL, 0 }
};

int nlu_weekday_word(const char *word)
{
	size_t len = strlen(word);
	char singular[NLU_WORD_MAX];

	/* "fridays" and "friday's" name the same day. */
	snprintf(singular, sizeof(singular), "%s", word);
	if (len > 4 && singular[len - 1] == 's') {
		singular[len - 1] = '\0';
		if (singular[len - 2] == '\'')
			singular[len - 2] = '\0';
	}
	return lookup(weekdays, singular);
}

bool nlu_is_negated(const struct nlu_tokens *t, int i)
{
	static const char *const fillers[] = { "at", "on", "for", "the", "a", NULL };
	int k = i - 1;

	while (k >= 0 && k > i - 3 && nlu_is_any(t, k, fillers))
		k--;
	if (k < 0)
		return false;
	if (strcmp(t->token[k].text, "not") == 0)
		return true;
	if (k >= 1 && strcmp(t->token[k].text, "of") == 0 &&
	    strcmp(t->token[k - 1].text, "instead") == 0)
		return true;
	return k >= 1 && strcmp(t->token[k].text, "than") == 0 &&
	       strcmp(t->token[k - 1].text, "rather") == 0;
}
