#include "tests/load/load_counts.h"
#include "tests/load/load_stats.h"
#include "tests/unit/test.h"

TEST(load_percentile_empty)
{
	double out = -1;

	CHECK(!load_percentile(NULL, 0, 500, &out));
	CHECK(out == -1);
}

TEST(load_percentile_one_sample)
{
	double one[] = { 7.5 };
	double out = 0;

	CHECK(load_percentile(one, 1, 0, &out));
	CHECK(out == 7.5);
	CHECK(load_percentile(one, 1, 500, &out));
	CHECK(out == 7.5);
	CHECK(load_percentile(one, 1, 990, &out));
	CHECK(out == 7.5);
	CHECK(load_percentile(one, 1, 1000, &out));
	CHECK(out == 7.5);
}

TEST(load_percentile_of_100_values)
{
	double values[100];
	double out = 0;

	for (int i = 0; i < 100; i++)
		values[i] = i + 1;

	CHECK(load_percentile(values, 100, 500, &out));
	CHECK_INT(out, 50);
	CHECK(load_percentile(values, 100, 950, &out));
	CHECK_INT(out, 95);
	CHECK(load_percentile(values, 100, 990, &out));
	CHECK_INT(out, 99);
	CHECK(load_percentile(values, 100, 1000, &out));
	CHECK_INT(out, 100);
	CHECK(load_percentile(values, 100, 0, &out));
	CHECK_INT(out, 1);
	CHECK(load_percentile(values, 100, 1, &out));
	CHECK_INT(out, 1);
}

TEST(load_percentile_rounds_rank_up)
{
	double values[] = { 10, 20, 30, 40 };
	double out = 0;

	/* ceil(0.5 * 4) = 2, ceil(0.95 * 4) = 4, ceil(0.26 * 4) = 2 */
	CHECK(load_percentile(values, 4, 500, &out));
	CHECK_INT(out, 20);
	CHECK(load_percentile(values, 4, 950, &out));
	CHECK_INT(out, 40);
	CHECK(load_percentile(values, 4, 260, &out));
	CHECK_INT(out, 20);
	CHECK(load_percentile(values, 4, 250, &out));
	CHECK_INT(out, 10);
}

TEST(load_percentile_of_1000_values)
{
	static double values[1000];
	double out = 0;

	for (int i = 0; i < 1000; i++)
		values[i] = i + 1;
	CHECK(load_percentile(values, 1000, 999, &out));
	CHECK_INT(out, 999);
	CHECK(load_percentile(values, 1000, 990, &out));
	CHECK_INT(out, 990);
}

TEST(load_percentile_rejects_over_100)
{
	double values[] = { 1, 2 };
	double out = -1;

	CHECK(!load_percentile(values, 2, 1001, &out));
	CHECK(out == -1);
}

TEST(load_summary_with_ties)
{
	struct load_samples samples = { 0 };
	struct load_summary summary;
	double input[] = { 5, 1, 5, 5, 9, 5, 1, 5, 5, 5 };

	for (size_t i = 0; i < sizeof(input) / sizeof(input[0]); i++)
		CHECK_INT(load_samples_add(&samples, input[i]), 0);
	load_samples_summarize(&samples, &summary);

	CHECK_INT(summary.count, 10);
	CHECK_INT(summary.p50, 5);
	CHECK_INT(summary.p95, 9);
	CHECK_INT(summary.p99, 9);
	CHECK_INT(summary.max, 9);
	CHECK(summary.mean == 4.6);
	CHECK(samples.values[0] == 1);
	CHECK(samples.values[9] == 9);
	load_samples_free(&samples);
	CHECK(samples.values == NULL);
}

TEST(load_summary_empty_is_zero)
{
	struct load_samples samples = { 0 };
	struct load_summary summary;

	load_samples_summarize(&samples, &summary);
	CHECK_INT(summary.count, 0);
	CHECK(summary.p99 == 0);
	CHECK(summary.max == 0);
}

TEST(load_summary_grows_past_first_block)
{
	struct load_samples samples = { 0 };
	struct load_summary summary;

	for (int i = 1000; i >= 1; i--)
		CHECK_INT(load_samples_add(&samples, i), 0);
	load_samples_summarize(&samples, &summary);
	CHECK_INT(summary.count, 1000);
	CHECK_INT(summary.p50, 500);
	CHECK_INT(summary.p99, 990);
	load_samples_free(&samples);
}

TEST(load_counts_keep_order_and_sum)
{
	struct load_counts counts = { 0 };

	load_counts_add(&counts, "http_429", 0);
	load_counts_add(&counts, "cut", 2);
	load_counts_add(&counts, "http_429", 3);
	CHECK_INT(counts.count, 2);
	CHECK_STR(counts.items[0].name, "http_429");
	CHECK_INT(load_counts_get(&counts, "http_429"), 3);
	CHECK_INT(load_counts_get(&counts, "cut"), 2);
	CHECK_INT(load_counts_get(&counts, "missing"), 0);
	CHECK_INT(load_counts_total(&counts), 5);
}

TEST(load_counts_overflow_to_other)
{
	struct load_counts counts = { 0 };
	char name[32];

	for (int i = 0; i < LOAD_COUNTS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "kind_%d", i);
		load_counts_add(&counts, name, 1);
	}
	CHECK_INT(counts.count, LOAD_COUNTS_MAX);
	CHECK_STR(counts.items[LOAD_COUNTS_MAX - 1].name, "other");
	CHECK_INT(load_counts_get(&counts, "other"), 11);
	CHECK_INT(load_counts_total(&counts), LOAD_COUNTS_MAX + 10);
}
