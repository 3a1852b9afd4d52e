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

/* Diet words in French, Spanish and Italian, read so that a guest who asks
 * in those languages gets an answer (in English). */
static const struct tag_words foreign_tag_table[] = {
	{ "vegan", "vegan", { "végan", "végane", "végétalien", "vegano", "vegana", NULL } },
	{ "vegetarian", "vegetarian", { "végétarien", "végétarienne", "vegetariano",
					"vegetariana", NULL } },
	{ "gluten_free", "gluten-free", { "sans gluten", "sin gluten", "senza glutine", NULL } },
};

static void add_tag(struct menu_query *q, const char *tag)
{
	for (int i = 0; i < q->tag_count; i++) {
		if (strcmp(q->tags[i], tag) == 0)
			return;
	}
	if (q->tag_count < MENU_TAGS_MAX)
		q->tags[q->tag_count++] = tag;
}

static void read_tags(const struct words *w, struct menu_query *q)
{
	for (size_t k = 0; k < sizeof(tag_table) / sizeof(tag_table[0]); k++) {
		for (int p = 0; tag_table[k].phrases[p]; p++) {
			if (has_phrase(w, tag_table[k].phrases[p])) {
				add_tag(q, tag_table[k].tag);
				break;
			}
		}
	}
	for (size_t k = 0; k < sizeof(foreign_tag_table) / sizeof(foreign_tag_table[0]); k++) {
		for (int p = 0; foreign_tag_table[k].phrases[p]; p++) {
			if (has_phrase(w, foreign_tag_table[k].phrases[p])) {
				add_tag(q, foreign_tag_table[k].tag);
				q->foreign = true;
				break;
			}
		}
	}
}

/* Returns true when the message asks whether something is safe or suitable
 * for an allergy, rather than only what it contains. */
static bool asks_about_safety(const struct words *w)
{
	static const char *const words[] = { "safe", "suitable", "okay", "ok", "allergy",
					     "allergic", "allergies", NULL };

	for (int k = 0; words[k]; k++) {
		if (find_word(w, words[k]) >= 0)
			return true;
	}
	return has_phrase(w, "can i eat") || has_phrase(w, "can i have");
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
	const char *names[3];         /* the EU allergen names dishes list, NULL-terminated */
	const char *const words[10];  /* everyday words for the group */
};

/* The EU's 14 allergen groups under the names dishes' allergen lists use,
 * and the everyday words guests use for them. "Shellfish" covers two
 * groups, crustaceans and molluscs. */
static const struct allergen_group allergen_table[] = {
	{ { "peanuts", NULL }, { "peanut", "groundnut", NULL } },
	{ { "nuts", NULL }, { "nut", "tree nut", "almond", "hazelnut", "walnut", "cashew",
			     "pistachio", "pecan", NULL } },
	{ { "gluten", NULL }, { "gluten", "wheat", "barley", "rye", NULL } },
	{ { "milk", NULL }, { "milk", "dairy", "lactose", NULL } },
	{ { "eggs", NULL }, { "egg", NULL } },
	{ { "fish", NULL }, { "fish", NULL } },
	{ { "crustaceans", "molluscs", NULL }, { "shellfish", "seafood", NULL } },
	{ { "crustaceans", NULL }, { "crustacean", "shrimp", "prawn", "crab", "lobster", NULL } },
	{ { "molluscs", NULL }, { "mollusc", "mollusk", "mussel", "oyster", "clam", "squid",
				 "scallop", NULL } },
	{ { "soybeans", NULL }, { "soy", "soya", "soybean", NULL } },
	{ { "sesame", NULL }, { "sesame", NULL } },
	{ { "celery", NULL }, { "celery", NULL } },
	{ { "mustard", NULL }, { "mustard", NULL } },
	{ { "sulphites", NULL }, { "sulphite", "sulfite", NULL } },
	{ { "lupin", NULL }, { "lupin", NULL } },
};

static const struct allergen_group *allergen_group_of(const char *word)
{
	for (size_t k = 0; k < sizeof(allergen_table) / sizeof(allergen_table[0]); k++) {
		for (int i = 0; allergen_table[k].words[i]; i++) {
			if (same_word(word, allergen_table[k].words[i]))
				return &allergen_table[k];
		}
	}
	return NULL;
}

