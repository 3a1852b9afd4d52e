#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test.h"
#include "workers/emf.h"

static struct emf_sample sample_at(int64_t wall_ms, uint64_t turns, uint64_t turn_us, uint64_t rate_limited)
{
	struct emf_sample s = {
		.wall_ms = wall_ms, .turns = turns, .turn_us = turn_us, .rate_limit_errors = rate_limited,
		.streams = 3, .rss_bytes = 50 << 20, .instance_streams = 13, .instance_rss_bytes = 200 << 20,
		.slots_in_use = 18, .slot_limit = 20, .queue_limit = 80,
	};
	return s;
}

static json_t *format_and_parse(const struct emf_sample *prev, const struct emf_sample *now, int64_t limit)
{
	char *line = emf_format_line(prev, now, "maitred-test", 2, 4242, limit);
	if (!line)
		return NULL;
	json_t *root = json_loads(line, 0, NULL);
	free(line);
	return root;
}

/* Returns the unit the directive gives metric name, or NULL when absent. */
static const char *unit_of(json_t *root, const char *name)
{
	json_t *directive = json_array_get(json_object_get(json_object_get(root, "_aws"), "CloudWatchMetrics"), 0);
	size_t i;
	json_t *def;
	json_array_foreach(json_object_get(directive, "Metrics"), i, def)
		if (strcmp(json_string_value(json_object_get(def, "Name")), name) == 0)
			return json_string_value(json_object_get(def, "Unit"));
	return NULL;
}

static double number_of(json_t *root, const char *name)
{
	return json_number_value(json_object_get(root, name));
}

TEST(emf_line_has_metadata)
{
	struct emf_sample prev = sample_at(1000, 0, 0, 0), now = sample_at(61000, 0, 0, 0);
	json_t *root = format_and_parse(&prev, &now, 0);
	CHECK(root != NULL);

	json_t *aws = json_object_get(root, "_aws");
	CHECK_INT(json_integer_value(json_object_get(aws, "Timestamp")), 61000);
	json_t *directive = json_array_get(json_object_get(aws, "CloudWatchMetrics"), 0);
	CHECK_STR(json_string_value(json_object_get(directive, "Namespace")), "Maitred");
	json_t *dimensions = json_object_get(directive, "Dimensions");
	CHECK_INT(json_array_size(dimensions), 1);
	CHECK_INT(json_array_size(json_array_get(dimensions, 0)), 1);
	CHECK_STR(json_string_value(json_array_get(json_array_get(dimensions, 0), 0)), "Service");
	CHECK_STR(json_string_value(json_object_get(root, "Service")), "maitred-test");
	CHECK_INT(json_integer_value(json_object_get(root, "Worker")), 2);
	CHECK_INT(json_integer_value(json_object_get(root, "Pid")), 4242);
	CHECK(number_of(root, "IntervalSeconds") == 60.0);
	json_decref(root);
}

TEST(emf_every_metric_has_a_value)
{
	struct emf_sample prev = sample_at(0, 10, 0, 0), now = sample_at(60000, 12, 3000000, 1);
	json_t *root = format_and_parse(&prev, &now, 1 << 30);
	json_t *directive = json_array_get(json_object_get(json_object_get(root, "_aws"), "CloudWatchMetrics"), 0);
	json_t *metrics = json_object_get(directive, "Metrics");
	CHECK_INT(json_array_size(metrics), 11);

	size_t i;
	json_t *def;
	json_array_foreach(metrics, i, def) {
		const char *name = json_string_value(json_object_get(def, "Name"));
		if (!json_is_number(json_object_get(root, name)))
			test_fail(__FILE__, __LINE__, "metric %s has no number in the line", name);
	}
	json_decref(root);
}

TEST(emf_counters_are_deltas)
{
	struct emf_sample prev = sample_at(0, 10, 20000000, 4), now = sample_at(60000, 14, 26000000, 9);
	json_t *root = format_and_parse(&prev, &now, 0);

	CHECK(number_of(root, "Turns") == 4);
	CHECK(number_of(root, "TurnDurationSum") == 6.0);
	CHECK(number_of(root, "TurnDurationAverage") == 1.5);
	CHECK(number_of(root, "ModelRateLimitErrors") == 5);
	CHECK_STR(unit_of(root, "Turns"), "Count");
	CHECK_STR(unit_of(root, "TurnDurationAverage"), "Seconds");
	json_decref(root);
}

TEST(emf_no_turns_no_average)
{
	struct emf_sample prev = sample_at(0, 7, 9000000, 0), now = sample_at(60000, 7, 9000000, 0);
	json_t *root = format_and_parse(&prev, &now, 0);

	CHECK(number_of(root, "Turns") == 0);
	CHECK(json_object_get(root, "TurnDurationAverage") == NULL);
	CHECK(unit_of(root, "TurnDurationAverage") == NULL);
	json_decref(root);
}

