#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "workers/nlu.h"
#include "workers/nlu_readers.h"

/* Phrases that mark an intent; a phrase matches whole words. */
struct intent_phrases {
	enum nlu_intent intent;
	const char *const *phrases;
};

static const char *const book_phrases[] = {
	"book", "booking", "reserve", "reservation", "reservations", "table", "tables", "a spot",
	"availability", "free table", "party of", "make it for", "seats", "reserving",
	"booked", "bookings", NULL
};
static const char *const find_phrases[] = {
	"my booking", "my reservation", "our booking", "our reservation", "booking code",
	"reservation code", "check my", "look up my", "find my", "confirm my", "my code",
	"still booked", "did i book", "have i booked", "my table", "the code", "lost my code",
	"forgot my code", "forgot the code", NULL
};
/* "Cancel" alone is often conditional ("in case I have to cancel"), so it
 * needs an object. */
static const char *const cancel_phrases[] = {
	"cancel my", "cancel our", "cancel the", "cancel it", "cancel that", "cancel this",
	"cancel a", "cancel booking", "cancel reservation", "cancellation of", "call off",
	"delete my", "remove my", "annul", "want to cancel", "like to cancel", "need to cancel",
	"please cancel", "cancel please", NULL
};
static const char *const menu_phrases[] = {
	"menu", "dish", "dishes", "food", "vegan", "vegetarian", "veggie", "gluten", "dairy",
	"lactose", "nut", "nuts", "peanut", "peanuts", "spicy", "starter", "starters",
	"appetizer", "appetizers", "appetiser", "appetisers", "main", "mains", "dessert",
	"desserts", "drink", "drinks", "wine", "wines", "beer", "price", "prices", "cost",
	"costs", "cheap", "cheapest", "expensive", "allergen", "allergens", "allergy",
	"allergies", "allergic", "contain", "contains", "ingredient", "ingredients", "serve",
	"serves", "recommend", "speciality", "specialty", "specials", "cuisine",
	"halal", "kosher", "shellfish", "fish", "meat", "coeliac", "celiac", "side", "sides",
	"course", "courses", "kids menu", "children's menu", "alcohol", "alcoholic", "how much", "euros", "order", "pescatarian",
	/* French, Spanish and Italian diet and menu words */
	"végétarien", "végétariens", "végétarienne", "végétariennes", "végétalien", "végan",
	"végane", "vegetariano", "vegetarianos", "vegetariana", "vegetarianas", "vegano",
	"veganos", "vegana", "veganas", "sans gluten", "sin gluten", "senza glutine", "plats",
	"platos", "piatti", "carte", "carta", NULL
};
static const char *const hours_phrases[] = {
	"open", "opening", "opens", "you close", "closing", "closes", "closed",
	"opening hours", "your hours", "the hours", "business hours", "what time do you",
	"when are you", "when do you", NULL
};
static const char *const greeting_phrases[] = {
	"hi", "hello", "hey", "good morning", "good evening", "good afternoon", "bonjour",
	"greetings", "hiya", "howdy", NULL
};
static const char *const thanks_phrases[] = {
	"thanks", "thank", "cheers", "appreciate", "appreciated", "thx", "ty", "merci", NULL
};
static const char *const goodbye_phrases[] = {
	"bye", "goodbye", "that's all", "that is all", "that will be all", "that'll be all",
	"nothing else", "see you", "have a good", "have a nice", "that's it", "that is it",
	"that's everything", "that is everything", "all i need", "all i needed",
	"that will be it", "that'll be it", "that would be all", NULL
};
static const char *const help_phrases[] = {
	"help", "what can you do", "who are you", "are you a bot", "are you human",
	"how does this work", "what do you do", NULL
};
static const char *const change_phrases[] = {
	"actually", "change", "instead", "make it", "make that", "rather", "switch", "move",
	"try", "how about", "what about", "update", "wait", "modify", "changed", "can we do",
	"correction", NULL
};

/* Other services people ask a chat assistant for. A clause about one of
 * them is not about a table here, unless it also says so. */
static const char *const elsewhere_words[] = {
	"movie", "movies", "film", "films", "cinema", "theater", "theatre", "showtime",
	"showtimes", "ticket", "tickets", "event", "events", "concert", "concerts", "game",
	"games", "festival", "match", "cab", "taxi", "uber", "lyft", "ride", "rides", "bus",
	"train", "flight", "flights", "airport", "hotel", "weather", "forecast", "rain",
	"temperature", "song", "songs", "album", "playlist", "calendar", "alarm", "doctor",
	"dentist", "salon", "haircut", "apartment", "rental", "watch", "stylist",
	"exhibition", "museum", NULL
};
/* Services whose clause is never about a table here, even when it names
 * the restaurant ("add the restaurant reservation for 5 to my calendar"). */
