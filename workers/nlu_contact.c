#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "workers/nlu_readers.h"

#define PHONE_DIGITS_MIN 8
#define PHONE_DIGITS_MAX 15   /* E.164 */
#define NAME_WORDS_MAX 4

/* Marks every token inside the byte span [start, end) as used. */
static void use_span(struct nlu_tokens *t, size_t start, size_t end)
{
	for (int i = 0; i < t->count; i++) {
		if (t->token[i].start >= start && t->token[i].end <= end)
			t->token[i].used = true;
	}
}

/* Returns true for "2027-03-11" and "24.12.2027", which have enough digits
 * to pass for a phone number. */
static bool looks_like_date(const char *s, size_t len)
{
	int a, b, c, n = 0;

	if (len == 10 && sscanf(s, "%4d-%2d-%2d%n", &a, &b, &c, &n) == 3 && n == 10)
		return true;
	return len <= 10 && (sscanf(s, "%2d.%2d.%4d%n", &a, &b, &c, &n) == 3 ||
			     sscanf(s, "%2d/%2d/%4d%n", &a, &b, &c, &n) == 3) && (size_t)n == len;
}

/* Scans a phone candidate at s: '+' or a digit, then digits, spaces, dots,
 * dashes and brackets. Returns its length without trailing separators. */
static size_t scan_phone(const char *s, int *digits)
{
	size_t i = 0, end = 0;

	*digits = 0;
	if (s[0] == '+' || s[0] == '(')
		i = 1;
	for (; s[i]; i++) {
		if (isdigit((unsigned char)s[i])) {
			(*digits)++;
			end = i + 1;
		} else if (!strchr(" .-()", s[i]) || (s[i] == ' ' && s[i + 1] == ' ')) {
			break;
		}
	}
	return end;
}

bool nlu_take_phone(const char *message, struct nlu_tokens *t, char *phone, size_t size)
{
	for (size_t i = 0; message[i]; i++) {
		char c = message[i];
		int digits;

		if (!(isdigit((unsigned char)c) || ((c == '+' || c == '(') &&
						    isdigit((unsigned char)message[i + 1]))))
			continue;
		if (i > 0 && isalnum((unsigned char)message[i - 1]))
			continue;

		size_t len = scan_phone(message + i, &digits);
		if (digits < PHONE_DIGITS_MIN || digits > PHONE_DIGITS_MAX ||
		    isalpha((unsigned char)message[i + len]) || looks_like_date(message + i, len)) {
			i += len ? len - 1 : 0;
			continue;
		}

		size_t n = 0;
		for (size_t k = 0; k < len && n + 1 < size; k++) {
			if (isdigit((unsigned char)message[i + k]) || (k == 0 && c == '+'))
				phone[n++] = message[i + k];
		}
		phone[n] = '\0';
		use_span(t, i, i + len);
		return true;
	}
	return false;
}

static bool in_code_alphabet(char c)
{
	return c && strchr(NLU_CODE_ALPHABET, toupper((unsigned char)c)) != NULL;
}

/* Scans a code at s: groups of code characters joined by '-' or by single
 * spaces (then each group has at least 3 characters). Fills code and
 * returns the span's length, or 0. */
static size_t scan_code(const char *s, char code[NLU_CODE_SIZE], bool *upper, bool *digit)
{
	size_t i = 0, group = 0;
	bool spaced = false;
	int n = 0;

	*upper = true;
	*digit = false;
	while (n < NLU_CODE_LENGTH) {
		if (isalnum((unsigned char)s[i])) {
			if (!in_code_alphabet(s[i]))
				return 0;
			*digit = *digit || isdigit((unsigned char)s[i]);
			*upper = *upper && !islower((unsigned char)s[i]);
			code[n++] = (char)toupper((unsigned char)s[i]);
			group++;
			i++;
		} else if ((s[i] == '-' || s[i] == ' ') && n > 0 && isalnum((unsigned char)s[i + 1])) {
			/* Space-separated groups must be long enough not to join
			 * ordinary short words ("4 at 7 pm sat"). */
			if (s[i] == ' ' && group < 3)
				return 0;
			spaced = spaced || s[i] == ' ';
			group = 0;
			i++;
		} else {
			return 0;
		}
	}
	code[n] = '\0';
	if (isalnum((unsigned char)s[i]) || (s[i] == '-' && isalnum((unsigned char)s[i + 1])))
		return 0;
	if (spaced && group < 3)
		return 0;
	return i;
}

