#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/offline_menu.h"

#define SAFE_DISHES_LISTED 8
#define WORDS_MAX 120
#define WORD_SIZE 32

struct words {
	char word[WORDS_MAX][WORD_SIZE];
	int count;
};

/* Splits text into lower-case words of letters (a hyphen splits too). */
static void split_words(const char *text, struct words *out)
{
	size_t n = 0;

	out->count = 0;
	for (const char *p = text;; p++) {
		bool letter = *p && (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80);
		if (letter && n + 1 < WORD_SIZE) {
			out->word[out->count][n++] = (char)tolower((unsigned char)*p);
		} else if (!letter && n > 0) {
			out->word[out->count][n] = '\0';
			n = 0;
			if (++out->count == WORDS_MAX)
				return;
		}
		if (!*p)
			return;
	}
}

/* Returns true when a and b are the same word, ignoring a plural "s"/"es". */
static bool same_word(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return same_word(b, a);
	if (strncmp(a, b, la) != 0)
		return false;
	return lb == la || (lb == la + 1 && b[la] == 's') ||
	       (lb == la + 2 && b[la] == 'e' && b[la + 1] == 's');
}

static int find_word(const struct words *w, const char *word)
{
	for (int i = 0; i < w->count; i++) {
		if (same_word(w->word[i], word))
			return i;
	}
	return -1;
}

/* Returns true when the words contain the phrase (space-separated words). */
static bool has_phrase(const struct words *w, const char *phrase)
{
	struct words p;

	split_words(phrase, &p);
	for (int i = 0; i + p.count <= w->count; i++) {
		int k = 0;
		while (k < p.count && same_word(w->word[i + k], p.word[k]))
			k++;
		if (k == p.count && p.count > 0)
			return true;
	}
	return false;
}

struct tag_words {
	const char *tag;
	const char *words;    /* guest-facing */
	const char *const phrases[8];
};

static const struct tag_words tag_table[] = {
	{ "vegan", "vegan", { "vegan", "plant based", NULL } },
	{ "vegetarian", "vegetarian", { "vegetarian", "veggie", "meat free", "no meat",
					"without meat", NULL } },
	{ "gluten_free", "gluten-free", { "gluten free", "without gluten", "no gluten",
					  "coeliac", "celiac", "gluten intolerant", NULL } },
	{ "dairy_free", "dairy-free", { "dairy free", "lactose free", "without dairy", "no dairy",
					"lactose intolerant", "without lactose", NULL } },
	{ "nut_free", "nut-free", { "nut free", "without nuts", "no nuts", "nuts free", NULL } },
	{ "spicy", "spicy", { "spicy", "hot and spicy", NULL } },
};

const char *menu_tag_words(const char *tag)
{
	for (size_t k = 0; k < sizeof(tag_table) / sizeof(tag_table[0]); k++) {
		if (strcmp(tag_table[k].tag, tag) == 0)
			return tag_table[k].words;
	}
	return tag;
}

static void read_tags(const struct words *w, struct menu_query *q)
{
	for (size_t k = 0; k < sizeof(tag_table) / sizeof(tag_table[0]); k++) {
		for (int p = 0; tag_table[k].phrases[p]; p++) {
			if (has_phrase(w, tag_table[k].phrases[p]) && q->tag_count < MENU_TAGS_MAX) {
				q->tags[q->tag_count++] = tag_table[k].tag;
				break;
			}
		}
	}
}

struct category_words {
	const char *stem;     /* what the menu's category name starts with */
	const char *const phrases[8];
};

static const struct category_words category_table[] = {
	{ "start", { "starter", "appetizer", "appetiser", "entree to share", "first course",
		     NULL } },
	{ "main", { "main", "main course", "entree", "mains", NULL } },
	{ "dessert", { "dessert", "sweet", "pudding", "something sweet", NULL } },
	{ "side", { "side", "side dish", NULL } },
	{ "drink", { "drink", "beverage", "wine", "beer", "cocktail", NULL } },
};

/* Sets q->category to the menu's own name for the category the message
 * asks about: its exact name, or a synonym whose stem it starts with. */
