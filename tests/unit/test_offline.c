#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tests/unit/test.h"
#include "workers/offline.h"
#include "workers/router.h"

/* Monday 1 March 2027, 10:00 in Paris. */
#define NOW ((time_t)1803891600)
#define CODE "K7M2QX9PT"
#define PHONE "+33612345678"

/* A small restaurant in memory: the tools' documented shapes, no database. */
static const char menu_json[] =
	"["
	"{\"id\":1,\"name\":\"Hummus with Flatbread\",\"description\":\"Chickpeas, tahini\","
	"\"category\":\"starter\",\"price\":\"7.50\",\"currency\":\"EUR\",\"tags\":[\"vegan\"],"
	"\"allergens\":[\"sesame\",\"gluten\"],\"allergens_verified\":true},"
	"{\"id\":2,\"name\":\"Burrata Salad\",\"description\":\"Tomatoes, basil\","
	"\"category\":\"starter\",\"price\":\"11.00\",\"currency\":\"EUR\","
	"\"tags\":[\"vegetarian\",\"gluten_free\"],\"allergens\":[\"milk\"],\"allergens_verified\":true},"
	"{\"id\":3,\"name\":\"Wild Mushroom Risotto\",\"description\":\"Porcini, parmesan\","
	"\"category\":\"main\",\"price\":\"18.50\",\"currency\":\"EUR\","
	"\"tags\":[\"vegetarian\",\"gluten_free\"],\"allergens\":[\"milk\"],\"allergens_verified\":false},"
	"{\"id\":4,\"name\":\"Chocolate Tart\",\"description\":\"Dark chocolate, hazelnut crust\","
	"\"category\":\"dessert\",\"price\":\"9.00\",\"currency\":\"EUR\",\"tags\":[\"vegetarian\"],"
	"\"allergens\":[\"milk\",\"eggs\",\"gluten\",\"nuts\"],\"allergens_verified\":true},"
	"{\"id\":5,\"name\":\"Sorbet Trio\",\"description\":\"Lemon, raspberry, mango\","
	"\"category\":\"dessert\",\"price\":\"6.50\",\"currency\":\"EUR\","
	"\"tags\":[\"vegan\",\"gluten_free\"],\"allergens\":[],\"allergens_verified\":true},"
	"{\"id\":6,\"name\":\"Bouillabaisse\",\"description\":\"Fish stew, rouille\","
	"\"category\":\"main\",\"price\":\"29.00\",\"currency\":\"EUR\",\"tags\":[\"dairy_free\"],"
	"\"allergens\":[\"fish\",\"molluscs\",\"crustaceans\",\"eggs\",\"gluten\"],"
	"\"allergens_verified\":true},"
	"{\"id\":7,\"name\":\"Coq au vin\",\"description\":\"Chicken braised in red wine\","
	"\"category\":\"main\",\"price\":\"21.00\",\"currency\":\"EUR\",\"tags\":[],"
	"\"allergens\":[\"sulphites\",\"celery\"],\"allergens_verified\":false}"
	"]";

static int cancelled;

static json_t *error(int *status, int code, const char *name)
{
	*status = code;
	return json_pack("{s:{s:s,s:s}}", "error", "code", name, "message", name);
}

static bool has_tag(const json_t *dish, const char *tag)
{
	size_t index;
	json_t *value;

	json_array_foreach(json_object_get(dish, "tags"), index, value) {
		if (strcmp(json_string_value(value), tag) == 0)
			return true;
	}
	return false;
}

static bool dish_matches(const json_t *dish, const json_t *args)
{
	size_t index;
	json_t *tag;
	const char *category = json_string_value(json_object_get(args, "category"));
	const char *max_price = json_string_value(json_object_get(args, "max_price"));
	const char *q = json_string_value(json_object_get(args, "q"));

	json_array_foreach(json_object_get(args, "tags"), index, tag) {
		if (!has_tag(dish, json_string_value(tag)))
			return false;
	}
	if (category && strcmp(category, json_string_value(json_object_get(dish, "category"))))
		return false;
	if (max_price && atof(json_string_value(json_object_get(dish, "price"))) > atof(max_price))
		return false;
	return !q || strcasestr(json_string_value(json_object_get(dish, "name")), q) ||
	       strcasestr(json_string_value(json_object_get(dish, "description")), q);
}

