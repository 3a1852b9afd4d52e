#ifndef MAITRED_TEST_TOOLS_DB_H
#define MAITRED_TEST_TOOLS_DB_H

/*
 * Scratch databases for tests that need PostgreSQL. The server comes from
 * MAITRED_TEST_DATABASE_URL; each database is named after its topic and the
 * test process's pid, so parallel runs do not collide, and is dropped when
 * the process exits.
 */
#include <stdbool.h>

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

/* Runs sql (no parameters) and reports a test failure when it fails.
 * Returns 0 or -1. */
int test_db_exec(PGconn *pg, const char *sql);

#endif
