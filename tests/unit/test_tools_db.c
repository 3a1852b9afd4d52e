#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/migrate.h"
#include "workers/tool_parse.h"
#include "workers/tools.h"
#include "tests/unit/test.h"
#include "tests/unit/test_tools_db.h"

#define TEST_DB_MAX 16

static char created[TEST_DB_MAX][64];
static int created_count;

/* Returns the server's URL, or NULL when the variable is unset or empty. */
static const char *database_url(void)
{
	const char *url = getenv("MAITRED_TEST_DATABASE_URL");

	return url && *url ? url : NULL;
}

static void database_name(const char *topic, char *buf, size_t len)
{
	snprintf(buf, len, "maitred_unit_%s_%ld", topic, (long)getpid());
}

/* Connects to dbname on the server of MAITRED_TEST_DATABASE_URL, or to the
 * URL's own database when dbname is NULL. */
static PGconn *connect_to(const char *url, const char *dbname)
{
	const char *keys[] = {"dbname", dbname ? "dbname" : NULL, NULL};
	const char *values[] = {url, dbname, NULL};
	PGconn *pg = PQconnectdbParams(keys, values, 1);

	if (PQstatus(pg) != CONNECTION_OK) {
		test_fail(__FILE__, __LINE__, "connecting to %s failed: %s",
			  dbname ? dbname : "MAITRED_TEST_DATABASE_URL", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PQclear(PQexec(pg, "SET client_min_messages = warning"));
	return pg;
}

int test_db_exec(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		test_fail(__FILE__, __LINE__, "%s failed: %s", sql, PQresultErrorMessage(res));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

static int drop_database(PGconn *admin, const char *name)
{
	char *ident = PQescapeIdentifier(admin, name, strlen(name));
	char sql[256];
	int rc;

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", ident);
	PQfreemem(ident);
	rc = test_db_exec(admin, sql);
	return rc;
}

static void drop_created(void)
{
	const char *url = database_url();
	PGconn *admin;

	if (!url || created_count == 0)
		return;
	admin = connect_to(url, NULL);
	if (!admin)
		return;
	for (int i = 0; i < created_count; i++)
		drop_database(admin, created[i]);
	PQfinish(admin);
}

static int recreate_database(const char *url, const char *name)
{
	PGconn *admin = connect_to(url, NULL);
	char *ident;
	char sql[256];
	int rc = -1;

	if (!admin)
		return -1;
	if (drop_database(admin, name) < 0)
		goto done;
	ident = PQescapeIdentifier(admin, name, strlen(name));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", ident);
	PQfreemem(ident);
	rc = test_db_exec(admin, sql);
done:
	PQfinish(admin);
	return rc;
}

static void remember(const char *name)
{
	for (int i = 0; i < created_count; i++)
		if (strcmp(created[i], name) == 0)
			return;
	if (created_count == 0)
		atexit(drop_created);
	if (created_count < TEST_DB_MAX)
		snprintf(created[created_count++], sizeof(created[0]), "%s", name);
}

PGconn *test_db_create(const char *topic, bool migrate)
{
	const char *url = database_url();
	char name[64];
	char err[1024];
	PGconn *pg;

	if (!url) {
		printf("skipped: MAITRED_TEST_DATABASE_URL not set\n");
		return NULL;
	}
	database_name(topic, name, sizeof(name));
	if (recreate_database(url, name) < 0)
		return NULL;
	remember(name);

	pg = connect_to(url, name);
	if (!pg || !migrate)
		return pg;
	if (migrate_apply(pg, err, sizeof(err)) < 0) {
		test_fail(__FILE__, __LINE__, "migrate_apply failed: %s", err);
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

PGconn *test_db_connect(const char *topic)
{
	const char *url = database_url();
	char name[64];

	if (!url) {
		test_fail(__FILE__, __LINE__, "MAITRED_TEST_DATABASE_URL not set");
		return NULL;
	}
	database_name(topic, name, sizeof(name));
	return connect_to(url, name);
}

PGconn *test_tools_pg(void)
{
	static PGconn *shared;
	static bool tried;

	if (!tried) {
		tried = true;
		shared = test_db_create("tools", true);
	} else if (!shared && !database_url()) {
		printf("skipped: MAITRED_TEST_DATABASE_URL not set\n");
	} else if (!shared) {
		test_fail(__FILE__, __LINE__, "the tools database could not be made");
	}
	return shared;
}

json_t *test_tool(PGconn *pg, time_t now, const char *name, const char *args, int *status)
{
	struct tool_ctx ctx = {.pg = pg, .now = now};
	json_error_t error;
	json_t *parsed = json_loads(args, 0, &error);
	json_t *result;

	if (!parsed) {
		test_fail(__FILE__, __LINE__, "test arguments are not JSON: %s: %s", args,
			  error.text);
		*status = 0;
		return json_object();
	}
	*status = 0;
	result = tool_run(&ctx, name, parsed, status);
	json_decref(parsed);
	return result;
}

time_t test_instant(const char *iso)
{
	long long epoch;

	return tool_parse_instant(iso, &epoch) < 0 ? (time_t)-1 : (time_t)epoch;
}

long long test_db_integer(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	long long value = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else
		test_fail(__FILE__, __LINE__, "%s failed: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return value;
}

void test_add_clock_change_hours(PGconn *pg)
{
	test_db_exec(pg,
		"INSERT INTO opening_exceptions (date, closed, reason) VALUES"
		" ('2027-03-28', false, 'Clock change test'),"
		" ('2026-10-25', false, 'Clock change test')"
		" ON CONFLICT (date) DO NOTHING");
	test_db_exec(pg,
		"INSERT INTO opening_exception_intervals (date, opens, closes)"
		" SELECT d, '01:00', '05:00' FROM unnest(ARRAY[date '2027-03-28',"
		"                                              date '2026-10-25']) AS d"
		" WHERE NOT EXISTS (SELECT 1 FROM opening_exception_intervals i"
		"                   WHERE i.date = d)");
}