static json_t *fake_menu(const char *name, json_t *args, int *status)
{
	json_t *menu = json_loads(menu_json, 0, NULL), *items = json_array(), *dish;
	size_t index;

	*status = 200;
	json_array_foreach(menu, index, dish) {
		if (strcmp(name, "get_dish") == 0 &&
		    json_integer_value(json_object_get(dish, "id")) ==
			    json_integer_value(json_object_get(args, "id"))) {
			json_incref(dish);
			json_decref(menu);
			json_decref(items);
			return dish;
		}
		if (strcmp(name, "search_menu") == 0 && dish_matches(dish, args))
			json_array_append(items, dish);
	}
	json_decref(menu);
	if (strcmp(name, "get_dish") == 0) {
		json_decref(items);
		return error(status, 404, "not_found");
	}
	return json_pack("{s:o}", "items", items);
}

static json_t *reservation(const char *date, const char *time, int party)
{
	char starts_at[40];

	snprintf(starts_at, sizeof(starts_at), "%sT%s:00+01:00", date, time);
	return json_pack("{s:s,s:s,s:i,s:s,s:s}", "code", CODE, "name", "Ann Smith", "party_size",
			 party, "starts_at", starts_at, "status", "confirmed");
}

/* Tables from 19:00 to 21:30 every 30 minutes; 20:00 is full. */
static json_t *fake_availability(json_t *args, int *status)
{
	const char *date = json_string_value(json_object_get(args, "date"));
	const char *time = json_string_value(json_object_get(args, "time"));

	if (json_integer_value(json_object_get(args, "party_size")) > 12) {
		json_t *result = error(status, 400, "outside_booking_rules");
		json_object_set_new(json_object_get(result, "error"), "reason",
				    json_string("party_size"));
		return result;
	}
	if (strstr(date, "-12-25")) {
		*status = 200;
		return json_pack("{s:s,s:[],s:b,s:s}", "date", date, "slots", "closed", 1, "reason",
				 "closed: Christmas Day");
	}
	if (time && strcmp(time + 3, "00") && strcmp(time + 3, "30")) {
		*status = 200;
		return json_pack("{s:s,s:[],s:b,s:{s:s,s:b,s:s},s:[s,s]}", "date", date, "slots",
				 "closed", 0, "requested", "time", time, "available", 0, "reason",
				 "not a booking slot", "nearest_available", "2027-03-12T19:00:00+01:00",
				 "2027-03-12T19:30:00+01:00");
	}

	json_t *slots = json_array();

	for (int minute = 19 * 60; minute <= 21 * 60 + 30; minute += 30) {
		char starts_at[40];
		snprintf(starts_at, sizeof(starts_at), "%sT%02d:%02d:00+01:00", date, minute / 60,
			 minute % 60);
		json_array_append_new(slots, json_pack("{s:s,s:b}", "starts_at", starts_at,
						       "available", minute != 20 * 60));
	}
	*status = 200;
	return json_pack("{s:s,s:O,s:s,s:o}", "date", date, "party_size",
			 json_object_get(args, "party_size"), "timezone", "Europe/Paris", "slots",
			 slots);
}