static const char *const always_elsewhere_words[] = { "calendar", "alarm", NULL };
static const char *const restaurant_words[] = {
	"table", "restaurant", "eat", "eating", "eatery", "dinner", "lunch", "brunch",
	"breakfast", "meal", "dine", "dining", "food", "menu", NULL
};
static const char *const other_place_phrases[] = {
	"another restaurant", "other restaurant", "other restaurants", "restaurants",
	"somewhere else", "other places", "another place", "different restaurant",
	"a restaurant in", "restaurant near", "restaurants near", "place to eat",
	"restaurant in", "restaurants in", "good restaurant", "recommend a restaurant", NULL
};

static const struct intent_phrases intents[] = {
	{ NLU_INTENT_BOOK, book_phrases },
	{ NLU_INTENT_FIND, find_phrases },
	{ NLU_INTENT_CANCEL, cancel_phrases },
	{ NLU_INTENT_MENU, menu_phrases },
	{ NLU_INTENT_HOURS, hours_phrases },
	{ NLU_INTENT_GREETING, greeting_phrases },
	{ NLU_INTENT_THANKS, thanks_phrases },
	{ NLU_INTENT_GOODBYE, goodbye_phrases },
	{ NLU_INTENT_HELP, help_phrases },
	{ NLU_INTENT_CHANGE, change_phrases },
	{ NLU_INTENT_ELSEWHERE, elsewhere_words },
	{ NLU_INTENT_ELSEWHERE, other_place_phrases },
};

static const char *const yes_phrases[] = {
	"yes", "yeah", "yea", "yep", "yup", "yeps", "yess", "sure", "ok", "okay", "alright",
	"all right", "perfect", "great", "correct", "right", "fine", "absolutely",
	"definitely", "of course", "sounds good", "sounds great", "sounds perfect",
	"sounds fine", "that works", "that's right", "that is right", "that's correct",
	"that is correct", "go ahead", "please do", "do it", "book it", "confirm", "agreed",
	"exactly", "cool", "good", "excellent", "lovely", "awesome", "works for me",
	"that's fine", "that is fine", "that's good", "that is good", "that's perfect",
	"that is perfect", "that's great", "that is great", "that suits me", "si", "oui",
	"certainly", "indeed", "that'd be great", "that would be great", NULL
};
static const char *const no_phrases[] = {
	"no", "nope", "nah", "not really", "not at all", "negative", "don't", "do not",
	"i don't think so", "not now", "not right now", "never mind", "nevermind", "non",
	"not yet", "not quite", "wrong", "that's wrong", "that is wrong", "incorrect", NULL
};
static const char *const filler_words[] = {
	"oh", "um", "umm", "uh", "hmm", "well", "so", "ah", "and", ",", "!", NULL
};

static bool phrase_in_list_at(const struct nlu_tokens *t, int i, const char *const *list)
{
	for (int k = 0; list[k]; k++) {
		if (nlu_phrase_at(t, i, list[k], NULL))
			return true;
	}
	return false;
}

static bool has_any(const struct nlu_tokens *t, int clause, const char *const *list)
{
	for (int i = 0; i < t->count; i++) {
		if ((clause < 0 || t->token[i].clause == clause) && phrase_in_list_at(t, i, list))
			return true;
	}
	return false;
}

static unsigned read_intents(const struct nlu_tokens *t)
{
	unsigned found = 0;

	for (size_t k = 0; k < sizeof(intents) / sizeof(intents[0]); k++) {
		if (has_any(t, -1, intents[k].phrases))
			found |= intents[k].intent;
	}

	/* "my booking" asks about an existing one; "book" alone asks for a new one. */
	if ((found & NLU_INTENT_FIND) && !nlu_has_phrase(t, "make") && !nlu_has_phrase(t, "new") &&
	    !nlu_has_phrase(t, "another"))
		found &= ~(unsigned)NLU_INTENT_BOOK;
	return found;
}

static enum nlu_answer read_answer(const struct nlu_tokens *t)
{
	int i = 0;

	while (i < t->count && nlu_is_any(t, i, filler_words))
		i++;
	if (phrase_in_list_at(t, i, no_phrases))
		return NLU_ANSWER_NO;
	if (phrase_in_list_at(t, i, yes_phrases) && !nlu_is(t, i + 1, "?"))
		return NLU_ANSWER_YES;

