#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/embedded.h"
#include "server/log.h"
#include "server/migrate.h"

/* Key of the session-level advisory lock that serialises migration runs
 * across processes and servers sharing one database. */
#define MIGRATE_LOCK_KEY "7243105906411251"

#define MIGRATE_PREFIX "sql/"

/* Copies PostgreSQL's error text without its trailing newline. */
static void copy_pg_error(char *err, size_t errlen, const char *what,
			  const char *file, const char *pg_message)
{
	size_t n = strlen(pg_message);

	while (n > 0 && (pg_message[n - 1] == '\n' || pg_message[n - 1] == ' '))
		n--;
	if (file)
		snprintf(err, errlen, "%s: %s failed: %.*s", file, what, (int)n, pg_message);
	else
		snprintf(err, errlen, "migrations: %s failed: %.*s", what, (int)n, pg_message);
}

/* Runs sql without parameters. Returns 0 when it succeeded, else -1 with
 * PostgreSQL's error text in err. */
static int exec_command(PGconn *pg, const char *sql, const char *what,
			const char *file, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);

		copy_pg_error(err, errlen, what, file, msg);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Returns true for an embedded path of the form sql/NNN_name.sql. */
static bool is_migration_path(const char *path)
{
	const char *name = path + strlen(MIGRATE_PREFIX);
	size_t len;

	if (strncmp(path, MIGRATE_PREFIX, strlen(MIGRATE_PREFIX)) != 0)
		return false;
	if (!isdigit((unsigned char)name[0]) || !isdigit((unsigned char)name[1]) ||
	    !isdigit((unsigned char)name[2]) || name[3] != '_')
		return false;
	len = strlen(name);
	return len > 8 && strcmp(name + len - 4, ".sql") == 0 && !strchr(name, '/');
}

/* Copies the version recorded for path: its file name without ".sql". */
static void migration_version(const char *path, char *buf, size_t len)
{
	const char *name = path + strlen(MIGRATE_PREFIX);

	snprintf(buf, len, "%.*s", (int)(strlen(name) - 4), name);
}

/* Returns 1 when version is recorded as applied, 0 when not, -1 on error. */
static int is_applied(PGconn *pg, const char *version, const char *file,
		      char *err, size_t errlen)
{
	const char *params[1] = {version};
	PGresult *res = PQexecParams(pg,
		"SELECT 1 FROM schema_migrations WHERE version = $1",
		1, NULL, params, NULL, NULL, 0);
	int rc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		copy_pg_error(err, errlen, "reading schema_migrations", file,
			      PQresultErrorMessage(res));
		rc = -1;
	} else {
		rc = PQntuples(res) > 0;
	}
	PQclear(res);
	return rc;
}

/* Applies one file and records its version in one transaction. */
static int apply_file(PGconn *pg, const struct embedded_file *file,
		      const char *version, char *err, size_t errlen)
{
	const char *params[1] = {version};
	PGresult *res;

	if (exec_command(pg, "BEGIN", "BEGIN", file->path, err, errlen) < 0)
		return -1;

	/* Keeps NOTICEs such as "extension already exists" off stderr. */
	if (exec_command(pg, "SET LOCAL client_min_messages = warning", "SET",
			 file->path, err, errlen) < 0)
		goto rollback;
	if (exec_command(pg, file->data, "applying", file->path, err, errlen) < 0)
		goto rollback;

	res = PQexecParams(pg,
		"INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
		1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		copy_pg_error(err, errlen, "recording the version", file->path,
			      PQresultErrorMessage(res));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);

	if (exec_command(pg, "COMMIT", "COMMIT", file->path, err, errlen) < 0)
		goto rollback;
	log_info("migration_applied", "applied %s", file->path);
	return 0;

rollback:
	PQclear(PQexec(pg, "ROLLBACK"));
	return -1;
}

static int apply_pending(PGconn *pg, char *err, size_t errlen, int *applied)
{
	char version[256];

	for (const struct embedded_file *f = embedded_files; f->path; f++) {
		int done;

		if (!is_migration_path(f->path))
			continue;
		migration_version(f->path, version, sizeof(version));
		done = is_applied(pg, version, f->path, err, errlen);
		if (done < 0)
			return -1;
		if (done)
			continue;
		if (apply_file(pg, f, version, err, errlen) < 0)
			return -1;
		(*applied)++;
	}
	return 0;
}

int migrate_apply(PGconn *pg, char *err, size_t errlen)
{
	int applied = 0;
	int rc = -1;

	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "migrations: no database connection: %s",
			 pg ? PQerrorMessage(pg) : "connection is NULL");
		return -1;
	}

	/* The lock comes first because concurrent CREATE TABLE IF NOT EXISTS
	 * statements can still collide. */
	if (exec_command(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
			 "pg_advisory_lock", NULL, err, errlen) < 0)
		return -1;
	if (exec_command(pg,
			 "SET client_min_messages = warning;"
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version text PRIMARY KEY,"
			 " applied_at timestamptz NOT NULL);"
			 "RESET client_min_messages",
			 "creating schema_migrations", NULL, err, errlen) < 0)
		goto unlock;
	if (apply_pending(pg, err, errlen, &applied) < 0)
		goto unlock;

	if (applied == 0)
		log_info("migrations_current", "no migration to apply");
	rc = 0;

unlock:
	PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
	return rc;
}
