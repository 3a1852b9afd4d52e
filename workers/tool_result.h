#ifndef MAITRED_TOOL_RESULT_H
#define MAITRED_TOOL_RESULT_H

/*
 * What the tools share to build results and to talk to PostgreSQL: error
 * objects, parameterised queries that log their failures, and JSON read from
 * a result column.
 */
#include <jansson.h>
#include <libpq-fe.h>

/* Returns a new {"error": {"code": code, "message": ...}} and sets *status
 * to http_status. The message must not contain a guest's personal data. */
json_t *tool_error(int *status, int http_status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Adds key to the "error" object of an error result, taking the reference
 * to value. */
void tool_error_add(json_t *result, const char *key, json_t *value);

/* Returns the 503 "database_unavailable" error for the failed call. The
 * details are in the log, written by tool_query. */
json_t *tool_db_error(int *status, const char *call);

/* Runs sql with the text parameters values (NULL is SQL NULL). Returns the
 * result, which the caller frees with PQclear, or NULL when the query
 * failed, after logging PostgreSQL's message under the name call. */
PGresult *tool_query(PGconn *pg, const char *call, const char *sql,
		     int nparams, const char *const *values);

/* Returns the JSON text in a result cell as a new value, or NULL (logged
 * under call) when the cell is NULL or not JSON. */
json_t *tool_json_cell(const PGresult *res, int row, int col, const char *call);

/* Copies text into buf for an error message: at most 40 bytes, cut at a
 * character boundary, with "..." when cut. Returns buf. */
const char *tool_quote(const char *text, char *buf, size_t len);

#endif
