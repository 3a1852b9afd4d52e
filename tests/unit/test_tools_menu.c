#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"

static bool has_string(const json_t *array, const char *value)
{
	size_t i;
	json_t *item;

	json_array_foreach(array, i, item)
		if (strcmp(json_string_value(item), value) == 0)
			return true;
	return false;
}

static bool has_dish(const json_t *items, const char *name)
{
	size_t i;
	json_t *dish;

	json_array_foreach(items, i, dish)
		if (strcmp(json_string_value(json_object_get(dish, "name")), name) == 0)
			return true;
	return false;
}

TEST(menu_dish_json_shape)
{
	static const char *const keys[] = {"id", "name", "description", "category", "price",
					   "currency", "tags", "allergens", "allergens_verified"};
	PGconn *pg = test_tools_pg();
	const char *key;
	json_t *dish, *value;
	size_t n = 0;
	int status;

	if (!pg)
		return;
	dish = test_tool(pg, 0, "get_dish", "{\"id\": 1}", &status);
	CHECK_INT(status, 200);
	json_object_foreach(dish, key, value) {
		if (n < sizeof(keys) / sizeof(keys[0]))
			CHECK_STR(key, keys[n]);
		n++;
	}
	CHECK_INT(n, sizeof(keys) / sizeof(keys[0]));
	CHECK_INT(json_integer_value(json_object_get(dish, "id")), 1);
	CHECK_STR(json_string_value(json_object_get(dish, "name")), "Hummus with warm flatbread");
	CHECK_STR(json_string_value(json_object_get(dish, "category")), "starter");
	CHECK_STR(json_string_value(json_object_get(dish, "price")), "7.50");
	CHECK_STR(json_string_value(json_object_get(dish, "currency")), "EUR");
	CHECK(has_string(json_object_get(dish, "tags"), "vegan"));
	CHECK(has_string(json_object_get(dish, "allergens"), "sesame"));
	CHECK(json_is_true(json_object_get(dish, "allergens_verified")));
	json_decref(dish);
}

TEST(menu_get_dish_not_found)
{
	PGconn *pg = test_tools_pg();
	json_t *result;
	int status;

	if (!pg)
		return;
	result = test_tool(pg, 0, "get_dish", "{\"id\": 99999}", &status);
	CHECK_INT(status, 404);
	CHECK_STR(json_string_value(json_object_get(json_object_get(result, "error"), "code")),
		  "not_found");
	json_decref(result);
	result = test_tool(pg, 0, "get_dish", "{\"id\": 99999999999}", &status);
	CHECK_INT(status, 404);
	json_decref(result);
}

/* Checks that every dish in items meets the filter the case asked for. */
static void check_items(size_t index, const json_t *items, const char *tag,
			const char *category, double max_price)
{
	size_t i;
	json_t *dish;

	json_array_foreach(items, i, dish) {
		const char *name = json_string_value(json_object_get(dish, "name"));
		double price = atof(json_string_value(json_object_get(dish, "price")));

		if (tag && !has_string(json_object_get(dish, "tags"), tag))
			test_fail(__FILE__, __LINE__, "case %zu: %s lacks tag %s", index, name, tag);
		if (category && strcmp(json_string_value(json_object_get(dish, "category")),
				       category) != 0)
			test_fail(__FILE__, __LINE__, "case %zu: %s is not a %s", index, name,
				  category);
		if (max_price > 0 && price > max_price)
			test_fail(__FILE__, __LINE__, "case %zu: %s costs %.2f", index, name, price);
	}
}

