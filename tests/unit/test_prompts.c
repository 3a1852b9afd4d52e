#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "workers/prompts.h"
#include "workers/router.h"
#include "tests/unit/test.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void remove_dir(const char *dir)
{
	const char *names[] = { "food.txt", "booking.txt", "router.txt" };
	char path[256];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

TEST(prompts_load_files_and_router_words)
{
	char dir[] = "/tmp/maitred-prompts-XXXXXX";
	char err[256];
	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "food.txt", "temperature=0.7 max_tokens=300\nYou serve {restaurant} in {timezone}.");
	write_file(dir, "booking.txt", "Book tables at {restaurant}.");
	write_file(dir, "router.txt", "# our own words\nbooking: brunch slot, terrace\nfood: wine list\n");

	CHECK_INT(prompts_load(dir, err, sizeof(err)), 0);
	char *text = prompts_system(AGENT_FOOD, "Chez Test", "Europe/Paris");
	CHECK_STR(text, "You serve Chez Test in Europe/Paris.");
	free(text);
	CHECK(prompts_temperature(AGENT_FOOD) > 0.69 && prompts_temperature(AGENT_FOOD) < 0.71);
	CHECK_INT(prompts_max_tokens(AGENT_FOOD), 300);

	enum agent_kind agent = AGENT_FOOD;
	CHECK_INT(prompts_route("Is the Terrace open?", &agent), 1);
	CHECK_INT(agent, AGENT_BOOKING);
	CHECK_INT(prompts_route("Can I see the wine list", &agent), 1);
	CHECK_INT(agent, AGENT_FOOD);
	CHECK_INT(prompts_route("terraces are nice", &agent), 0);
	CHECK_INT(router_pick("Can I see the wine list and book a table", NULL), AGENT_FOOD);

	CHECK_INT(prompts_load(NULL, err, sizeof(err)), 0);
	CHECK_INT(prompts_route("terrace", &agent), 0);
	remove_dir(dir);
}

TEST(prompts_reject_bad_router_file)
{
	char dir[] = "/tmp/maitred-prompts-XXXXXX";
	char err[256];
	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "food.txt", "Food.");
	write_file(dir, "booking.txt", "Booking.");
	write_file(dir, "router.txt", "drinks: cocktail\n");

	CHECK_INT(prompts_load(dir, err, sizeof(err)), -1);
	CHECK(strstr(err, "router.txt line 1") != NULL);
	remove_dir(dir);
}

TEST(prompts_reject_missing_prompt)
{
	char err[256];
	CHECK_INT(prompts_load("/nonexistent-maitred-dir", err, sizeof(err)), -1);
	CHECK(strstr(err, "food.txt") != NULL);
}