static json_t *fake_tools(struct tool_ctx *ctx, const char *name, json_t *args, int *status)
{
	(void)ctx;
	if (strcmp(name, "search_menu") == 0 || strcmp(name, "get_dish") == 0)
		return fake_menu(name, args, status);
	if (strcmp(name, "check_availability") == 0)
		return fake_availability(args, status);
	if (strcmp(name, "create_reservation") == 0) {
		if (strcmp(json_string_value(json_object_get(args, "time")), "20:00") == 0)
			return error(status, 409, "slot_full");
		*status = 201;
		return reservation(json_string_value(json_object_get(args, "date")),
				   json_string_value(json_object_get(args, "time")),
				   (int)json_integer_value(json_object_get(args, "party_size")));
	}
	if (strcmp(name, "find_reservation") == 0 || strcmp(name, "cancel_reservation") == 0) {
		if (strcmp(json_string_value(json_object_get(args, "code")), CODE) ||
		    strcmp(json_string_value(json_object_get(args, "phone")), PHONE))
			return error(status, 404, "not_found");
		if (strcmp(name, "cancel_reservation") == 0 && cancelled++)
			return error(status, 409, "already_cancelled");
		*status = 200;
		return reservation("2027-03-12", "19:30", 2);
	}
	if (strcmp(name, "restaurant_info") == 0) {
		*status = 200;
		return json_pack("{s:s,s:{s:i,s:i,s:i,s:i}}", "phone", "+33 1 23 45 67 89", "rules",
				 "min_party", 1, "max_party", 12, "slot_step_minutes", 30,
				 "max_days_ahead", 90);
	}
	if (strcmp(name, "opening_hours") == 0) {
		*status = 200;
		if (json_object_get(args, "date"))
			return json_pack("{s:{s:s,s:b,s:s,s:[]}}", "date", "date",
					 json_string_value(json_object_get(args, "date")), "closed", 1,
					 "reason", "Christmas Day", "intervals");
		return json_pack("{s:[{s:s,s:b,s:[{s:s,s:s}]},{s:s,s:b,s:[{s:s,s:s}]},"
				 "{s:s,s:b,s:[]}]}", "weekly",
				 "weekday", "monday", "closed", 0, "intervals", "opens", "19:00",
				 "closes", "22:30",
				 "weekday", "tuesday", "closed", 0, "intervals", "opens", "19:00",
				 "closes", "22:30",
				 "weekday", "sunday", "closed", 1, "intervals");
	}
	return error(status, 404, "unknown_tool");
}

struct chat {
	struct tool_ctx ctx;
	json_t *state;
	struct offline_reply reply;
};

static void chat_start(struct chat *chat)
{
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	offline_set_tool_runner(fake_tools);
	memset(chat, 0, sizeof(*chat));
	chat->ctx.now = NOW;
	chat->state = json_object();
	cancelled = 0;
}

static const char *say(struct chat *chat, enum agent_kind agent, const char *message)
{
	offline_reply_free(&chat->reply);
	CHECK_INT(offline_turn(&chat->ctx, agent, chat->state, message, &chat->reply), 0);
	CHECK(chat->reply.text != NULL);
	CHECK(chat->reply.text && chat->reply.text[0] != '\0');
	return chat->reply.text ? chat->reply.text : "";
}

static void chat_end(struct chat *chat)
{
	offline_reply_free(&chat->reply);
	json_decref(chat->state);
	offline_set_tool_runner(NULL);
}

static bool tool_ran(const struct chat *chat, const char *name, bool ok)
{
	size_t index;
	json_t *entry;

	json_array_foreach(chat->reply.tools, index, entry) {
		if (strcmp(json_string_value(json_object_get(entry, "name")), name) == 0 &&
		    json_is_true(json_object_get(entry, "ok")) == ok)
			return true;
	}
	return false;
}

TEST(offline_booking_across_turns)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "a table for two tomorrow at 8pm");
	CHECK(strstr(text, "7:30 pm") != NULL);
	CHECK(strstr(text, "8:30 pm") != NULL);
	CHECK(tool_ran(&chat, "check_availability", true));

	text = say(&chat, AGENT_BOOKING, "yes");
	CHECK(strstr(text, "name") != NULL);
	text = say(&chat, AGENT_BOOKING, "Ann Smith");
	CHECK(strstr(text, "phone") != NULL);
	text = say(&chat, AGENT_BOOKING, "+33 6 12 34 56 78");
	CHECK(strstr(text, CODE) != NULL);
	CHECK(strstr(text, "Tuesday 2 March at 7:30 pm") != NULL);
	CHECK(chat.reply.reservation != NULL);
	CHECK(tool_ran(&chat, "create_reservation", true));
	chat_end(&chat);
}

