#ifndef MAITRED_TEST_TOOLS_DB_H
#define MAITRED_TEST_TOOLS_DB_H

/*
 * Scratch databases for tests that need PostgreSQL. The server comes from
 * MAITRED_TEST_DATABASE_URL; each database is named after its topic and the
 * test process's pid, so parallel runs do not collide, and is dropped when
 * the process exits.
 */
#include <stdbool.h>

#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

/* Creates the database for topic (dropping a leftover one first), migrates
 * it when migrate is true, and returns a new connection to it that the
 * caller closes with PQfinish. Returns NULL after printing
 * "skipped: MAITRED_TEST_DATABASE_URL not set" when the variable is unset,
 * or after reporting a test failure when the server cannot be used. */
PGconn *test_db_create(const char *topic, bool migrate);

/* Returns a new connection to the database that test_db_create made for
 * topic, or NULL after reporting a test failure. */
PGconn *test_db_connect(const char *topic);

/* Returns the connection to the database shared by the tool tests, made
 * and migrated on first use, or NULL when skipped or broken (as
 * test_db_create). The connection stays open until the process exits. */
PGconn *test_tools_pg(void);

/* Runs tool_run with args given as JSON text at the clock now (UTC seconds).
 * Returns the new result, which the caller frees with json_decref. */
json_t *test_tool(PGconn *pg, time_t now, const char *name, const char *args, int *status);

/* Returns the epoch seconds of an ISO 8601 time with offset, or -1. */
time_t test_instant(const char *iso);

/* Returns the single integer a query returns, or -1 when it fails. */
long long test_db_integer(PGconn *pg, const char *sql);

/* Adds opening hours from 01:00 to 05:00 on the nights the clocks change
 * in Paris (2027-03-28 forward, 2026-10-25 back), so slots cross the
 * skipped and the repeated hour. Safe to call again. */
void test_add_clock_change_hours(PGconn *pg);

/* Runs sql (no parameters) and reports a test failure when it fails.
 * Returns 0 or -1. */
int test_db_exec(PGconn *pg, const char *sql);

#endif
