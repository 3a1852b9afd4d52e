#ifndef MAITRED_TOOL_PARSE_H
#define MAITRED_TOOL_PARSE_H

/*
 * Parsing and normalising the values guests give the tools: dates, times,
 * instants, phone numbers, reservation codes and prices. These functions
 * use no database and no time zone, because the tools do time zone
 * arithmetic in PostgreSQL.
 */
#include <stddef.h>

#include <jansson.h>

/* Length of a reservation code, without the terminating NUL. */
#define TOOL_CODE_LEN 9

/* The code alphabet: digits and capitals without 0, O, 1, I and L, which
 * guests confuse. 31 symbols, so 9 of them carry about 44.6 bits. */
#define TOOL_CODE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

/* The phone number rule, for error messages. */
#define TOOL_PHONE_RULE \
	"phone must be in international form, + and 8 to 15 digits " \
	"(e.g. +33 6 12 34 56 78), or a French number of 10 digits starting " \
	"with 0 (e.g. 06 12 34 56 78)"

/* Checks a calendar date "YYYY-MM-DD" (years 2000 to 2999). Returns 0, or
 * -1 when text is not one. */
int tool_parse_date(const char *text);

/* Parses a 24-hour time "HH:MM" or "H:MM" into canonical "HH:MM" in out
 * (at least 6 bytes). Returns 0, or -1 when text is not one. */
int tool_parse_time(const char *text, char *out, size_t len);

/* Parses an ISO 8601 date and time with a UTC offset, such as
 * "2026-12-24T19:00:00+01:00", "2026-12-24T18:00Z" or
 * "2026-12-24 19:00+0100", into seconds since the epoch. Seconds are
 * optional and a fraction must be zero. Returns 0, or -1 when text is not
 * one (an offset is required, because a local time alone is ambiguous). */
int tool_parse_instant(const char *text, long long *epoch);

/* Normalises a phone number to E.164 ("+33123456789") in out. Spaces, dots,
 * dashes, slashes and parentheses are dropped, and so is a "(0)" after the
 * country code. Accepted: "+" or "00" then 8 to 15 digits not starting with
 * 0, or a French national number of 10 digits starting with a single 0,
 * which becomes +33 and the last 9 digits. Returns 0, or -1 for anything
 * else. */
int tool_normalise_phone(const char *text, char *out, size_t len);

/* Normalises a reservation code as a guest may type it (lower case, with
 * spaces or dashes) into out (at least TOOL_CODE_LEN + 1 bytes). Returns 0,
 * or -1 when it cannot be a code. */
int tool_normalise_code(const char *text, char *out, size_t len);

/* Writes a new random code of TOOL_CODE_LEN characters from getrandom(2)
 * into out (at least TOOL_CODE_LEN + 1 bytes). Returns 0, or -1 with errno
 * set when the kernel gives no random bytes. */
int tool_generate_code(char *out, size_t len);

/* Reads a non-negative decimal amount, a JSON number or a string such as
 * "12.50", into out as text that PostgreSQL's numeric accepts. Returns 0,
 * or -1 when value is not one (negative, not finite, over 1e9, or more than
 * 6 decimals). */
int tool_parse_amount(const json_t *value, char *out, size_t len);

/* Returns the number of characters (code points) in the UTF-8 text. */
size_t tool_utf8_length(const char *text);

/* Copies text without leading and trailing white space into a new string
 * that the caller frees, or returns NULL when out of memory. */
char *tool_trim(const char *text);

/* Returns 1 when text contains a control character other than tab and
 * line breaks (or any at all when allow_newlines is 0), else 0. */
int tool_has_control(const char *text, int allow_newlines);

#endif
