#include <stdio.h>
#include <unistd.h>

#include "shm/region.h"
#include "tests/unit/test.h"

static int region_for_test(struct shm_region *r, int slots, int queue)
{
	char name[64], err[256];
	snprintf(name, sizeof(name), "/maitred-test-%d", (int)getpid());
	int rc = shm_region_create(r, name, 2, slots, queue, "test", err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "  %s\n", err);
	return rc;
}

TEST(region_admits_in_ticket_order)
{
	struct shm_region r;
	bool admitted;
	CHECK_INT(region_for_test(&r, 2, 3), 0);

	int a = shm_run_enqueue(&r, 0, "a", 0, &admitted);
	CHECK(admitted);
	int b = shm_run_enqueue(&r, 1, "b", 0, &admitted);
	CHECK(admitted);
	int c = shm_run_enqueue(&r, 0, "c", 0, &admitted);
	CHECK(!admitted);
	int d = shm_run_enqueue(&r, 1, "d", 0, &admitted);
	CHECK(!admitted);
	CHECK_INT(shm_run_position(&r, c), 1);
	CHECK_INT(shm_run_position(&r, d), 2);

	CHECK(shm_run_release(&r, a));
	CHECK(shm_run_admitted(&r, c));
	CHECK(!shm_run_admitted(&r, d));
	CHECK_INT(shm_run_position(&r, d), 1);

	struct shm_slot_counts counts = shm_slot_counts(&r);
	CHECK_INT(counts.in_use, 2);
	CHECK_INT(counts.waiting, 1);
	(void)b;
	shm_region_close(&r);
}

TEST(region_rejects_past_queue_limit)
{
	struct shm_region r;
	bool admitted;
	CHECK_INT(region_for_test(&r, 1, 1), 0);

	CHECK(shm_run_enqueue(&r, 0, "a", 0, &admitted) >= 0);
	CHECK(shm_run_enqueue(&r, 0, "b", 0, &admitted) >= 0);
	CHECK_INT(shm_run_enqueue(&r, 0, "c", 0, &admitted), -1);
	shm_region_close(&r);
}

TEST(region_reclaims_dead_owner)
{
	struct shm_region r;
	bool admitted;
	CHECK_INT(region_for_test(&r, 1, 4), 0);

	int a = shm_run_enqueue(&r, 0, "a", 0, &admitted);
	int b = shm_run_enqueue(&r, 1, "b", 0, &admitted);
	r.runs[b].pid = 999999; /* as if another process owned it */
	r.runs[a].pid = 999999;
	CHECK_INT(shm_reclaim_pid(&r, 999999), 2);
	CHECK_INT(shm_slot_counts(&r).in_use, 0);
	shm_region_close(&r);
}

TEST(region_open_checks_layout)
{
	struct shm_region r, reader;
	char err[256];
	CHECK_INT(region_for_test(&r, 1, 1), 0);
	CHECK_INT(shm_region_open(&reader, r.name, err, sizeof(err)), 0);
	CHECK_INT(reader.hdr->slot_limit, 1);
	shm_region_close(&reader);
	shm_region_close(&r);
	CHECK_INT(shm_region_open(&reader, "/maitred-no-such-region", err, sizeof(err)), -1);
}
