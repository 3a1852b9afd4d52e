#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "workers/offline_menu.h"
#include "workers/offline_turn.h"

#define LIST_DISHES_MAX 8

/* Writes "Name (9.50 EUR)" for a dish, with the price as the tool gave it. */
static void say_dish_short(struct offline_turn *turn, const json_t *dish)
{
	const char *name = json_string_value(json_object_get(dish, "name"));
	const char *price = json_string_value(json_object_get(dish, "price"));
	const char *currency = json_string_value(json_object_get(dish, "currency"));

	offline_say(turn, "%s", name ? name : "?");
	if (price)
		offline_say(turn, " (%s %s)", price, currency ? currency : "");
}

static void say_list(struct offline_turn *turn, const json_t *dishes)
{
	size_t index, count = json_array_size(dishes);
	json_t *dish;

	json_array_foreach(dishes, index, dish) {
		if (index == LIST_DISHES_MAX) {
			offline_say(turn, " and %zu more", count - index);
			break;
		}
		if (index > 0)
			offline_say(turn, index + 1 == count ? " and " : ", ");
		say_dish_short(turn, dish);
	}
}

static void say_strings(struct offline_turn *turn, const json_t *array, const char *none)
{
	size_t index;
	json_t *value;

	if (json_array_size(array) == 0) {
		offline_say(turn, "%s", none);
		return;
	}
	json_array_foreach(array, index, value) {
		const char *text = json_string_value(value);
		offline_say(turn, "%s%s", index == 0 ? "" : ", ", text ? text : "?");
	}
}

static void say_dish(struct offline_turn *turn, const json_t *dish)
{
	const char *description = json_string_value(json_object_get(dish, "description"));
	size_t index;
	json_t *tag;

	say_dish_short(turn, dish);
	if (description && description[0]) {
		size_t len = strlen(description);
		offline_say(turn, ": %.*s", (int)(description[len - 1] == '.' ? len - 1 : len),
			    description);
	}
	offline_say(turn, ". Tags: ");
	json_array_foreach(json_object_get(dish, "tags"), index, tag) {
		const char *name = json_string_value(tag);
		offline_say(turn, "%s%s", index ? ", " : "", name ? menu_tag_words(name) : "?");
	}
	if (json_array_size(json_object_get(dish, "tags")) == 0)
		offline_say(turn, "none");
	offline_say(turn, ". Allergens: ");
	say_strings(turn, json_object_get(dish, "allergens"), "none listed");
	offline_say(turn, ".");
	if (json_is_false(json_object_get(dish, "allergens_verified")))
		offline_say(turn, " Its allergen list has not been verified yet, so please check "
			    "with our staff if you have an allergy.");
}

/* Answers "does the risotto contain nuts?" and "is the bouillabaisse safe
 * for a shellfish allergy?" from the dish's allergen list, and never calls
 * a dish safe: an allergen left off the list may still reach it in the
 * kitchen. */
static void say_allergen_answer(struct offline_turn *turn, const json_t *dish,
				const struct menu_query *q)
{
	const char *name = json_string_value(json_object_get(dish, "name"));
	bool verified = json_is_true(json_object_get(dish, "allergens_verified"));
	char found[48];

	if (!name)
		name = "dish";
	if (q->allergen_known && menu_dish_listed_allergens(dish, q, found, sizeof(found)) > 0) {
		if (q->asks_safe)
			offline_say(turn, "No: the %s is NOT safe for someone with a %s allergy, "
				    "because it contains %s (its allergens: ", name,
				    q->allergen_words, found);
		else
			offline_say(turn, "Yes: the %s contains %s, so it is NOT safe for someone "
				    "with a %s allergy (its allergens: ", name, found,
				    q->allergen_words);
		say_strings(turn, json_object_get(dish, "allergens"), "");
		offline_say(turn, ").");
		return;
	}
	if (!q->allergen_known) {
		offline_say(turn, "Our allergen list for the %s does not cover %s, so I can't "
			    "say for sure. Please ask our staff, who can check with the kitchen.",
			    name, q->allergen_words);
		return;
	}
	if (!verified) {
		offline_say(turn, "The kitchen has not confirmed the allergen list of the %s yet, "
			    "so I can't tell you whether it is safe with a %s allergy. Please ask "
			    "our staff, who can check with the kitchen.", name, q->allergen_words);
		return;
	}
	offline_say(turn, "%s (%s) is not listed among the allergens of the %s (", q->allergen_words,
		    q->allergen, name);
	say_strings(turn, json_object_get(dish, "allergens"), "none");
	offline_say(turn, "), but cross-contamination in the kitchen is possible, so please "
		    "tell our staff about your allergy when you order.");
}

