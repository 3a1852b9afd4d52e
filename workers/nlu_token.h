#ifndef MAITRED_NLU_TOKEN_H
#define MAITRED_NLU_TOKEN_H

/*
 * The tokens the language-understanding readers (workers/nlu*.c) work on.
 * Internal to the NLU: other modules use workers/nlu.h.
 *
 * A message is split into words (lower-cased, apostrophes kept: "i'm",
 * "o'clock"), numbers (a digit run, with "11th" read as the ordinal 11) and
 * single punctuation characters. A hyphen between letters splits the word
 * ("gluten-free" gives "gluten" "free"), "a.m."/"p.m." become "am"/"pm",
 * and digits glued to letters are split ("7pm" gives "7" "pm").
 */
#include <stdbool.h>
#include <stddef.h>

/* NOTE: words past this many tokens are ignored; a 2000-character chat
 * message rarely has more than 500. */
#define NLU_TOKEN_MAX 600
#define NLU_WORD_MAX 32

enum nlu_token_kind { NLU_TOKEN_WORD, NLU_TOKEN_NUMBER, NLU_TOKEN_PUNCT };

struct nlu_token {
	enum nlu_token_kind kind;
	char text[NLU_WORD_MAX];  /* lower-case word, digits, or one punctuation character */
	int number;               /* value of digits, a number word or an ordinal; -1 for none */
	bool ordinal;             /* "11th", "third" */
	bool capitalized;         /* first letter upper-case in the message */
	bool space_before;        /* whitespace separates it from the previous token */
	int clause;               /* index of its clause: '.', '!', '?', ';' start a new one */
	size_t start, end;        /* byte span in the message */
	bool used;                /* consumed by an earlier reader */
};

struct nlu_tokens {
	struct nlu_token token[NLU_TOKEN_MAX];
	int count;
	int clauses;
};

/* Splits text into tokens. Never fails: past NLU_TOKEN_MAX tokens the rest
 * is ignored. */
void nlu_tokenize(const char *text, struct nlu_tokens *out);

/* Returns true when token i exists, is unused and is the word (or
 * punctuation) given. */
bool nlu_is(const struct nlu_tokens *t, int i, const char *word);

/* Returns true when token i exists, is unused and is one of the words in
 * the NULL-terminated list. */
bool nlu_is_any(const struct nlu_tokens *t, int i, const char *const *words);

/* Returns true when token i exists, is unused and carries a cardinal number
 * (digits or a number word, not an ordinal). */
bool nlu_is_number(const struct nlu_tokens *t, int i);

/* Returns true when the words in phrase (space-separated) start at token i.
 * Sets *next to the token after the phrase when next is not NULL. */
bool nlu_phrase_at(const struct nlu_tokens *t, int i, const char *phrase, int *next);

/* Returns true when the phrase occurs anywhere in the unused tokens. */
bool nlu_has_phrase(const struct nlu_tokens *t, const char *phrase);

/* Marks tokens first..last (inclusive) as used. */
void nlu_use(struct nlu_tokens *t, int first, int last);

/* Returns the value of a number word ("seven" 7, "twenty" 20) or of an
 * ordinal word ("third" 3, setting *ordinal), or -1. */
int nlu_number_word(const char *word, bool *ordinal);

/* Returns 1..12 for a month name or abbreviation ("march", "mar", "sept"),
 * or 0. "may" and "march" as verbs are the caller's concern. */
int nlu_month_word(const char *word);

/* Returns 0 (Sunday) .. 6 (Saturday) for a weekday name or abbreviation,
 * or -1. */
int nlu_weekday_word(const char *word);

/* Returns true when token i is preceded by a negation that applies to it:
 * "not 6", "not at 6", "instead of 6", "rather than 6". */
bool nlu_is_negated(const struct nlu_tokens *t, int i);

#endif