TEST(offline_booking_asks_one_thing)
{
	struct chat chat;

	chat_start(&chat);
	CHECK(strstr(say(&chat, AGENT_BOOKING, "I'd like to book a table"), "how many") != NULL);
	CHECK_STR(json_string_value(json_object_get(chat.state, "asked")), "party_size");
	CHECK(strstr(say(&chat, AGENT_BOOKING, "4"), "Which day") != NULL);
	const char *text = say(&chat, AGENT_BOOKING, "next friday");
	CHECK(strstr(text, "Friday 12 March") != NULL);
	CHECK(strstr(text, "What time") != NULL);
	CHECK(strstr(text, "7 pm") != NULL);
	CHECK(strstr(say(&chat, AGENT_BOOKING, "9"), "name") != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(chat.state, "booking"), "time")),
		  "21:00");
	chat_end(&chat);
}

TEST(offline_booking_correction_midway)
{
	struct chat chat;

	chat_start(&chat);
	say(&chat, AGENT_BOOKING, "book for 3 on Friday at 7pm");
	say(&chat, AGENT_BOOKING, "my name is Ann Smith");
	say(&chat, AGENT_BOOKING, "actually make it 9pm");
	const json_t *draft = json_object_get(chat.state, "booking");
	CHECK_STR(json_string_value(json_object_get(draft, "time")), "21:00");
	CHECK_STR(json_string_value(json_object_get(draft, "name")), "Ann Smith");
	CHECK(strstr(say(&chat, AGENT_BOOKING, "06 12 34 56 78"), CODE) != NULL);
	chat_end(&chat);
}

TEST(offline_booking_bare_correction)
{
	struct chat chat;

	chat_start(&chat);
	say(&chat, AGENT_BOOKING, "a table for 2 on the 12th at 9pm");
	say(&chat, AGENT_BOOKING, "no, make it 7");
	const json_t *draft = json_object_get(chat.state, "booking");
	CHECK_STR(json_string_value(json_object_get(draft, "time")), "19:00");
	CHECK_INT(json_integer_value(json_object_get(draft, "party_size")), 2);
	say(&chat, AGENT_BOOKING, "actually make it 4");
	CHECK_INT(json_integer_value(json_object_get(draft, "party_size")), 4);
	CHECK_STR(json_string_value(json_object_get(draft, "time")), "19:00");
	chat_end(&chat);
}

TEST(offline_booking_full_slot_offers)
{
	struct chat chat;

	chat_start(&chat);
	say(&chat, AGENT_BOOKING, "Ann Smith, +33 6 12 34 56 78");
	const char *text = say(&chat, AGENT_BOOKING, "table for 2 on the 12th at 20:00");
	CHECK(strstr(text, "no free table at 8 pm") != NULL);
	CHECK(chat.reply.reservation == NULL);
	text = say(&chat, AGENT_BOOKING, "the later one");
	CHECK(strstr(text, "8:30 pm") != NULL);
	CHECK(chat.reply.reservation != NULL);
	chat_end(&chat);
}

TEST(offline_find_needs_code_and_phone)
{
	struct chat chat;

	chat_start(&chat);
	CHECK(strstr(say(&chat, AGENT_BOOKING, "what's my booking k7m2-qx9p-t?"), "phone") != NULL);
	CHECK(!tool_ran(&chat, "find_reservation", true));
	const char *text = say(&chat, AGENT_BOOKING, "+33 6 12 34 56 78");
	CHECK(strstr(text, CODE) != NULL);
	CHECK(strstr(text, "Friday 12 March at 7:30 pm") != NULL);
	CHECK(chat.reply.reservation != NULL);
	chat_end(&chat);
}

TEST(offline_cancel_and_cancel_again)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "please cancel my booking " CODE ", phone 06 12 34 56 78");
	CHECK(strstr(text, "cancelled") == NULL);
	CHECK(strstr(text, "couldn't find") != NULL);
	say(&chat, AGENT_BOOKING, "cancel booking " CODE ", my phone is +33 6 12 34 56 78");
	text = say(&chat, AGENT_BOOKING, "yes please");
	CHECK(strstr(text, "is cancelled") != NULL);
	CHECK(tool_ran(&chat, "cancel_reservation", true));
	say(&chat, AGENT_BOOKING, "cancel " CODE " please");
	text = say(&chat, AGENT_BOOKING, "yes");
	CHECK(strstr(text, "already cancelled") != NULL);
	chat_end(&chat);
}

