#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "workers/tool_result.h"

json_t *tool_error(int *status, int http_status, const char *code, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	*status = http_status;
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

void tool_error_add(json_t *result, const char *key, json_t *value)
{
	json_object_set_new(json_object_get(result, "error"), key, value);
}

json_t *tool_db_error(int *status, const char *call)
{
	return tool_error(status, 503, "database_unavailable",
			  "%s could not reach the database. Try again in a moment.", call);
}

/* Returns PostgreSQL's message on one line, for the log. */
static void flatten_message(const char *message, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = message; *p && n + 1 < len; p++)
		buf[n++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

PGresult *tool_query(PGconn *pg, const char *call, const char *sql,
		     int nparams, const char *const *values)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, values, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	char message[512];

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;

	/* Only the primary message and SQLSTATE: a DETAIL line can quote the
	 * failing row, with a guest's name and phone. */
	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
		flatten_message(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), message,
				sizeof(message));
		log_error("tool_query_failed", "%s: PQexecParams() failed: SQLSTATE %s: %s", call,
			  PQresultErrorField(res, PG_DIAG_SQLSTATE), message);
	} else {
		flatten_message(PQerrorMessage(pg), message, sizeof(message));
		log_error("tool_query_failed", "%s: PQexecParams() failed: %s", call, message);
	}
	PQclear(res);
	return NULL;
}

json_t *tool_json_cell(const PGresult *res, int row, int col, const char *call)
{
	json_error_t error;
	json_t *value;

	if (PQgetisnull(res, row, col)) {
		log_error("tool_bad_json", "%s: column %d is NULL", call, col);
		return NULL;
	}
	value = json_loads(PQgetvalue(res, row, col), 0, &error);
	if (!value)
		log_error("tool_bad_json", "%s: json_loads() failed: %s", call, error.text);
	return value;
}

const char *tool_quote(const char *text, char *buf, size_t len)
{
	const size_t max = 40;
	size_t n = strlen(text);

	if (n <= max && n < len) {
		memcpy(buf, text, n + 1);
		return buf;
	}
	n = max < len - 4 ? max : len - 4;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	snprintf(buf, len, "%.*s...", (int)n, text);
	return buf;
}
