#include <pthread.h>
#include <stdlib.h>

#include "server/embedded.h"
#include "server/migrate.h"
#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"

/* Returns the number of rows the query returns, or -1 when it fails. */
static int count_rows(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	int n = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : -1;

	PQclear(res);
	return n;
}

static int count_embedded_migrations(void)
{
	int n = 0;

	for (const struct embedded_file *f = embedded_files; f->path; f++)
		if (strncmp(f->path, "sql/", 4) == 0)
			n++;
	return n;
}

TEST(migrate_twice_applies_once)
{
	PGconn *pg = test_db_create("migrate", false);
	char err[1024] = "";

	if (!pg)
		return;
	CHECK_INT(migrate_apply(pg, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(count_rows(pg, "SELECT * FROM schema_migrations"), count_embedded_migrations());
	CHECK(count_rows(pg, "SELECT * FROM schema_migrations WHERE version = '001_schema'") == 1);
	CHECK(count_rows(pg, "SELECT * FROM dishes") >= 30);

	/* A second run finds every file recorded and changes nothing: the seed
	 * would fail on its unique keys if it ran again. */
	CHECK_INT(migrate_apply(pg, err, sizeof(err)), 0);
	CHECK_INT(count_rows(pg, "SELECT * FROM schema_migrations"), count_embedded_migrations());
	CHECK_INT(count_rows(pg, "SELECT * FROM restaurant"), 1);
	PQfinish(pg);
}

struct migrate_run {
	PGconn *pg;
	int rc;
	char err[1024];
};

static void *run_migrate(void *arg)
{
	struct migrate_run *run = arg;

	run->rc = migrate_apply(run->pg, run->err, sizeof(run->err));
	return NULL;
}

TEST(migrate_concurrent_runs_apply_once)
{
	enum { RUNS = 4 };
	struct migrate_run runs[RUNS];
	pthread_t threads[RUNS];
	PGconn *pg = test_db_create("migrate_race", false);

	if (!pg)
		return;
	for (int i = 0; i < RUNS; i++) {
		runs[i].pg = test_db_connect("migrate_race");
		runs[i].rc = -2;
		runs[i].err[0] = '\0';
	}
	for (int i = 0; i < RUNS; i++)
		if (runs[i].pg)
			pthread_create(&threads[i], NULL, run_migrate, &runs[i]);
	for (int i = 0; i < RUNS; i++) {
		if (!runs[i].pg)
			continue;
		pthread_join(threads[i], NULL);
		if (runs[i].rc != 0)
			test_fail(__FILE__, __LINE__, "run %d: %s", i, runs[i].err);
		CHECK_INT(runs[i].rc, 0);
		PQfinish(runs[i].pg);
	}
	CHECK_INT(count_rows(pg, "SELECT * FROM schema_migrations"), count_embedded_migrations());
	CHECK_INT(count_rows(pg, "SELECT * FROM restaurant"), 1);
	PQfinish(pg);
}

TEST(migrate_error_names_file)
{
	PGconn *pg = test_db_create("migrate_error", false);
	char err[1024] = "";

	if (!pg)
		return;

	/* A table the schema file creates already exists, so 001 fails. */
	CHECK_INT(test_db_exec(pg, "CREATE TABLE dishes (id int)"), 0);
	CHECK_INT(migrate_apply(pg, err, sizeof(err)), -1);
	CHECK(strstr(err, "sql/001_schema.sql") != NULL);
	CHECK(strstr(err, "already exists") != NULL);
	CHECK_INT(count_rows(pg, "SELECT * FROM schema_migrations"), 0);
	CHECK_INT(count_rows(pg, "SELECT 1 FROM pg_class WHERE relname = 'restaurant'"), 0);
	PQfinish(pg);
}

TEST(migrate_without_connection)
{
	char err[256] = "";

	CHECK_INT(migrate_apply(NULL, err, sizeof(err)), -1);
	CHECK(strstr(err, "no database connection") != NULL);
}