static int say_dish_answer(struct offline_turn *turn, const json_t *match,
			   const struct menu_query *q)
{
	int status;
	json_t *id = json_object_get(match, "id");
	json_t *args = json_pack("{s:O}", "id", id ? id : json_null());
	json_t *dish = offline_call(turn, "get_dish", args, &status);

	if (status != 200)
		dish = (json_decref(dish), json_incref((json_t *)match));
	if (q->allergen[0])
		say_allergen_answer(turn, dish, q);
	else if (q->tag_count)
		menu_say_tag_answer(turn, dish, q);
	else
		say_dish(turn, dish);
	json_decref(dish);
	return 0;
}

static json_t *search(struct offline_turn *turn, const struct menu_query *q, bool with_category,
		      int *status)
{
	json_t *args = json_object();

	if (q->tag_count) {
		json_t *tags = json_array();
		for (int i = 0; i < q->tag_count; i++)
			json_array_append_new(tags, json_string(q->tags[i]));
		json_object_set_new(args, "tags", tags);
	}
	if (with_category && q->category[0])
		json_object_set_new(args, "category", json_string(q->category));
	if (q->max_price[0])
		json_object_set_new(args, "max_price", json_string(q->max_price));
	if (q->text[0])
		json_object_set_new(args, "q", json_string(q->text));
	return offline_call(turn, "search_menu", args, status);
}

static void say_filters(struct offline_turn *turn, const struct menu_query *q, bool category)
{
	for (int i = 0; i < q->tag_count; i++)
		offline_say(turn, "%s ", menu_tag_words(q->tags[i]));
	if (category && q->category[0])
		offline_say(turn, "%s dishes", q->category);
	else
		offline_say(turn, "dishes");
	if (q->max_price[0])
		offline_say(turn, " up to %s EUR", q->max_price);
	if (q->text[0])
		offline_say(turn, " with %s", q->text);
}

static int say_search_answer(struct offline_turn *turn, struct menu_query *q)
{
	int status;
	json_t *result = search(turn, q, true, &status);
	json_t *items = json_object_get(result, "items");

	if (status != 200) {
		json_decref(result);
		offline_say(turn, "Sorry, I can't read our menu right now. Please try again in a "
			    "moment.");
		return -1;
	}
	menu_sort_by_price(items, q->order);
	if (json_array_size(items) > 0) {
		offline_say(turn, q->order ? "Our %s " : "Yes, our ", q->order > 0 ? "most expensive" :
			    "cheapest");
		say_filters(turn, q, true);
		offline_say(turn, json_array_size(items) == 1 ? ": " : " are: ");
		if (q->order)
			menu_keep_first(items, 3);
		say_list(turn, items);
		offline_say(turn, ".");
		json_decref(result);
		return 0;
	}
	json_decref(result);

	/* Nothing in that category: say so, and what the other filters find. */
	offline_say(turn, "Sorry, we have no ");
	say_filters(turn, q, true);
	offline_say(turn, " on the menu right now.");
	if (q->category[0] && (q->tag_count || q->max_price[0])) {
		result = search(turn, q, false, &status);
		items = json_object_get(result, "items");
		if (status == 200 && json_array_size(items) > 0) {
			offline_say(turn, " Our ");
			say_filters(turn, q, false);
			offline_say(turn, " are: ");
			say_list(turn, items);
			offline_say(turn, ".");
		}
		json_decref(result);
	}
	return 0;
}

static void say_overview(struct offline_turn *turn, const json_t *menu)
{
	if (json_array_size(menu) == 0) {
		offline_say(turn, "Sorry, I can't find any dishes on our menu right now.");
		return;
	}
	offline_say(turn, "Here is our menu: ");
	say_list(turn, menu);
	offline_say(turn, ". Ask me about any dish, a diet (vegan, vegetarian, gluten-free...), "
		    "allergens or prices.");
}

/* Returns true for a drink whose name or description marks it as
 * alcoholic; dishes cooked with wine are not drinks. */
static bool is_alcoholic(const json_t *dish)
{
	const char *category = json_string_value(json_object_get(dish, "category"));

	if (!category || strncasecmp(category, "drink", 5) != 0)
		return false;
	static const char *const words[] = { "wine", "beer", "ale", "cider", "champagne",
					     "cocktail", "spirit", "lager", "whisky", "vodka",
					     "gin", "rum", NULL };

	const char *fields[] = { json_string_value(json_object_get(dish, "name")),
				 json_string_value(json_object_get(dish, "description")) };

	for (int f = 0; f < 2; f++) {
		for (int k = 0; fields[f] && words[k]; k++) {
			const char *at = strcasestr(fields[f], words[k]);
			size_t len = strlen(words[k]);
			if (at && (at == fields[f] || !isalpha((unsigned char)at[-1])) &&
			    !isalpha((unsigned char)at[len]))
				return true;
		}
	}
	return false;
}