TEST(offline_vegan_starters)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "Do you have vegan starters?");
	CHECK(strstr(text, "Hummus with Flatbread") != NULL);
	CHECK(strstr(text, "7.50 EUR") != NULL);
	CHECK(strstr(text, "Burrata") == NULL);
	CHECK(strstr(text, "Sorbet") == NULL);
	chat_end(&chat);
}

TEST(offline_no_vegan_mains)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "any vegan mains?");
	CHECK(strstr(text, "no vegan main") != NULL);
	CHECK(strstr(text, "Sorbet Trio") != NULL);
	chat_end(&chat);
}

TEST(offline_allergen_answers)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "does the risotto contain nuts?");
	CHECK(strstr(text, "not confirmed") != NULL);
	CHECK(strstr(text, "staff") != NULL);
	CHECK(tool_ran(&chat, "get_dish", true));

	text = say(&chat, AGENT_FOOD, "Does the chocolate tart contain nuts?");
	CHECK(strstr(text, "Yes") != NULL);

	text = say(&chat, AGENT_FOOD, "does the sorbet contain garlic?");
	CHECK(strstr(text, "does not cover garlic") != NULL);

	text = say(&chat, AGENT_FOOD, "is there any gluten in the burrata salad?");
	CHECK(strstr(text, "not listed") != NULL);
	CHECK(strstr(text, "cross-contamination") != NULL);
	chat_end(&chat);
}

/* Each allergy question names a dish and must be answered from that dish's
 * allergen list: "contains" names the listed allergens, "safe" never
 * appears without "NOT", and an unverified list sends the guest to staff. */
TEST(offline_allergy_safety_answers)
{
	static const struct {
		const char *question;
		const char *expected;    /* must appear */
		const char *forbidden;   /* must not appear, or NULL */
	} cases[] = {
		{ "Is the bouillabaisse safe for someone with a shellfish allergy?",
		  "NOT safe", "Yes" },
		{ "Is the bouillabaisse safe for someone with a shellfish allergy?",
		  "crustaceans and molluscs", NULL },
		{ "I'm allergic to eggs, can I eat the bouillabaisse?", "contains eggs", "Yes" },
		{ "does the bouillabaisse contain prawns?", "contains crustaceans", NULL },
		{ "is the hummus ok for a peanut allergy?", "not listed", "NOT safe" },
		{ "is the hummus ok for a peanut allergy?", "cross-contamination", NULL },
		{ "is the hummus ok with a dairy allergy?", "(milk)", NULL },
		{ "is the chocolate tart safe with a tree nut allergy?", "contains nuts", NULL },
		{ "is the tart ok for someone with a soy allergy?", "soybeans", NULL },
		{ "is the coq au vin safe for a shellfish allergy?", "not confirmed", "NOT safe" },
		{ "is the coq au vin safe for a shellfish allergy?", "staff", NULL },
		{ "is the hummus safe for a wheat allergy?", "contains gluten", NULL },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		const char *text = say(&chat, AGENT_FOOD, cases[k].question);
		if (!strstr(text, cases[k].expected))
			printf("  case %zu: %s\n    -> %s\n", k, cases[k].question, text);
		CHECK(strstr(text, cases[k].expected) != NULL);
		CHECK(!cases[k].forbidden || strstr(text, cases[k].forbidden) == NULL);
		chat_end(&chat);
	}
}

TEST(offline_price_questions)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "desserts under 8 euros?");
	CHECK(strstr(text, "Sorbet Trio") != NULL);
	CHECK(strstr(text, "Chocolate Tart") == NULL);

	text = say(&chat, AGENT_FOOD, "what's your cheapest starter?");
	CHECK(strstr(text, "Hummus") != NULL);
	CHECK(strstr(text, "Hummus") < strstr(text, "Burrata"));
	chat_end(&chat);
}