TEST(menu_search_filters)
{
	static const struct {
		const char *args;
		int min_count;
		int max_count;
		const char *tag;          /* every item has it */
		const char *category;     /* every item is in it */
		double max_price;         /* every item costs at most this */
		const char *includes;     /* a dish that must be listed */
	} cases[] = {
		{"{}", 30, 100, NULL, NULL, 0, "Crème brûlée"},
		{"{\"tags\": [\"vegan\"], \"category\": \"starter\"}", 3, 10, "vegan", "starter", 0,
		 "Hummus with warm flatbread"},
		{"{\"tags\": [\"vegan\", \"spicy\"]}", 1, 5, "spicy", NULL, 0,
		 "Chickpea and spinach curry"},
		{"{\"tags\": [\"gluten_free\"], \"category\": \"dessert\"}", 2, 10, "gluten_free",
		 "dessert", 0, "Lemon sorbet"},
		{"{\"q\": \"chickpeas\"}", 3, 10, NULL, NULL, 0, "Falafel with tahini sauce"},
		{"{\"q\": \"chickpea\"}", 3, 10, NULL, NULL, 0, "Chickpea and spinach curry"},
		{"{\"q\": \"risotto\"}", 1, 1, NULL, NULL, 0, "Wild mushroom risotto"},
		{"{\"q\": \"vegan\"}", 10, 30, "vegan", NULL, 0, "Ratatouille with herbed quinoa"},
		{"{\"q\": \"gluten-free\", \"category\": \"main\"}", 3, 20, "gluten_free", "main", 0,
		 "Steak frites"},
		{"{\"q\": \"brûlée\"}", 1, 1, NULL, NULL, 0, "Crème brûlée"},
		{"{\"max_price\": \"8\"}", 10, 30, NULL, NULL, 8.0, "Espresso"},
		{"{\"max_price\": 8}", 10, 30, NULL, NULL, 8.0, "Espresso"},
		{"{\"max_price\": 7.5, \"category\": \"starter\"}", 3, 10, NULL, "starter", 7.5,
		 "Hummus with warm flatbread"},
		{"{\"max_price\": \"0\"}", 0, 0, NULL, NULL, 0, NULL},
		{"{\"q\": \"unicorn steak 100%_\"}", 0, 0, NULL, NULL, 0, NULL},
		{"{\"category\": \"drink\", \"q\": \"  \"}", 5, 10, NULL, "drink", 0, "Espresso"},
		{"{\"tags\": []}", 30, 100, NULL, NULL, 0, "Steak frites"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		json_t *result = test_tool(pg, 0, "search_menu", cases[i].args, &status);
		json_t *items = json_object_get(result, "items");
		int count = (int)json_array_size(items);

		CHECK_INT(status, 200);
		if (count < cases[i].min_count || count > cases[i].max_count)
			test_fail(__FILE__, __LINE__, "case %zu (%s): %d items, expected %d to %d",
				  i, cases[i].args, count, cases[i].min_count, cases[i].max_count);
		if (cases[i].includes && !has_dish(items, cases[i].includes))
			test_fail(__FILE__, __LINE__, "case %zu (%s): %s is missing", i,
				  cases[i].args, cases[i].includes);
		check_items(i, items, cases[i].tag, cases[i].category, cases[i].max_price);
		json_decref(result);
	}
}

TEST(menu_search_rejects_values)
{
	static const struct {
		const char *args;
		const char *code;
		const char *message_part;
	} cases[] = {
		{"{\"tags\": [\"halal\"]}", "invalid_request", "\"halal\""},
		{"{\"category\": \"soup\"}", "invalid_request", "starter, main, side, dessert, drink"},
		{"{\"max_price\": \"-1\"}", "invalid_request", "max_price \"-1\""},
		{"{\"max_price\": \"cheap\"}", "invalid_request", "non-negative decimal"},
		{"{\"max_price\": -4}", "invalid_request", "non-negative decimal"},
	};
	PGconn *pg = test_tools_pg();

	if (!pg)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status;
		json_t *result = test_tool(pg, 0, "search_menu", cases[i].args, &status);
		json_t *error = json_object_get(result, "error");
		const char *message = json_string_value(json_object_get(error, "message"));

		CHECK_INT(status, 400);
		CHECK_STR(json_string_value(json_object_get(error, "code")), cases[i].code);
		if (!message || !strstr(message, cases[i].message_part))
			test_fail(__FILE__, __LINE__, "case %zu: message \"%s\" lacks \"%s\"", i,
				  message ? message : "(none)", cases[i].message_part);
		json_decref(result);
	}
}

/* Words that mean the ingredient comes from an animal. */
static const char *const animal_words[] = {
	"beef", "chicken", "duck", "lamb", "pork", "ham", "bacon", "lardons", "merguez",
	"salmon", "tuna", "anchovies", "sea bass", "monkfish", "rascasse", "sea bream",
	"mussels", "prawns", "snails", "gelatine", "stock (chicken", "beef stock",
};
static const char *const animal_product_words[] = {
	"butter", "cream", "cheese", "milk", "egg", "honey", "crème fraîche", "burrata",
	"ice cream",
};

static bool mentions_any(const char *text, const char *const *words, size_t n,
			 const char **found)
{
	for (size_t i = 0; i < n; i++) {
		if (strstr(text, words[i])) {
			*found = words[i];
			return true;
		}
	}
	return false;
}