	/* "That suits me well", "it sounds good to me". */
	static const char *const agreeing[] = {
		"sounds good", "sounds great", "that works", "works for me", "that's right",
		"that is right", "that is correct", "that's correct", "suits me", "is fine",
		"is perfect", "is great", "looks good", NULL
	};
	return has_any(t, t->count ? t->token[0].clause : 0, agreeing) ? NLU_ANSWER_YES
								       : NLU_ANSWER_NONE;
}

/* Clauses whose dates and times are not booking details: goodbyes ("that's
 * all for today") and questions back ("where did you get March 1st?"). */
static const char *const not_detail_phrases[] = {
	"did you", "where did", "why", "that's all", "that is all", "that will be all",
	"that'll be all", "that will be it", "that'll be it", "that would be all", NULL
};

/* Marks every token of a clause about another service as used, so its
 * dates and counts ("3 tickets on the 5th") stay out of the booking. Does
 * the same for goodbyes, questions back and calendar or alarm clauses. */
static void skip_elsewhere_clauses(struct nlu_tokens *t)
{
	/* One pass over the tokens sets each clause's flags: a clause has at
	 * most as many tokens, so NLU_TOKEN_MAX + 1 clauses always suffice. */
	static const unsigned elsewhere = 1, restaurant = 2, not_detail = 4;
	unsigned char flags[NLU_TOKEN_MAX + 1] = { 0 };

	for (int i = 0; i < t->count; i++) {
		int clause = t->token[i].clause;
		if (phrase_in_list_at(t, i, elsewhere_words))
			flags[clause] |= elsewhere;
		if (phrase_in_list_at(t, i, restaurant_words))
			flags[clause] |= restaurant;
		if (phrase_in_list_at(t, i, not_detail_phrases) ||
		    phrase_in_list_at(t, i, always_elsewhere_words))
			flags[clause] |= not_detail;
	}
	for (int i = 0; i < t->count; i++) {
		unsigned clause_flags = flags[t->token[i].clause];
		if ((clause_flags & not_detail) ||
		    ((clause_flags & elsewhere) && !(clause_flags & restaurant)))
			t->token[i].used = true;
	}
}

/* Returns the count a message consists of ("4", "four please", "2 of
 * us"), or -1. */
static int read_bare_number(const struct nlu_tokens *t)
{
	static const char *const allowed[] = {
		"please", "just", "only", "us", "of", "for", "thanks", "ok", "okay", "i", "think",
		"say", "make", "it", "let's", "we", "are", "will", "be", "we're", ".", ",", "!",
		"yes", "no", "um", "about", "maybe", "so", "actually", "instead", "change", "to",
		"wait", "sorry", "then", "that", "oh", "rather", "how", "what", "can", "do", NULL
	};
	int number = -1;

	for (int i = 0; i < t->count; i++) {
		const struct nlu_token *tok = &t->token[i];

		if (tok->used)
			return -1;
		if (tok->number >= 0 && !tok->ordinal && number < 0) {
			number = tok->number;
			continue;
		}
		if (!nlu_is_any(t, i, allowed))
			return -1;
	}
	return number <= NLU_PARTY_MAX ? number : -1;
}

void nlu_read(const char *message, time_t now, struct nlu_result *out)
{
	struct nlu_tokens tokens;
	struct nlu_tokens *t = &tokens;
	struct tm today;

	memset(out, 0, sizeof(*out));
	out->number = -1;
	if (!message)
		return;
	localtime_r(&now, &today);
	nlu_tokenize(message, t);

	out->intents = read_intents(t);
	out->answer = read_answer(t);
	skip_elsewhere_clauses(t);

	nlu_take_phone(message, t, out->phone, sizeof(out->phone));
	nlu_take_code(message, t, out->code);
	/* A code asks about an existing booking ("find booking PGPT9S35B",
	 * "what's the booking for code 8P84XUVM4?") unless the guest asks for
	 * a new or another one. */
	if (out->code[0]) {
		out->intents |= NLU_INTENT_FIND;
		if (!nlu_has_phrase(t, "new") && !nlu_has_phrase(t, "another"))
			out->intents &= ~(unsigned)NLU_INTENT_BOOK;
	}
	if (out->code[0] && (nlu_has_phrase(t, "cancel") || nlu_has_phrase(t, "cancelled")))
		out->intents |= NLU_INTENT_CANCEL;
	out->time_invalid = nlu_take_invalid_clock(t);
	if (nlu_take_time(t, out->time))
		out->time_invalid = false;
	nlu_take_date(t, &today, out);
	out->party_size = nlu_take_party(t);

	/* "my reservation for the 12th at 7:30" asks for a booking, not about
	 * an existing one. */
	if ((out->intents & NLU_INTENT_FIND) && !out->code[0] &&
	    (out->party_size || out->date[0] || out->time[0]))
		out->intents = (out->intents & ~(unsigned)NLU_INTENT_FIND) | NLU_INTENT_BOOK;
	nlu_take_name(message, t, out->name, sizeof(out->name));
	out->number = read_bare_number(t);
}