/* Returns true when a code keyword ("code", "reference", "ref", "number")
 * ends right before offset, so a lower-case code without digits counts. */
static bool after_code_keyword(const char *message, size_t offset)
{
	static const char *const keywords[] = { "code", "reference", "ref", "number", NULL };
	size_t end = offset;

	/* Skip what may stand between: spaces, ':', '#', "is". */
	while (end > 0 && offset - end < 5 && strchr(" :#is", message[end - 1]))
		end--;
	for (int k = 0; keywords[k]; k++) {
		size_t len = strlen(keywords[k]);
		if (end >= len && strncasecmp(message + end - len, keywords[k], len) == 0)
			return true;
	}
	return false;
}

bool nlu_take_code(const char *message, struct nlu_tokens *t, char code[NLU_CODE_SIZE])
{
	for (size_t i = 0; message[i]; i++) {
		bool upper, digit, letter = false;

		if (!isalnum((unsigned char)message[i]) ||
		    (i > 0 && (isalnum((unsigned char)message[i - 1]) || message[i - 1] == '-')))
			continue;

		size_t len = scan_code(message + i, code, &upper, &digit);
		if (!len)
			continue;
		for (int k = 0; code[k]; k++)
			letter = letter || isalpha((unsigned char)code[k]);
		if (letter && (digit || upper || after_code_keyword(message, i))) {
			use_span(t, i, i + len);
			return true;
		}
	}
	code[0] = '\0';
	return false;
}

/* Words that end a name or show that "I'm X" is not a name. */
static const char *const not_name_words[] = {
	"and", "my", "phone", "number", "is", "at", "for", "on", "please", "thanks", "thank",
	"with", "from", "looking", "hungry", "vegan", "vegetarian", "sorry", "not", "fine",
	"good", "great", "interested", "wondering", "here", "just", "trying", "planning",
	"going", "a", "an", "the", "so", "very", "really", "also", "allergic", "celiac",
	"coeliac", "ok", "okay", "sure", "yes", "no", "booking", "calling", "hoping", "in",
	"afraid", "happy", "glad", "coming", "available", "free", "still", "late", "running",
	"new", "visiting", "starving", "thinking", "curious", "travelling", "traveling",
	"reserving", "asking", "done", "all", "ready", "back", "it", "you", "we", "i", "me",
	"to", "of", "or", "but", "that", "this", "your", "our", "their", "can", "could",
	"would", "will", "want", "need", "like", "book", "table", "reservation", "today",
	"tomorrow", "tonight", "person", "people", "name", "called", "there", "again",
	"bringing", "gluten", "lactose", "pregnant", "diabetic", "cancelling", "canceling",
	"unable", "able", "sure", "certain", "confused", "lost", "told", "told", "mr", NULL
};

static bool is_name_word(const struct nlu_token *tok, bool need_capital)
{
	if (tok->used || tok->kind != NLU_TOKEN_WORD)
		return false;
	if (need_capital && !tok->capitalized)
		return false;
	for (int k = 0; not_name_words[k]; k++) {
		if (strcmp(tok->text, not_name_words[k]) == 0)
			return false;
	}
	return nlu_month_word(tok->text) == 0 || tok->capitalized;
}

/* Copies the words first..last from the message, each with a capital. */
static void copy_name(const char *message, const struct nlu_tokens *t, int first, int last,
		      char *name, size_t size)
{
	size_t n = 0;

	for (int i = first; i <= last && n + 1 < size; i++) {
		const struct nlu_token *tok = &t->token[i];
		if (i > first && n + 1 < size)
			name[n++] = ' ';
		for (size_t k = tok->start; k < tok->end && n + 1 < size; k++) {
			char c = message[k];
			name[n++] = k == tok->start ? (char)toupper((unsigned char)c) : c;
		}
	}
	name[n] = '\0';
}

/* Takes up to NAME_WORDS_MAX name words from i on. Returns the last token
 * of the name, or -1. */