/* "coconut milk" is a plant milk, so it is taken out before the check. */
static void strip_plant_milks(char *text)
{
	for (char *p = strstr(text, "coconut milk"); p; p = strstr(p, "coconut milk"))
		memset(p, '_', strlen("coconut milk"));
}

static void check_dish_consistency(const char *name, const char *ingredients_text,
				   const json_t *tags, const json_t *allergens)
{
	char ingredients[1024];
	const char *word;

	snprintf(ingredients, sizeof(ingredients), "%s", ingredients_text);
	strip_plant_milks(ingredients);
	if (has_string(tags, "vegetarian") &&
	    mentions_any(ingredients, animal_words, sizeof(animal_words) / sizeof(animal_words[0]),
			 &word))
		test_fail(__FILE__, __LINE__, "%s is vegetarian but contains %s", name, word);
	if (has_string(tags, "vegan") &&
	    mentions_any(ingredients, animal_product_words,
			 sizeof(animal_product_words) / sizeof(animal_product_words[0]), &word))
		test_fail(__FILE__, __LINE__, "%s is vegan but contains %s", name, word);
	if (has_string(tags, "vegan") && !has_string(tags, "vegetarian"))
		test_fail(__FILE__, __LINE__, "%s is vegan but not vegetarian", name);
	if (has_string(tags, "vegan") &&
	    (has_string(allergens, "milk") || has_string(allergens, "eggs")))
		test_fail(__FILE__, __LINE__, "%s is vegan but lists milk or eggs", name);
	if (has_string(tags, "vegetarian") &&
	    (has_string(allergens, "fish") || has_string(allergens, "crustaceans") ||
	     has_string(allergens, "molluscs")))
		test_fail(__FILE__, __LINE__, "%s is vegetarian but lists seafood", name);
	if (has_string(tags, "gluten_free") &&
	    (has_string(allergens, "gluten") || strstr(ingredients, "wheat") ||
	     strstr(ingredients, "rye") || strstr(ingredients, "barley")))
		test_fail(__FILE__, __LINE__, "%s is gluten_free but has gluten", name);
	if (has_string(tags, "dairy_free") &&
	    (has_string(allergens, "milk") || strstr(ingredients, "butter") ||
	     strstr(ingredients, "cheese") || strstr(ingredients, "cream")))
		test_fail(__FILE__, __LINE__, "%s is dairy_free but has milk", name);
	if (has_string(tags, "nut_free") &&
	    (has_string(allergens, "nuts") || has_string(allergens, "peanuts") ||
	     strstr(ingredients, "almond") || strstr(ingredients, "walnut")))
		test_fail(__FILE__, __LINE__, "%s is nut_free but has nuts", name);
	if (strstr(ingredients, "almond") || strstr(ingredients, "walnut"))
		if (!has_string(allergens, "nuts"))
			test_fail(__FILE__, __LINE__, "%s has nuts but does not list them", name);
}

TEST(menu_seed_tags_match_allergens)
{
	PGconn *pg = test_tools_pg();
	PGresult *res;
	int unverified = 0;

	if (!pg)
		return;
	res = PQexec(pg, "SELECT name, ingredients, to_json(tags)::text,"
			 " to_json(allergens)::text, allergens_verified FROM dishes");
	CHECK_INT(PQresultStatus(res), PGRES_TUPLES_OK);
	CHECK(PQntuples(res) >= 30);
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *tags = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		json_t *allergens = json_loads(PQgetvalue(res, i, 3), 0, NULL);

		check_dish_consistency(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), tags,
				       allergens);
		unverified += PQgetvalue(res, i, 4)[0] == 'f';
		json_decref(tags);
		json_decref(allergens);
	}
	PQclear(res);
	CHECK(unverified >= 3);
	CHECK(test_db_integer(pg, "SELECT count(*) FROM dishes WHERE category = 'starter'"
			      " AND 'vegan' = ANY (tags)") >= 3);
}

TEST(menu_schema_rejects_contradiction)
{
	PGconn *pg = test_tools_pg();
	PGresult *res;

	if (!pg)
		return;
	res = PQexec(pg, "INSERT INTO dishes (category, name, description, ingredients, price,"
			 " tags, allergens, allergens_verified) VALUES ('starter', 'Bad',"
			 " 'x', 'butter', 1, '{vegan,vegetarian}', '{milk}', true)");
	CHECK_INT(PQresultStatus(res), PGRES_FATAL_ERROR);
	CHECK(strstr(PQresultErrorMessage(res), "dishes_vegan_has_no_animal_allergen") != NULL);
	PQclear(res);
}