TEST(offline_opening_hours)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "when are you open?");
	CHECK(strstr(text, "Monday to Tuesday: 19:00 to 22:30") != NULL);
	CHECK(strstr(text, "Sunday: closed") != NULL);

	text = say(&chat, AGENT_FOOD, "are you open on December 25?");
	CHECK(strstr(text, "closed on Saturday 25 December (Christmas Day)") != NULL);
	chat_end(&chat);
}

TEST(offline_other_topics)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "Can you find me a movie to watch tonight?");
	CHECK(strstr(text, "this restaurant's assistant") != NULL);
	text = say(&chat, AGENT_FOOD, "asdf qwerty");
	CHECK(strstr(text, "offline assistant") != NULL);
	CHECK(!tool_ran(&chat, "check_availability", true));
	chat_end(&chat);
}

TEST(offline_tool_outage_is_error)
{
	struct chat chat;
	struct offline_reply reply;

	chat_start(&chat);
	offline_set_tool_runner(NULL);  /* the stub tools return 503 */
	CHECK_INT(offline_turn(&chat.ctx, AGENT_FOOD, chat.state, "vegan starters?", &reply), -1);
	CHECK(reply.text != NULL);
	CHECK(reply.text && strstr(reply.text, "Sorry") != NULL);
	offline_reply_free(&reply);
	chat_end(&chat);
}

TEST(offline_state_records_agent)
{
	struct chat chat;

	chat_start(&chat);
	say(&chat, AGENT_BOOKING, "hello");
	CHECK_STR(json_string_value(json_object_get(chat.state, "agent")), "booking");
	say(&chat, AGENT_FOOD, "thanks");
	CHECK_STR(json_string_value(json_object_get(chat.state, "agent")), "food");
	chat_end(&chat);
}

/* A yes/no diet question about a named dish answers about that dish, with
 * what its allergen list says about the tag's allergen. */
TEST(offline_dish_diet_answers)
{
	static const struct {
		const char *question;
		const char *expected;
	} cases[] = {
		{ "Is the coq au vin gluten free?", "No, the Coq au vin is not marked gluten-free" },
		{ "Is the coq au vin gluten free?", "not confirmed" },
		{ "is the burrata salad gluten-free?", "Yes, the Burrata Salad is gluten-free" },
		{ "is the bouillabaisse gluten free?", "allergen list includes gluten" },
		{ "is the sorbet trio vegan?", "Yes, the Sorbet Trio is vegan" },
		{ "Is the chocolate tart dairy free?", "includes milk" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		const char *text = say(&chat, AGENT_FOOD, cases[k].question);
		if (!strstr(text, cases[k].expected))
			printf("  case %zu: %s\n    -> %s\n", k, cases[k].question, text);
		CHECK(strstr(text, cases[k].expected) != NULL);
		CHECK(strstr(text, "Hummus") == NULL);
		chat_end(&chat);
	}
}

TEST(offline_menu_words_in_french_and_spanish)
{
	static const struct {
		const char *question;
		const char *expected;
		const char *forbidden;
	} cases[] = {
		{ "Est-ce que vous avez des plats végétariens ?", "Burrata Salad", "Coq" },
		{ "¿Tienen platos veganos?", "Sorbet Trio", "Burrata" },
		{ "¿Tienen platos veganos?", "English", NULL },
		{ "Avez-vous des desserts sans gluten ?", "Sorbet Trio", "Chocolate" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		const char *text = say(&chat, AGENT_FOOD, cases[k].question);
		if (!strstr(text, cases[k].expected))
			printf("  case %zu: %s\n    -> %s\n", k, cases[k].question, text);
		CHECK(strstr(text, cases[k].expected) != NULL);
		CHECK(!cases[k].forbidden || strstr(text, cases[k].forbidden) == NULL);
		chat_end(&chat);
	}
}

TEST(offline_booking_takes_name_and_phone_given_upfront)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "Can I book a table for 2 tomorrow at 19:30? "
			       "Name Ann Smith, phone +33 6 12 34 56 78");
	CHECK(strstr(text, CODE) != NULL);
	CHECK(strstr(text, "What name") == NULL);
	CHECK(tool_ran(&chat, "create_reservation", true));
	chat_end(&chat);
}