static int name_words_from(const struct nlu_tokens *t, int i, bool need_capital)
{
	int last = -1;

	for (int k = i; k < t->count && k < i + NAME_WORDS_MAX; k++) {
		if (!is_name_word(&t->token[k], need_capital && k == i))
			break;
		if (k > i && !t->token[k].space_before)
			break;
		last = k;
	}
	return last;
}

/* Reads the name words that end right before the phone number, as in
 * "Ann Smith, +33 6 12 34 56 78". */
static int name_before_phone(const struct nlu_tokens *t, int *first)
{
	int phone = -1;

	for (int i = 0; i < t->count; i++) {
		if (t->token[i].used && t->token[i].kind == NLU_TOKEN_NUMBER) {
			phone = i;
			break;
		}
	}
	if (phone < 0)
		return -1;

	int end = phone - 1;
	if (end >= 0 && t->token[end].used && t->token[end].kind == NLU_TOKEN_PUNCT)
		end--;
	if (nlu_is(t, end, ",") || nlu_is(t, end, "-") || nlu_is(t, end, ":"))
		end--;
	int start = end;
	while (start >= 0 && end - start < NAME_WORDS_MAX && is_name_word(&t->token[start], true))
		start--;
	if (start == end)
		return -1;
	*first = start + 1;
	return end;
}

/* Capitalized words that follow "for" in booking requests without being a
 * name: "for New Year's Eve", "for Christmas Day". */
static bool is_calendar_word(const struct nlu_token *tok)
{
	static const char *const words[] = {
		"christmas", "easter", "new", "valentine's", "valentines", "eve", "day",
		"mother's", "father's", "dinner", "lunch", "brunch", "breakfast", NULL
	};

	if (nlu_weekday_word(tok->text) >= 0 || nlu_month_word(tok->text) > 0)
		return true;
	for (int k = 0; words[k]; k++) {
		if (strcmp(tok->text, words[k]) == 0)
			return true;
	}
	return false;
}

/* Reads "a table for Jean Dupont": after "for", only two or more
 * capitalized words that are not days or holidays count as a name, because
 * "for" usually leads a count or a day. Returns the last token of the name
 * and sets *first, or returns -1. */
static int name_after_for(const struct nlu_tokens *t, int *first)
{
	for (int i = 0; i + 2 < t->count; i++) {
		if (!nlu_is(t, i, "for"))
			continue;
		int last = name_words_from(t, i + 1, true);
		if (last < i + 2)
			continue;
		bool all_capitalized = true;
		for (int k = i + 1; k <= last; k++)
			all_capitalized = all_capitalized && t->token[k].capitalized &&
					  !is_calendar_word(&t->token[k]);
		if (all_capitalized) {
			*first = i + 1;
			return last;
		}
	}
	return -1;
}

bool nlu_take_name(const char *message, struct nlu_tokens *t, char *name, size_t size)
{
	static const char *const plain_leads[] = {
		"my name is", "name is", "name's", "names", "name:", "the name is", "under the name",
		"under the name of", "in the name of", "call me", "my name", NULL
	};
	static const char *const capital_leads[] = {
		"i'm", "i am", "this is", "it's", "under", "it is", "im", "name", NULL
	};

	for (int i = 0; i < t->count; i++) {
		int next, last = -1;

		for (int l = 0; plain_leads[l] && last < 0; l++) {
			if (nlu_phrase_at(t, i, plain_leads[l], &next)) {
				if (nlu_is(t, next, ":"))
					next++;
				last = name_words_from(t, next, false);
			}
		}
		for (int l = 0; capital_leads[l] && last < 0; l++) {
			if (nlu_phrase_at(t, i, capital_leads[l], &next)) {
				if (nlu_is(t, next, ":"))
					next++;
				last = name_words_from(t, next, true);
			}
		}
		if (last >= 0) {
			copy_name(message, t, next, last, name, size);
			nlu_use(t, i, last);
			return true;
		}
	}

	int first, last = name_after_for(t, &first);
	if (last < 0)
		last = name_before_phone(t, &first);
	if (last >= 0) {
		copy_name(message, t, first, last, name, size);
		nlu_use(t, first, last);
		return true;
	}
	return false;
}
