#ifndef MAITRED_OFFLINE_MENU_H
#define MAITRED_OFFLINE_MENU_H

/*
 * Reading a menu question against the dishes search_menu returned.
 * Internal to workers/offline*.c.
 */
#include <stdbool.h>

#include <jansson.h>

#include "workers/offline_turn.h"

#define MENU_TAGS_MAX 6

struct menu_query {
	const char *tags[MENU_TAGS_MAX];  /* API tag names: "vegan", "gluten_free"... */
	int tag_count;
	char category[32];        /* a category name the menu uses, or "" */
	char max_price[16];       /* "15.00", or "" */
	int order;                /* -1 cheapest first, 1 most expensive first, 0 as listed */
	char allergen[48];        /* the EU allergen names asked about ("crustaceans and
	                           * molluscs"), or the guest's word when unknown, or "" */
	const char *const *allergen_names;  /* the EU names, NULL-terminated, or NULL */
	char allergen_words[32];  /* the guest's word for it ("almonds", "garlic") */
	bool asks_safe;           /* "is it safe for...", "ok for my allergy" */
	bool foreign;             /* a diet was named in French or Spanish */
	bool allergen_known;      /* the group is one that dishes' allergen lists cover */
	const json_t *dish;       /* the one dish the message names (borrowed), or NULL */
	char text[48];            /* an ingredient to search for, or "" */
};

/* Reads the message against menu (the "items" array of search_menu). */
void menu_read_query(const char *message, const json_t *menu, struct menu_query *q);

/* Returns 1 when the dish's allergen list names the EU allergen ("milk",
 * "crustaceans"; a missing plural "s" is ignored), 0 when not. */
int menu_dish_has_allergen(const json_t *dish, const char *name);

/* Writes the allergens of q's group that the dish lists ("crustaceans and
 * molluscs") into buf and returns how many there are (0 when none). */
int menu_dish_listed_allergens(const json_t *dish, const struct menu_query *q, char *buf,
			       size_t size);

/* Returns the guest-facing words for an API tag ("gluten_free" gives
 * "gluten-free"). */
const char *menu_tag_words(const char *tag);

/* Sorts dishes by price: order -1 ascending, 1 descending, 0 leaves them. */
void menu_sort_by_price(json_t *dishes, int order);

/* Drops all but the first count entries of the array. */
void menu_keep_first(json_t *array, size_t count);

/* Lists the dishes whose verified allergen lists leave out the group the
 * guest is allergic to. */
void menu_say_without_allergen(struct offline_turn *turn, const json_t *menu,
			       const struct menu_query *q);

/* Answers "is the risotto vegan?" from the dish's tags. */
void menu_say_tag_answer(struct offline_turn *turn, const json_t *dish,
			 const struct menu_query *q);

/* Answers a question about opening hours with opening_hours. Returns 0, or
 * -1 when the guest should see an error. */
int offline_say_hours(struct offline_turn *turn);

#endif