static void read_category(const struct words *w, const json_t *menu, struct menu_query *q)
{
	size_t index;
	json_t *dish;

	json_array_foreach(menu, index, dish) {
		const char *category = json_string_value(json_object_get(dish, "category"));
		if (!category || strlen(category) >= sizeof(q->category))
			continue;
		if (find_word(w, category) >= 0) {
			snprintf(q->category, sizeof(q->category), "%s", category);
			return;
		}
		for (size_t k = 0; k < sizeof(category_table) / sizeof(category_table[0]); k++) {
			if (strncasecmp(category, category_table[k].stem,
					strlen(category_table[k].stem)) != 0)
				continue;
			for (int p = 0; category_table[k].phrases[p]; p++) {
				if (has_phrase(w, category_table[k].phrases[p])) {
					snprintf(q->category, sizeof(q->category), "%s", category);
					return;
				}
			}
		}
	}
}

/* Reads "under 15 euros", "less than 12.50", "below €20", "cheapest". */
static void read_price(const char *message, const struct words *w, struct menu_query *q)
{
	static const char *const leads[] = {
		"under", "below", "less than", "cheaper than", "up to", "max", "maximum",
		"no more than", "at most", "within", NULL
	};
	char lower[512];
	size_t n = 0;

	for (; message[n] && n + 1 < sizeof(lower); n++)
		lower[n] = (char)tolower((unsigned char)message[n]);
	lower[n] = '\0';

	for (int l = 0; leads[l]; l++) {
		const char *p = strstr(lower, leads[l]);
		if (!p)
			continue;
		p += strlen(leads[l]);
		while (*p == ' ' || *p == '$' || (unsigned char)*p >= 0x80)
			p++;
		if (!isdigit((unsigned char)*p))
			continue;
		double value = strtod(p, NULL);
		if (value > 0 && value < 10000) {
			snprintf(q->max_price, sizeof(q->max_price), "%.2f", value);
			break;
		}
	}
	if (find_word(w, "cheapest") >= 0 || has_phrase(w, "least expensive") ||
	    find_word(w, "cheap") >= 0 || has_phrase(w, "lowest price"))
		q->order = -1;
	else if (has_phrase(w, "most expensive") || find_word(w, "priciest") >= 0)
		q->order = 1;
}

struct allergen_group {
	const char *group;
	const char *const words[10];
};

/* The allergen groups that dishes' allergen lists cover (the EU's 14). */
static const struct allergen_group allergen_table[] = {
	{ "peanut", { "peanut", NULL } },
	{ "nut", { "nut", "almond", "hazelnut", "walnut", "cashew", "pistachio", "pecan",
		   "tree nut", NULL } },
	{ "gluten", { "gluten", "wheat", "barley", "rye", NULL } },
	{ "milk", { "milk", "dairy", "lactose", NULL } },
	{ "egg", { "egg", NULL } },
	{ "fish", { "fish", NULL } },
	{ "crustacean", { "crustacean", "shellfish", "shrimp", "prawn", "crab", "lobster", NULL } },
	{ "mollusc", { "mollusc", "mollusk", "mussel", "oyster", "clam", "squid", NULL } },
	{ "soy", { "soy", "soya", "soybean", NULL } },
	{ "sesame", { "sesame", NULL } },
	{ "celery", { "celery", NULL } },
	{ "mustard", { "mustard", NULL } },
	{ "sulphite", { "sulphite", "sulfite", NULL } },
	{ "lupin", { "lupin", NULL } },
};

static const char *allergen_group_of(const char *word)
{
	for (size_t k = 0; k < sizeof(allergen_table) / sizeof(allergen_table[0]); k++) {
		for (int i = 0; allergen_table[k].words[i]; i++) {
			if (same_word(word, allergen_table[k].words[i]))
				return allergen_table[k].group;
		}
	}
	return NULL;
}

/* Reads the allergen a question asks about: a known allergen word, or the
 * word after "contain", "allergic to" or "any". Tags such as "nut-free"
 * were read before and are skipped. */
