#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workers/prompts.h"

#define PROMPT_MAX 16384

static const char builtin_food[] =
	"You are the Food Agent of {restaurant}, answering guests on the restaurant's web chat. "
	"Answer questions about dishes, ingredients, prices, dietary tags, allergens and opening hours. "
	"Use the tools for every fact: never name a dish, a price, a tag or an allergen that a tool did not return. "
	"When allergens_verified is false, or the data cannot settle an allergy question, say so plainly and suggest "
	"asking the staff. Prices are in the menu's currency. Keep answers short and friendly, in the guest's language. "
	"The restaurant's time zone is {timezone}; it is now {now} there ({today}).";

static const char builtin_booking[] =
	"You are the Booking Agent of {restaurant}, answering guests on the restaurant's web chat. "
	"You check availability, make, find and cancel table reservations with the tools. "
	"To book you need party size, date, time, the guest's name and phone number: ask for what is missing, one "
	"thing at a time. Dates and times are local to the restaurant's time zone {timezone}; it is now {now} there "
	"({today}). Resolve words like tomorrow or next Friday against that date and pass date as YYYY-MM-DD and time "
	"as HH:MM. After booking, give the reservation code. Find or cancel a reservation only with a code and phone "
	"number the guest gave in this conversation; never list other guests' bookings. Keep answers short and friendly.";

struct agent_prompt {
	char text[PROMPT_MAX];
	double temperature;
	int max_tokens;
};

static struct agent_prompt prompts[2] = {
	{ "", 0.3, 600 },
	{ "", 0.2, 600 },
};
#define ROUTE_WORDS_MAX 128

struct route_word {
	char word[48];
	enum agent_kind agent;
};

static struct route_word route_words[ROUTE_WORDS_MAX];
static int route_word_count;
static pthread_rwlock_t prompts_lock = PTHREAD_RWLOCK_INITIALIZER;
static int prompts_ready;

/* Reads an optional "temperature=X max_tokens=N" first line. */
static int parse_settings(const char *line, struct agent_prompt *p, char *err, size_t errlen)
{
	const char *t = strstr(line, "temperature=");
	const char *m = strstr(line, "max_tokens=");
	if (t) {
		char *end;
		double value = strtod(t + 12, &end);
		if (end == t + 12 || value < 0 || value > 2) {
			snprintf(err, errlen, "temperature must be from 0 to 2");
			return -1;
		}
		p->temperature = value;
	}
	if (m) {
		char *end;
		long value = strtol(m + 11, &end, 10);
		if (end == m + 11 || value < 1 || value > 16384) {
			snprintf(err, errlen, "max_tokens must be from 1 to 16384");
			return -1;
		}
		p->max_tokens = (int)value;
	}
	return 0;
}

static int load_file(const char *dir, const char *name, struct agent_prompt *p, char *err, size_t errlen)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(p->text, 1, sizeof(p->text) - 1, f);
	int too_long = !feof(f);
	fclose(f);
	p->text[n] = '\0';
	if (too_long || n == 0) {
		snprintf(err, errlen, "%s must hold 1 to %d bytes", path, PROMPT_MAX - 1);
		return -1;
	}
	if (strncmp(p->text, "temperature=", 12) == 0 || strncmp(p->text, "max_tokens=", 11) == 0) {
		char *nl = strchr(p->text, '\n');
		if (!nl) {
			snprintf(err, errlen, "%s has settings but no prompt after the first line", path);
			return -1;
		}
		*nl = '\0';
		if (parse_settings(p->text, p, err, errlen) < 0)
			return -1;
		memmove(p->text, nl + 1, strlen(nl + 1) + 1);
	}
	return 0;
}

/* Parses one "agent: word, word" line of router.txt into words. */
static int parse_route_line(char *line, const char *path, int lineno, struct route_word *words, int *count,
			    char *err, size_t errlen)
{
	char *colon = strchr(line, ':');
	enum agent_kind agent;
	if (colon && strncmp(line, "booking", (size_t)(colon - line)) == 0 && colon - line == 7)
		agent = AGENT_BOOKING;
	else if (colon && strncmp(line, "food", (size_t)(colon - line)) == 0 && colon - line == 4)
		agent = AGENT_FOOD;
	else {
		snprintf(err, errlen, "%s line %d: expected \"booking: words\" or \"food: words\"", path, lineno);
		return -1;
	}
	for (char *save = NULL, *w = strtok_r(colon + 1, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		while (*w == ' ' || *w == '\t')
			w++;
		size_t len = strlen(w);
		while (len && (w[len - 1] == ' ' || w[len - 1] == '\t' || w[len - 1] == '\r'))
			w[--len] = '\0';
		if (!len)
			continue;
		if (*count == ROUTE_WORDS_MAX || len >= sizeof(words[0].word)) {
			snprintf(err, errlen, "%s line %d: at most %d words of under %zu bytes", path, lineno,
				 ROUTE_WORDS_MAX, sizeof(words[0].word));
			return -1;
		}
		snprintf(words[*count].word, sizeof(words[0].word), "%s", w);
		words[*count].agent = agent;
		(*count)++;
	}
	return 0;
}

static int load_routes(const char *dir, struct route_word *words, int *count, char *err, size_t errlen)
{
	char path[1024], line[1024];
	snprintf(path, sizeof(path), "%s/router.txt", dir);
	*count = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1);
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
			continue;
		rc = parse_route_line(line, path, lineno, words, count, err, errlen);
	}
	fclose(f);
	return rc;
}