TEST(offline_code_in_message_finds_booking)
{
	static const char *const messages[] = {
		"find booking " CODE " phone +33 6 12 34 56 78",
		"what's the booking for code " CODE "? my phone is 06 12 34 56 78",
	};

	for (size_t k = 0; k < sizeof(messages) / sizeof(messages[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		const char *text = say(&chat, AGENT_BOOKING, messages[k]);
		CHECK(strstr(text, "how many") == NULL);
		CHECK(tool_ran(&chat, "find_reservation", k == 0));
		chat_end(&chat);
	}

	struct chat chat;
	chat_start(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "what's the booking for code " CODE "?");
	CHECK(strstr(text, "phone") != NULL);
	CHECK(strstr(text, "how many") == NULL);
	chat_end(&chat);
}

TEST(offline_cancel_asks_first)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "cancel my booking " CODE ", phone +33 6 12 34 56 78");
	CHECK(strstr(text, "Cancel a table for 2 on Friday 12 March at 7:30 pm") != NULL);
	CHECK(strstr(text, "yes or no") != NULL);
	CHECK(!tool_ran(&chat, "cancel_reservation", true));
	text = say(&chat, AGENT_BOOKING, "no");
	CHECK(strstr(text, "stays") != NULL);
	CHECK(!tool_ran(&chat, "cancel_reservation", true));

	say(&chat, AGENT_BOOKING, "cancel my booking " CODE ", phone +33 6 12 34 56 78");
	text = say(&chat, AGENT_BOOKING, "yes");
	CHECK(strstr(text, "is cancelled") != NULL);
	CHECK(tool_ran(&chat, "cancel_reservation", true));
	chat_end(&chat);
}

static void book_for_six(struct chat *chat)
{
	say(chat, AGENT_BOOKING, "a table for 6 on the 12th at 7pm, name Ann Smith, "
	    "phone +33 6 12 34 56 78");
	CHECK(chat->reply.reservation != NULL);
}

TEST(offline_yes_after_booking_acknowledges)
{
	struct chat chat;

	chat_start(&chat);
	book_for_six(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "yes");
	CHECK(strstr(text, "You're all set") != NULL);
	CHECK(strstr(text, CODE) != NULL);
	chat_end(&chat);
}

TEST(offline_change_after_booking_keeps_it)
{
	struct chat chat;

	chat_start(&chat);
	book_for_six(&chat);
	const char *text = say(&chat, AGENT_BOOKING, "actually make it 5 people");
	CHECK(strstr(text, "is unchanged") != NULL);
	CHECK(strstr(text, "a table for 5 on Friday 12 March at 7 pm") != NULL);
	CHECK(!tool_ran(&chat, "create_reservation", true));
	text = say(&chat, AGENT_BOOKING, "yes");
	CHECK(tool_ran(&chat, "cancel_reservation", true));
	CHECK(tool_ran(&chat, "create_reservation", true));
	CHECK(strstr(text, "a table for 5") != NULL);
	chat_end(&chat);

	chat_start(&chat);
	book_for_six(&chat);
	say(&chat, AGENT_BOOKING, "make it 9pm instead");
	text = say(&chat, AGENT_BOOKING, "no thanks");
	CHECK(strstr(text, "stays as it is") != NULL);
	CHECK(!tool_ran(&chat, "cancel_reservation", true));
	chat_end(&chat);
}

/* Friday 12 March 2027, 23:45 in Paris. */
#define FRIDAY_LATE ((time_t)1804891500)

