#include <errno.h>
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

int prompts_load(const char *dir, char *err, size_t errlen)
{
	struct agent_prompt fresh[2] = { { "", 0.3, 600 }, { "", 0.2, 600 } };

	if (dir && *dir) {
		if (load_file(dir, "food.txt", &fresh[AGENT_FOOD], err, errlen) < 0 ||
		    load_file(dir, "booking.txt", &fresh[AGENT_BOOKING], err, errlen) < 0)
			return -1;
	} else {
		snprintf(fresh[AGENT_FOOD].text, PROMPT_MAX, "%s", builtin_food);
		snprintf(fresh[AGENT_BOOKING].text, PROMPT_MAX, "%s", builtin_booking);
	}
	pthread_rwlock_wrlock(&prompts_lock);
	memcpy(prompts, fresh, sizeof(prompts));
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