static void read_allergen(const struct words *w, struct menu_query *q)
{
	static const char *const leads[] = { "contain", "contains", "allergic", "allergy", "any",
					     "with", NULL };
	bool asks = false;

	for (int i = 0; i < w->count; i++) {
		const char *group = allergen_group_of(w->word[i]);
		if (group && !(i + 1 < w->count && strcmp(w->word[i + 1], "free") == 0)) {
			snprintf(q->allergen, sizeof(q->allergen), "%s", group);
			snprintf(q->allergen_words, sizeof(q->allergen_words), "%s", w->word[i]);
			q->allergen_known = true;
			return;
		}
		for (int l = 0; leads[l]; l++)
			asks = asks || (strcmp(w->word[i], leads[l]) == 0 && strcmp(leads[l], "any") &&
					strcmp(leads[l], "with"));
	}
	if (!asks)
		return;
	for (int i = 0; i + 1 < w->count; i++) {
		if (strcmp(w->word[i], "contain") && strcmp(w->word[i], "contains") &&
		    strcmp(w->word[i], "to"))
			continue;
		int k = i + 1;
		while (k < w->count && (strcmp(w->word[k], "any") == 0 || strcmp(w->word[k], "a") == 0 ||
					strcmp(w->word[k], "some") == 0))
			k++;
		if (k < w->count) {
			snprintf(q->allergen, sizeof(q->allergen), "%s", w->word[k]);
			snprintf(q->allergen_words, sizeof(q->allergen_words), "%s", w->word[k]);
			q->allergen_known = false;
			return;
		}
	}
}

static const char *const stop_words[] = {
	"with", "and", "the", "of", "our", "house", "your", "have", "does", "what", "which",
	"there", "this", "that", "from", "some", "dish", "dishes", "menu", "food", "please",
	"could", "would", "like", "want", "tell", "about", "they", "them", "contain",
	"contains", "allergic", "allergy", "vegan", "vegetarian", "gluten", "free", "dairy",
	"spicy", "starter", "starters", "main", "mains", "dessert", "desserts", "price",
	"cost", "much", "cheap", "cheapest", "expensive", "under", "euros", "anything",
	"something", "options", "option", "serve", "do", "you", "any", "is", "in", "it",
	"are", "for", "can", "get", "eat", "order", "today", "tonight", "good", "recommend",
	"sauce", NULL
};

static bool is_stop_word(const char *word)
{
	if (strlen(word) < 4)
		return true;
	for (int k = 0; stop_words[k]; k++) {
		if (strcmp(stop_words[k], word) == 0)
			return true;
	}
	return false;
}

/* Counts the significant words of the dish's name that the message has. */
static int name_score(const struct words *w, const json_t *dish)
{
	const char *name = json_string_value(json_object_get(dish, "name"));
	struct words nw;
	int score = 0;

	if (!name)
		return 0;
	split_words(name, &nw);
	for (int i = 0; i < nw.count; i++) {
		if (!is_stop_word(nw.word[i]) && find_word(w, nw.word[i]) >= 0)
			score++;
	}
	return score;
}

/* Sets q->dish when one dish matches the message's words better than all
 * others; when several tie, the shared word becomes a search (q->text). */
static void read_dish(const struct words *w, const json_t *menu, struct menu_query *q)
{
	size_t index;
	json_t *dish;
	int best = 0, ties = 0;

	json_array_foreach(menu, index, dish) {
		int score = name_score(w, dish);
		if (score > best) {
			best = score;
			ties = 1;
			q->dish = dish;
		} else if (score == best && score > 0) {
			ties++;
		}
	}
	if (ties > 1)
		q->dish = NULL;
}

/* Returns true when a dish's name or description contains the word. */
static bool menu_mentions(const json_t *menu, const char *word)
{
	size_t index;
	json_t *dish;

	json_array_foreach(menu, index, dish) {
		const char *fields[] = { json_string_value(json_object_get(dish, "name")),
					 json_string_value(json_object_get(dish, "description")) };
		for (int f = 0; f < 2; f++) {
			struct words dw;
			if (!fields[f])
				continue;
			split_words(fields[f], &dw);
			if (find_word(&dw, word) >= 0)
				return true;
		}
	}
	return false;
}

void menu_read_query(const char *message, const json_t *menu, struct menu_query *q)
{
	struct words w;

	memset(q, 0, sizeof(*q));
	split_words(message, &w);
	read_tags(&w, q);
	read_category(&w, menu, q);
	read_price(message, &w, q);
	read_allergen(&w, q);
	read_dish(&w, menu, q);

	if (q->dish || q->tag_count || q->category[0] || q->allergen[0])
		return;
	for (int i = 0; i < w.count; i++) {
		if (!is_stop_word(w.word[i]) && menu_mentions(menu, w.word[i])) {
			snprintf(q->text, sizeof(q->text), "%s", w.word[i]);
			return;
		}
	}
}