TEST(offline_booking_rules_in_plain_words)
{
	static const struct {
		time_t now;
		const char *message;
		const char *expected;
		const char *forbidden;
	} cases[] = {
		{ FRIDAY_LATE, "book for 2 people on Friday at 8pm", "8 pm today has already passed",
		  "Noted: a table for 2 on Friday 12 March at 8 pm. What name" },
		{ NOW, "book for 20 people on Friday at 8pm", "1 to 12 people", "outside_booking_rules" },
		{ NOW, "book for 20 people on Friday at 8pm", "+33 1 23 45 67 89", NULL },
		{ NOW, "table for 2 on the 12th at 19:07", "Bookings start every 30 minutes",
		  "no free table" },
		{ NOW, "table for 2 on the 12th at 19:07", "7 pm or 7:30 pm", NULL },
		{ NOW, "table for 2 on 2027-02-30 at 8pm", "does not exist on the calendar", NULL },
		{ NOW, "table for 2 tomorrow at 25:61", "does not exist on the clock", NULL },
		{ NOW, "table for 2 on christmas day at 8pm", "closed on Saturday 25 December "
		  "(Christmas Day)", NULL },
		{ NOW, "table for 2 on christmas day at 8pm", "pm on Sunday 26 December", NULL },
		{ NOW, "table for 1e9 people tomorrow at 8pm", "how many", "table for 9" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		chat.ctx.now = cases[k].now;
		const char *text = say(&chat, AGENT_BOOKING, cases[k].message);
		if (!strstr(text, cases[k].expected))
			printf("  case %zu: %s\n    -> %s\n", k, cases[k].message, text);
		CHECK(strstr(text, cases[k].expected) != NULL);
		CHECK(!cases[k].forbidden || strstr(text, cases[k].forbidden) == NULL);
		CHECK(!tool_ran(&chat, "create_reservation", true));
		chat_end(&chat);
	}
}

TEST(offline_open_on_christmas)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "Are you open on Christmas?");
	CHECK(strstr(text, "closed on Saturday 25 December (Christmas Day)") != NULL);
	chat_end(&chat);
}

TEST(offline_menu_question_during_booking)
{
	static const struct {
		const char *message;
		const char *expected;
	} cases[] = {
		{ "Est-ce que vous avez des plats végétariens ?", "Burrata Salad" },
		{ "¿Tienen platos veganos?", "Sorbet Trio" },
		{ "vegetarian mains under 20 euros", "Wild Mushroom Risotto" },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		say(&chat, AGENT_BOOKING, "book a table please");
		enum agent_kind agent = router_pick(cases[k].message, chat.state);
		CHECK_INT(agent, AGENT_FOOD);
		const char *text = say(&chat, agent, cases[k].message);
		if (!strstr(text, cases[k].expected))
			printf("  case %zu: %s\n    -> %s\n", k, cases[k].message, text);
		CHECK(strstr(text, cases[k].expected) != NULL);
		CHECK(strncmp(text, "To go on", 8) != 0);
		chat_end(&chat);
	}
}

TEST(offline_questions_the_menu_cannot_list)
{
	struct chat chat;

	chat_start(&chat);
	const char *text = say(&chat, AGENT_FOOD, "Do you serve alcohol?");
	CHECK(strstr(text, "Our menu lists no alcoholic drinks") != NULL);
	CHECK(strstr(text, "Hummus") == NULL);
	text = say(&chat, AGENT_FOOD, "Do you have a kids menu?");
	CHECK(strstr(text, "no separate kids' menu") != NULL);
	CHECK(strstr(text, "Hummus with Flatbread") != NULL);
	CHECK(strstr(text, "Coq au vin") == NULL);
	chat_end(&chat);
}

TEST(offline_lost_code_gives_phone)
{
	static const char *const messages[] = {
		"I don't remember the code, my name is Marie Curie",
		"I lost my code, can you find my booking?",
	};

	for (size_t k = 0; k < sizeof(messages) / sizeof(messages[0]); k++) {
		struct chat chat;

		chat_start(&chat);
		enum agent_kind agent = router_pick(messages[k], chat.state);
		CHECK_INT(agent, AGENT_BOOKING);
		const char *text = say(&chat, agent, messages[k]);
		if (!strstr(text, "+33 1 23 45 67 89"))
			printf("  case %zu: %s\n    -> %s\n", k, messages[k], text);
		CHECK(strstr(text, "+33 1 23 45 67 89") != NULL);
		CHECK(tool_ran(&chat, "restaurant_info", true));
		chat_end(&chat);
	}
}
