#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "workers/tool_parse.h"

#define PHONE_MAX_INPUT 40

/* Reads exactly n digits at *p into *value and advances *p. */
static bool read_digits(const char **p, int n, int *value)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value = v;
	return true;
}

static bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static bool is_valid_date(int year, int month, int day)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int max;

	if (year < 2000 || year > 2999 || month < 1 || month > 12 || day < 1)
		return false;
	max = days[month - 1] + (month == 2 && is_leap_year(year));
	return day <= max;
}

/* Reads "YYYY-MM-DD" at *p and advances *p. */
static bool read_date(const char **p, int *year, int *month, int *day)
{
	if (!read_digits(p, 4, year) || **p != '-')
		return false;
	(*p)++;
	if (!read_digits(p, 2, month) || **p != '-')
		return false;
	(*p)++;
	return read_digits(p, 2, day) && is_valid_date(*year, *month, *day);
}

int tool_parse_date(const char *text)
{
	int year, month, day;

	return read_date(&text, &year, &month, &day) && *text == '\0' ? 0 : -1;
}

int tool_parse_time(const char *text, char *out, size_t len)
{
	const char *p = text;
	int hour, minute;
	int hour_digits = isdigit((unsigned char)text[0]) && text[1] == ':' ? 1 : 2;

	if (!read_digits(&p, hour_digits, &hour) || *p++ != ':')
		return -1;
	if (!read_digits(&p, 2, &minute) || *p != '\0')
		return -1;
	if (hour > 23 || minute > 59)
		return -1;
	snprintf(out, len, "%02d:%02d", hour, minute);
	return 0;
}

/* Reads an optional ":SS" and an optional all-zero fraction ".000". */
static bool read_seconds(const char **p, int *second)
{
	*second = 0;
	if (**p != ':')
		return true;
	(*p)++;
	if (!read_digits(p, 2, second) || *second > 59)
		return false;
	if (**p != '.')
		return true;
	(*p)++;
	if (!isdigit((unsigned char)**p))
		return false;
	while (**p == '0')
		(*p)++;
	return !isdigit((unsigned char)**p);
}

/* Reads "Z", "+HH:MM", "+HHMM" or "+HH" (or with "-") as seconds east of UTC. */
static bool read_offset(const char **p, int *offset)
{
	int sign, hours, minutes = 0;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*offset = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!read_digits(p, 2, &hours))
		return false;
	if (**p == ':')
		(*p)++;
	if (isdigit((unsigned char)**p) && !read_digits(p, 2, &minutes))
		return false;
	if (hours > 18 || minutes > 59)
		return false;
	*offset = sign * (hours * 3600 + minutes * 60);
	return true;
}

int tool_parse_instant(const char *text, long long *epoch)
{
	const char *p = text;
	struct tm tm = {0};
	int year, month, day, hour, minute, second, offset;

	if (!read_date(&p, &year, &month, &day))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute))
		return -1;
	if (hour > 23 || minute > 59 || !read_seconds(&p, &second))
		return -1;
	if (!read_offset(&p, &offset) || *p != '\0')
		return -1;

	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	*epoch = (long long)timegm(&tm) - offset;
	return 0;
}

/* Copies text without separators into buf, dropping a "(0)" trunk prefix
 * written after an international country code. */
static bool strip_phone(const char *text, char *buf, size_t len)
{
	bool international = false;
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (isspace((unsigned char)*p) || strchr(".-/()", *p)) {
			if (international && strncmp(p, "(0)", 3) == 0)
				p += 2;
			continue;
		}
		if (n + 1 >= len)
			return false;
		if (*p == '+')
			international = true;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return true;
}

static bool all_digits(const char *text)
{
	if (!*text)
		return false;
	for (; *text; text++)
		if (!isdigit((unsigned char)*text))
			return false;
	return true;
}