TEST(emf_counter_reset_counts_zero)
{
	struct emf_sample prev = sample_at(0, 50, 90000000, 8), now = sample_at(60000, 2, 1000000, 1);
	json_t *root = format_and_parse(&prev, &now, 0);

	CHECK(number_of(root, "Turns") == 0);
	CHECK(number_of(root, "TurnDurationSum") == 0.0);
	CHECK(number_of(root, "ModelRateLimitErrors") == 0);
	json_decref(root);
}

TEST(emf_gauges_and_ratios)
{
	struct emf_sample prev = sample_at(0, 0, 0, 0), now = sample_at(60000, 0, 0, 0);
	json_t *root = format_and_parse(&prev, &now, 400 << 20);

	CHECK(number_of(root, "ActiveStreams") == 3);
	CHECK(number_of(root, "MemoryResident") == 50 << 20);
	CHECK(number_of(root, "SlotsInUse") == 18);
	CHECK(number_of(root, "SlotLimit") == 20);
	CHECK(number_of(root, "SlotUtilization") == 90.0);
	CHECK(number_of(root, "StreamUtilization") == 13.0);
	CHECK(number_of(root, "MemoryUtilization") == 50.0);
	CHECK_STR(unit_of(root, "MemoryResident"), "Bytes");
	CHECK_STR(unit_of(root, "SlotUtilization"), "Percent");
	json_decref(root);
}

TEST(emf_unknown_limit_no_memory_ratio)
{
	struct emf_sample prev = sample_at(0, 0, 0, 0), now = sample_at(60000, 0, 0, 0);
	json_t *root = format_and_parse(&prev, &now, 0);

	CHECK(json_object_get(root, "MemoryUtilization") == NULL);
	CHECK(unit_of(root, "MemoryUtilization") == NULL);
	json_decref(root);
}

/* A fake root with proc/ and sys/ for emf_memory_limit. */
struct fake_root {
	char dir[64];
};

static void fake_write(struct fake_root *root, const char *path, const char *text)
{
	char full[256], parent[256];
	snprintf(full, sizeof(full), "%s/%s", root->dir, path);
	for (char *slash = strchr(full + strlen(root->dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - full), full);
		mkdir(parent, 0700);
	}
	FILE *f = fopen(full, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void fake_root_make(struct fake_root *root)
{
	snprintf(root->dir, sizeof(root->dir), "/tmp/maitred-emf-test-XXXXXX");
	if (!mkdtemp(root->dir))
		root->dir[0] = '\0';
	fake_write(root, "proc/meminfo", "MemTotal:        4000000 kB\nMemFree:  100 kB\n");
}

static void fake_root_remove(struct fake_root *root)
{
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", root->dir);
	CHECK_INT(system(command), 0);
}

TEST(emf_limit_without_cgroup_is_memtotal)
{
	struct fake_root root;
	fake_root_make(&root);
	CHECK_INT(emf_memory_limit(root.dir), 4000000LL * 1024);
	fake_root_remove(&root);
}

TEST(emf_limit_from_cgroup_v2)
{
	struct fake_root root;
	fake_root_make(&root);
	fake_write(&root, "proc/self/cgroup", "0::/system.slice/maitred.service\n");
	fake_write(&root, "sys/fs/cgroup/system.slice/maitred.service/memory.max", "max\n");
	fake_write(&root, "sys/fs/cgroup/system.slice/memory.max", "1073741824\n");
	CHECK_INT(emf_memory_limit(root.dir), 1073741824);
	fake_root_remove(&root);
}

TEST(emf_limit_from_cgroup_v1)
{
	struct fake_root root;
	fake_root_make(&root);
	fake_write(&root, "proc/self/cgroup", "5:devices:/\n4:memory:/ecs/task1\n0::/\n");
	fake_write(&root, "sys/fs/cgroup/memory/ecs/task1/memory.limit_in_bytes", "536870912\n");
	fake_write(&root, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
	CHECK_INT(emf_memory_limit(root.dir), 536870912);
	fake_root_remove(&root);
}

TEST(emf_limit_above_memtotal_ignored)
{
	struct fake_root root;
	fake_root_make(&root);
	fake_write(&root, "proc/self/cgroup", "0::/\n");
	fake_write(&root, "sys/fs/cgroup/memory.max", "68719476736\n");
	CHECK_INT(emf_memory_limit(root.dir), 4000000LL * 1024);
	fake_root_remove(&root);
}

TEST(emf_limit_unreadable_is_zero)
{
	CHECK_INT(emf_memory_limit("/nonexistent-maitred-root"), 0);
}