bool nlu_read_bare_name(const char *message, char *name, size_t size)
{
	struct nlu_tokens tokens;
	static const char *const leads[] = {
		"it's", "it is", "my name is", "name is", "the name is", "under", "under the name",
		"i'm", "i am", "this is", "name's", "call me", "sure", "ok", "okay", "yes", "its",
		"put it under", "for", NULL
	};
	struct nlu_tokens *t = &tokens;
	int first = 0;

	if (!message)
		return false;
	nlu_tokenize(message, t);
	for (int l = 0; leads[l]; l++) {
		int next;
		if (nlu_phrase_at(t, first, leads[l], &next)) {
			first = next;
			if (nlu_is(t, first, ","))
				first++;
			l = -1;
		}
	}

	int last = first - 1;
	for (int i = first; i < t->count; i++) {
		const struct nlu_token *tok = &t->token[i];
		if (tok->kind == NLU_TOKEN_PUNCT && strchr(".!,", tok->text[0]) && i == t->count - 1)
			break;
		if (tok->kind != NLU_TOKEN_WORD || i - first >= 4 || tok->number >= 0)
			return false;
		if (nlu_is(t, i, "please") || nlu_is(t, i, "it") || nlu_is(t, i, "the") ||
		    phrase_in_list_at(t, i, yes_phrases) || phrase_in_list_at(t, i, no_phrases) ||
		    phrase_in_list_at(t, i, book_phrases) || phrase_in_list_at(t, i, menu_phrases) ||
		    phrase_in_list_at(t, i, thanks_phrases) || phrase_in_list_at(t, i, greeting_phrases))
			return false;
		last = i;
	}
	if (last < first)
		return false;

	size_t n = 0;
	for (int i = first; i <= last && n + 1 < size; i++) {
		const struct nlu_token *tok = &t->token[i];
		if (i > first)
			name[n++] = ' ';
		for (size_t k = tok->start; k < tok->end && n + 1 < size; k++)
			name[n++] = k == tok->start ? (char)toupper((unsigned char)message[k]) : message[k];
	}
	name[n] = '\0';
	return true;
}

bool nlu_date_valid(const char *date)
{
	int y, m, d, n = 0;
	struct tm tm = { 0 };

	if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = 12;
	tm.tm_isdst = -1;
	if (mktime(&tm) == (time_t)-1)
		return false;
	return tm.tm_year == y - 1900 && tm.tm_mon == m - 1 && tm.tm_mday == d;
}

void nlu_format_date(const char *date, time_t now, char *buf, size_t size)
{
	static const char *const weekdays[] = {
		"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
	};
	static const char *const months[] = {
		"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"
	};
	struct tm day = { 0 }, today;
	int y, m, d;

	if (!nlu_date_valid(date)) {
		snprintf(buf, size, "%s", date ? date : "");
		return;
	}
	sscanf(date, "%4d-%2d-%2d", &y, &m, &d);
	day.tm_year = y - 1900;
	day.tm_mon = m - 1;
	day.tm_mday = d;
	day.tm_hour = 12;
	day.tm_isdst = -1;
	mktime(&day);
	localtime_r(&now, &today);
	if (today.tm_year == day.tm_year)
		snprintf(buf, size, "%s %d %s", weekdays[day.tm_wday], d, months[m - 1]);
	else
		snprintf(buf, size, "%s %d %s %d", weekdays[day.tm_wday], d, months[m - 1], y);
}

void nlu_format_time(const char *time, char *buf, size_t size)
{
	int h, m, n = 0;

	if (!time || sscanf(time, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h > 23 || m > 59) {
		snprintf(buf, size, "%s", time ? time : "");
		return;
	}
	if (h == 12 && m == 0) {
		snprintf(buf, size, "noon");
		return;
	}
	if (h == 0 && m == 0) {
		snprintf(buf, size, "midnight");
		return;
	}
	int h12 = h % 12 == 0 ? 12 : h % 12;
	const char *suffix = h < 12 ? "am" : "pm";
	if (m == 0)
		snprintf(buf, size, "%d %s", h12, suffix);
	else
		snprintf(buf, size, "%d:%02d %s", h12, m, suffix);
}

bool nlu_time_from_hour(int hour, char out[NLU_TIME_SIZE])
{
	if (hour < 0 || hour > 23)
		return false;
	if (hour >= 1 && hour <= 9)
		hour += 12;
	snprintf(out, NLU_TIME_SIZE, "%02u:00", (unsigned)hour % 24u);
	return true;
}