int menu_dish_has_allergen(const json_t *dish, const char *group)
{
	size_t index;
	json_t *value;

	json_array_foreach(json_object_get(dish, "allergens"), index, value) {
		const char *allergen = json_string_value(value);
		struct words aw;
		if (!allergen)
			continue;
		split_words(allergen, &aw);
		for (int i = 0; i < aw.count; i++) {
			const char *listed = allergen_group_of(aw.word[i]);
			if ((listed && strcmp(listed, group) == 0) || same_word(aw.word[i], group))
				return 1;
		}
	}
	return 0;
}

static double price_of(const json_t *dish)
{
	const char *price = json_string_value(json_object_get(dish, "price"));

	return price ? strtod(price, NULL) : 0;
}

void menu_sort_by_price(json_t *dishes, int order)
{
	size_t count = json_array_size(dishes);

	if (!order)
		return;
	for (size_t i = 1; i < count; i++) {
		for (size_t j = i; j > 0; j--) {
			double a = price_of(json_array_get(dishes, j - 1));
			double b = price_of(json_array_get(dishes, j));
			if (order < 0 ? a <= b : a >= b)
				break;
			json_t *moved = json_incref(json_array_get(dishes, j));
			json_array_remove(dishes, j);
			json_array_insert_new(dishes, j - 1, moved);
		}
	}
}

void menu_keep_first(json_t *array, size_t count)
{
	while (json_array_size(array) > count)
		json_array_remove(array, json_array_size(array) - 1);
}

void menu_say_without_allergen(struct offline_turn *turn, const json_t *menu,
			       const struct menu_query *q)
{
	size_t index;
	json_t *dish;
	int listed = 0, unverified = 0;

	if (!q->allergen_known) {
		offline_say(turn, "Our allergen lists do not cover %s, so I can't say which dishes "
			    "are free of it. Please ask our staff, who can check with the kitchen.",
			    q->allergen_words);
		return;
	}
	json_array_foreach(menu, index, dish) {
		if (json_is_false(json_object_get(dish, "allergens_verified"))) {
			unverified++;
			continue;
		}
		if (menu_dish_has_allergen(dish, q->allergen))
			continue;
		const char *name = json_string_value(json_object_get(dish, "name"));
		if (listed < SAFE_DISHES_LISTED) {
			if (listed == 0)
				offline_say(turn, "Dishes whose allergen lists do not include %s: ",
					    q->allergen_words);
			offline_say(turn, "%s%s", listed ? ", " : "", name ? name : "?");
		}
		listed++;
	}
	if (listed == 0)
		offline_say(turn, "I can't find a dish whose verified allergen list leaves out %s.",
			    q->allergen_words);
	else if (listed > SAFE_DISHES_LISTED)
		offline_say(turn, " and %d more (ask me about a category, such as starters).",
			    listed - SAFE_DISHES_LISTED);
	else
		offline_say(turn, ".");
	if (unverified)
		offline_say(turn, " %d dish%s with unverified allergen lists %s left out.", unverified,
			    unverified == 1 ? "" : "es", unverified == 1 ? "is" : "are");
	offline_say(turn, " Please tell our staff about your allergy when you order.");
}

void menu_say_tag_answer(struct offline_turn *turn, const json_t *dish,
			 const struct menu_query *q)
{
	const char *name = json_string_value(json_object_get(dish, "name"));
	const json_t *tags = json_object_get(dish, "tags");

	for (int i = 0; i < q->tag_count; i++) {
		bool has = false;
		size_t index;
		json_t *value;

		json_array_foreach(tags, index, value) {
			const char *tag = json_string_value(value);
			has = has || (tag && strcmp(tag, q->tags[i]) == 0);
		}
		const char *lead = has ? "Yes," : "No,";
		if (i > 0)
			lead = " And";
		offline_say(turn, "%s the %s is %s%s.", lead, name ? name : "dish",
			    has ? "" : "not marked ", menu_tag_words(q->tags[i]));
	}
}