/* Writes the group's EU names joined by "and" ("crustaceans and molluscs"). */
static void join_names(const char *const *names, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " and " : "",
					 names[i]);
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
		const struct allergen_group *group = allergen_group_of(w->word[i]);
		if (group && !(i + 1 < w->count && strcmp(w->word[i + 1], "free") == 0)) {
			join_names(group->names, q->allergen, sizeof(q->allergen));
			snprintf(q->allergen_words, sizeof(q->allergen_words), "%s", w->word[i]);
			q->allergen_names = group->names;
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

/* Three-letter words too common to tell dishes apart; other three-letter
 * words count, so "coq au vin" finds the Coq au vin. */
static const char *const short_stop_words[] = {
	"the", "and", "for", "you", "any", "are", "can", "get", "eat", "has", "how", "its",
	"not", "our", "one", "all", "too", "was", "who", "why", "yes", "but", "off", "own",
	"may", "new", "now", "let", "put", "say", "she", "him", "her", "his", "use", "did",
	"got", "had", "try", "two", "ask", "per", "out", "see", "way", "day", "with", NULL
};

static bool is_stop_word(const char *word)
{
	if (strlen(word) < 3)
		return true;
	for (int k = 0; short_stop_words[k]; k++) {
		if (strcmp(short_stop_words[k], word) == 0)
			return true;
	}
	for (int k = 0; stop_words[k]; k++) {
		if (strcmp(stop_words[k], word) == 0)
			return true;
	}
	return false;
}

/* Returns true for a word worth a text search of the menu: longer words
 * only, because short ones match inside too many descriptions. */
static bool is_search_word(const char *word)
{
	return strlen(word) >= 4 && !is_stop_word(word);
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
	q->asks_safe = asks_about_safety(&w);
	read_dish(&w, menu, q);

	if (q->dish || q->tag_count || q->category[0] || q->allergen[0])
		return;
	for (int i = 0; i < w.count; i++) {
		if (is_search_word(w.word[i]) && menu_mentions(menu, w.word[i])) {
			snprintf(q->text, sizeof(q->text), "%s", w.word[i]);
			return;
		}
	}
}

int menu_dish_has_allergen(const json_t *dish, const char *name)
{
	size_t index;
	json_t *value;

	json_array_foreach(json_object_get(dish, "allergens"), index, value) {
		const char *allergen = json_string_value(value);
		if (allergen && same_word(allergen, name))
			return 1;
	}
	return 0;
}

int menu_dish_listed_allergens(const json_t *dish, const struct menu_query *q, char *buf,
			       size_t size)
{
	const char *found[3] = { NULL };
	int count = 0;

	buf[0] = '\0';
	for (int i = 0; q->allergen_names && q->allergen_names[i] && count < 2; i++) {
		if (menu_dish_has_allergen(dish, q->allergen_names[i]))
			found[count++] = q->allergen_names[i];
	}
	join_names(found, buf, size);
	return count;
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
		char found[48];
		if (menu_dish_listed_allergens(dish, q, found, sizeof(found)) > 0)
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

/* Returns the EU allergen a "free of" tag is about, or NULL. */
static const char *tag_allergen(const char *tag)
{
	if (strcmp(tag, "gluten_free") == 0)
		return "gluten";
	if (strcmp(tag, "dairy_free") == 0)
		return "milk";
	if (strcmp(tag, "nut_free") == 0)
		return "nuts";
	return NULL;
}

static bool dish_has_tag(const json_t *dish, const char *wanted)
{
	size_t index;
	json_t *value;

	json_array_foreach(json_object_get(dish, "tags"), index, value) {
		const char *tag = json_string_value(value);
		if (tag && strcmp(tag, wanted) == 0)
			return true;
	}
	return false;
}

/* Adds what the dish's allergen list says about the tag's allergen. */
static void say_tag_allergen(struct offline_turn *turn, const json_t *dish, const char *tag,
			     bool has)
{
	const char *allergen = tag_allergen(tag);
	bool verified = json_is_true(json_object_get(dish, "allergens_verified"));

	if (!allergen)
		return;
	if (menu_dish_has_allergen(dish, allergen))
		offline_say(turn, " Its allergen list includes %s.", allergen);
	else if (!verified)
		offline_say(turn, " %s is not in its allergen list, but the kitchen has not "
			    "confirmed that list yet, so please ask our staff.", allergen);
	else if (!has)
		offline_say(turn, " %s is not among its listed allergens, but cross-contamination "
			    "is possible, so please ask our staff.", allergen);
	else
		offline_say(turn, " If you have an allergy, please tell our staff when you "
			    "order.");
}

void menu_say_tag_answer(struct offline_turn *turn, const json_t *dish,
			 const struct menu_query *q)
{
	const char *name = json_string_value(json_object_get(dish, "name"));

	for (int i = 0; i < q->tag_count; i++) {
		bool has = dish_has_tag(dish, q->tags[i]);
		const char *lead = has ? "Yes," : "No,";

		if (i > 0)
			offline_say(turn, " And");
		offline_say(turn, "%s the %s is %s%s.", i > 0 ? "" : lead, name ? name : "dish",
			    has ? "" : "not marked ", menu_tag_words(q->tags[i]));
		say_tag_allergen(turn, dish, q->tags[i], has);
	}
}