/* Answers "do you serve alcohol?" from the drinks on the menu. */
static void say_alcohol(struct offline_turn *turn, const json_t *menu)
{
	json_t *drinks = json_array();
	size_t index;
	json_t *dish;

	json_array_foreach(menu, index, dish) {
		if (is_alcoholic(dish))
			json_array_append(drinks, dish);
	}
	if (json_array_size(drinks) > 0) {
		offline_say(turn, "Yes, our menu has ");
		say_list(turn, drinks);
		offline_say(turn, ".");
	} else {
		offline_say(turn, "Our menu lists no alcoholic drinks. Please ask our staff what "
			    "they can offer.");
	}
	json_decref(drinks);
}

/* Answers "do you have a kids menu?": the menu data has no such thing, so
 * point to the smaller dishes it does have. */
static void say_kids_menu(struct offline_turn *turn, const json_t *menu)
{
	json_t *small = json_array();
	size_t index;
	json_t *dish;

	json_array_foreach(menu, index, dish) {
		const char *category = json_string_value(json_object_get(dish, "category"));
		if (category && (strncasecmp(category, "side", 4) == 0 ||
				 strncasecmp(category, "start", 5) == 0))
			json_array_append(small, dish);
	}
	offline_say(turn, "Our menu has no separate kids' menu. ");
	if (json_array_size(small) > 0) {
		offline_say(turn, "Smaller dishes that may suit children: ");
		say_list(turn, small);
		offline_say(turn, ". ");
	}
	offline_say(turn, "Our staff can tell you what the kitchen can adapt.");
	json_decref(small);
}

static bool message_has(const char *message, const char *const *phrases)
{
	for (int k = 0; phrases[k]; k++) {
		if (strcasestr(message, phrases[k]))
			return true;
	}
	return false;
}

/* Answers from the menu. With only_if_named, answers only when the
 * message names a dish or an ingredient of one ("anything with salmon?"),
 * and otherwise writes nothing. */
static int answer_menu(struct offline_turn *turn, bool only_if_named)
{
	int status;
	struct menu_query q;
	json_t *all = offline_call(turn, "search_menu", json_object(), &status);
	json_t *menu = json_object_get(all, "items");
	int rc = 0;

	if (status != 200) {
		json_decref(all);
		offline_say(turn, "Sorry, I can't read our menu right now. Please try again in a "
			    "moment.");
		return -1;
	}

	static const char *const alcohol_words[] = { "alcohol", "booze", NULL };
	static const char *const kids_words[] = { "kids menu", "kids' menu", "kid's menu",
						  "children's menu", "childrens menu", "child menu",
						  "kids meal", "children's meal", NULL };
	if (message_has(turn->message, alcohol_words) || message_has(turn->message, kids_words)) {
		if (message_has(turn->message, alcohol_words))
			say_alcohol(turn, menu);
		else
			say_kids_menu(turn, menu);
		json_decref(all);
		return 0;
	}

	menu_read_query(turn->message, menu, &q);
	if (only_if_named && !q.dish && !q.text[0]) {
		json_decref(all);
		return 0;
	}
	if (q.foreign)
		offline_say(turn, "I can only reply in English. ");
	if (q.dish)
		rc = say_dish_answer(turn, q.dish, &q);
	else if (q.tag_count || q.category[0] || q.max_price[0] || q.order || q.text[0])
		rc = say_search_answer(turn, &q);
	else if (q.allergen[0])
		menu_say_without_allergen(turn, menu, &q);
	else
		say_overview(turn, menu);
	json_decref(all);
	return rc;
}

static int answer(struct offline_turn *turn)
{
	unsigned intents = turn->nlu.intents;

	if (intents & NLU_INTENT_HOURS)
		return offline_say_hours(turn);
	if ((intents & NLU_INTENT_MENU) && !(intents & NLU_INTENT_ELSEWHERE))
		return answer_menu(turn, false);

	/* No menu word, but the message may name a dish or an ingredient. */
	if (!(intents & (NLU_INTENT_ELSEWHERE | NLU_INTENT_THANKS | NLU_INTENT_GOODBYE |
			 NLU_INTENT_GREETING | NLU_INTENT_HELP))) {
		int rc = answer_menu(turn, true);
		if (rc < 0 || turn->len > 0)
			return rc;
	}
	offline_say_general(turn);
	return 0;
}

int offline_food_turn(struct offline_turn *turn)
{
	int rc = answer(turn);

	if (rc == 0)
		offline_say_pending_question(turn);
	return rc;
}