int tool_normalise_phone(const char *text, char *out, size_t len)
{
	char digits[PHONE_MAX_INPUT + 1];
	const char *subscriber;
	size_t n;

	if (strlen(text) > PHONE_MAX_INPUT || !strip_phone(text, digits, sizeof(digits)))
		return -1;

	if (digits[0] == '+' || (digits[0] == '0' && digits[1] == '0')) {
		subscriber = digits + (digits[0] == '+' ? 1 : 2);
		n = strlen(subscriber);
		if (!all_digits(subscriber) || n < 8 || n > 15 || subscriber[0] == '0')
			return -1;
		return snprintf(out, len, "+%s", subscriber) < (int)len ? 0 : -1;
	}

	/* A French national number: 0 then 9 digits, the first not 0. */
	if (digits[0] == '0' && all_digits(digits) && strlen(digits) == 10)
		return snprintf(out, len, "+33%s", digits + 1) < (int)len ? 0 : -1;
	return -1;
}

int tool_normalise_code(const char *text, char *out, size_t len)
{
	size_t n = 0;

	if (len < TOOL_CODE_LEN + 1)
		return -1;
	for (const char *p = text; *p; p++) {
		char c = (char)toupper((unsigned char)*p);

		if (*p == ' ' || *p == '-' || *p == '\t')
			continue;
		if (n == TOOL_CODE_LEN || !strchr(TOOL_CODE_ALPHABET, c))
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == TOOL_CODE_LEN ? 0 : -1;
}

int tool_generate_code(char *out, size_t len)
{
	const size_t symbols = sizeof(TOOL_CODE_ALPHABET) - 1;
	/* Bytes at or above the largest multiple of 31 are dropped, so every
	 * symbol is equally likely. */
	const unsigned limit = 256 - 256 % symbols;
	unsigned char bytes[32];
	size_t n = 0;

	if (len < TOOL_CODE_LEN + 1)
		return -1;
	while (n < TOOL_CODE_LEN) {
		ssize_t got = getrandom(bytes, sizeof(bytes), 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		for (ssize_t i = 0; i < got && n < TOOL_CODE_LEN; i++)
			if (bytes[i] < limit)
				out[n++] = TOOL_CODE_ALPHABET[bytes[i] % symbols];
	}
	out[n] = '\0';
	return 0;
}

/* Checks "digits[.digits]" with at most 9 digits before the point and 6
 * after it. */
static bool is_decimal_text(const char *text)
{
	const char *p = text;
	size_t whole = 0, fraction = 0;

	while (isdigit((unsigned char)*p)) {
		p++;
		whole++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			fraction++;
		}
		if (fraction == 0)
			return false;
	}
	return *p == '\0' && whole >= 1 && whole <= 9 && fraction <= 6;
}

int tool_parse_amount(const json_t *value, char *out, size_t len)
{
	if (json_is_string(value)) {
		const char *text = json_string_value(value);

		if (!is_decimal_text(text))
			return -1;
		return snprintf(out, len, "%s", text) < (int)len ? 0 : -1;
	}
	if (json_is_integer(value)) {
		json_int_t v = json_integer_value(value);

		if (v < 0 || v >= 1000000000)
			return -1;
		return snprintf(out, len, "%lld", (long long)v) < (int)len ? 0 : -1;
	}
	if (json_is_real(value)) {
		double v = json_real_value(value);

		if (!isfinite(v) || v < 0 || v >= 1e9)
			return -1;
		return snprintf(out, len, "%.6f", v) < (int)len ? 0 : -1;
	}
	return -1;
}

size_t tool_utf8_length(const char *text)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}

char *tool_trim(const char *text)
{
	const char *end = text + strlen(text);

	while (*text && isspace((unsigned char)*text))
		text++;
	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	return strndup(text, (size_t)(end - text));
}

int tool_has_control(const char *text, int allow_newlines)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (allow_newlines && (*p == '\n' || *p == '\r' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7F)
			return 1;
	}
	return 0;
}
