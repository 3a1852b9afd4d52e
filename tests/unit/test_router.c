#include <jansson.h>

#include "tests/unit/test.h"
#include "workers/router.h"

static enum agent_kind pick_after(const char *message, const char *last_agent)
{
	json_t *state = json_pack("{s:s}", "agent", last_agent);
	enum agent_kind agent = router_pick(message, state);

	json_decref(state);
	return agent;
}

TEST(router_booking_words)
{
	CHECK_INT(router_pick("I'd like to book a table", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("Can I reserve for tonight?", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("table for 4 tomorrow at 8pm", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("party of 6 on Friday", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("please cancel my reservation", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("what's my booking K7M2QX9PT?", NULL), AGENT_BOOKING);
	CHECK_INT(router_pick("a restaurant in San Jose for 2 people", NULL), AGENT_BOOKING);
}

TEST(router_menu_words)
{
	CHECK_INT(router_pick("Do you have vegan starters?", NULL), AGENT_FOOD);
	CHECK_INT(router_pick("does the risotto contain nuts?", NULL), AGENT_FOOD);
	CHECK_INT(router_pick("when are you open on Sunday?", NULL), AGENT_FOOD);
	CHECK_INT(router_pick("what's the cheapest dessert?", NULL), AGENT_FOOD);
	CHECK_INT(pick_after("any gluten-free mains?", "booking"), AGENT_FOOD);
}

TEST(router_new_session_default)
{
	CHECK_INT(router_pick("hello", NULL), AGENT_FOOD);
	CHECK_INT(router_pick("what's the weather like?", NULL), AGENT_FOOD);
}

TEST(router_follow_up_stays)
{
	CHECK_INT(pick_after("yes", "booking"), AGENT_BOOKING);
	CHECK_INT(pick_after("8pm", "booking"), AGENT_BOOKING);
	CHECK_INT(pick_after("Ann Smith", "booking"), AGENT_BOOKING);
	CHECK_INT(pick_after("+33 6 12 34 56 78", "booking"), AGENT_BOOKING);
	CHECK_INT(pick_after("yes", "food"), AGENT_FOOD);
	CHECK_INT(pick_after("and the second one?", "food"), AGENT_FOOD);
}

TEST(router_pending_question_wins)
{
	json_t *state = json_pack("{s:s,s:s,s:s,s:{s:i}}", "agent", "food", "asked", "name", "task",
				  "book", "booking", "party_size", 2);

	CHECK_INT(router_pick("Ann Smith", state), AGENT_BOOKING);
	CHECK_INT(router_pick("is the soup vegan?", state), AGENT_FOOD);
	json_decref(state);
}

TEST(router_time_after_food_turn)
{
	CHECK_INT(pick_after("I want it at half past 5 in the evening.", "food"), AGENT_BOOKING);
	CHECK_INT(pick_after("Lets eat at five pm.", "food"), AGENT_BOOKING);
}

TEST(router_agent_names)
{
	CHECK_STR(agent_name(AGENT_FOOD), "food");
	CHECK_STR(agent_name(AGENT_BOOKING), "booking");
}

TEST(router_menu_question_leaves_booking)
{
	static const char *const messages[] = {
		"Est-ce que vous avez des plats végétariens ?",
		"¿Tienen platos veganos?",
		"spicy mains under 20 euros",
		"Do you serve alcohol?",
		"Do you have a kids menu?",
	};
	json_t *state = json_pack("{s:s,s:s,s:s,s:{}}", "agent", "booking", "task", "book", "asked",
				  "party_size", "booking");

	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		if (router_pick(messages[i], state) != AGENT_FOOD)
			test_fail(__FILE__, __LINE__, "\"%s\" went to booking", messages[i]);
	}
	json_decref(state);
}