int prompts_load(const char *dir, char *err, size_t errlen)
{
	struct agent_prompt fresh[2] = { { "", 0.3, 600 }, { "", 0.2, 600 } };
	static struct route_word words[ROUTE_WORDS_MAX];
	int word_count = 0;

	if (dir && *dir) {
		if (load_file(dir, "food.txt", &fresh[AGENT_FOOD], err, errlen) < 0 ||
		    load_file(dir, "booking.txt", &fresh[AGENT_BOOKING], err, errlen) < 0 ||
		    load_routes(dir, words, &word_count, err, errlen) < 0)
			return -1;
	} else {
		snprintf(fresh[AGENT_FOOD].text, PROMPT_MAX, "%s", builtin_food);
		snprintf(fresh[AGENT_BOOKING].text, PROMPT_MAX, "%s", builtin_booking);
	}
	pthread_rwlock_wrlock(&prompts_lock);
	memcpy(prompts, fresh, sizeof(prompts));
	memcpy(route_words, words, sizeof(route_words));
	route_word_count = word_count;
	prompts_ready = 1;
	pthread_rwlock_unlock(&prompts_lock);
	return 0;
}

/* Appends text to a growing buffer; returns the new length. */
static size_t append(char *out, size_t len, size_t cap, const char *text, size_t n)
{
	if (len + n >= cap)
		n = cap - len - 1;
	memcpy(out + len, text, n);
	return len + n;
}

char *prompts_system(enum agent_kind agent, const char *restaurant, const char *timezone)
{
	if (!prompts_ready) {
		char err[64];
		prompts_load(NULL, err, sizeof(err));
	}
	time_t now = time(NULL);
	struct tm local;
	localtime_r(&now, &local);
	char today[64], clock_text[32];
	strftime(today, sizeof(today), "%A %Y-%m-%d", &local);
	strftime(clock_text, sizeof(clock_text), "%H:%M", &local);

	size_t cap = PROMPT_MAX * 2, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	pthread_rwlock_rdlock(&prompts_lock);
	for (const char *p = prompts[agent].text; *p;) {
		const char *value = NULL;
		size_t skip = 0;
		if (strncmp(p, "{restaurant}", 12) == 0)
			value = restaurant, skip = 12;
		else if (strncmp(p, "{timezone}", 10) == 0)
			value = timezone, skip = 10;
		else if (strncmp(p, "{today}", 7) == 0)
			value = today, skip = 7;
		else if (strncmp(p, "{now}", 5) == 0)
			value = clock_text, skip = 5;
		if (value) {
			len = append(out, len, cap, value, strlen(value));
			p += skip;
		} else {
			len = append(out, len, cap, p, 1);
			p++;
		}
	}
	pthread_rwlock_unlock(&prompts_lock);
	out[len] = '\0';
	return out;
}

double prompts_temperature(enum agent_kind agent)
{
	return prompts[agent].temperature;
}

int prompts_max_tokens(enum agent_kind agent)
{
	return prompts[agent].max_tokens;
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c & 0x80);
}

int prompts_route(const char *message, enum agent_kind *agent)
{
	int found = 0;
	pthread_rwlock_rdlock(&prompts_lock);
	for (int i = 0; i < route_word_count && !found; i++) {
		size_t len = strlen(route_words[i].word);
		for (const char *p = strcasestr(message, route_words[i].word); p; p = strcasestr(p + 1, route_words[i].word)) {
			bool start = p == message || !is_word_char(p[-1]);
			if (start && !is_word_char(p[len])) {
				*agent = route_words[i].agent;
				found = 1;
				break;
			}
		}
	}
	pthread_rwlock_unlock(&prompts_lock);
	return found;
}
