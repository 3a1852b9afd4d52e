#include <stdio.h>
#include <string.h>

#include "workers/tools.h"

/* NOTE: a first version so other modules link; every tool returns 503
 * until the data layer lands. */

static json_t *tool_error(int *status, int code, const char *name, const char *message)
{
	*status = code;
	return json_pack("{s:{s:s,s:s}}", "error", "code", name, "message", message);
}

json_t *tool_run(struct tool_ctx *ctx, const char *name, json_t *args, int *status)
{
	(void)ctx;
	(void)args;
	(void)name;
	return tool_error(status, 503, "database_unavailable", "tools not yet available");
}

bool tool_has_side_effects(const char *name)
{
	return name && (strcmp(name, "create_reservation") == 0 ||
			strcmp(name, "cancel_reservation") == 0);
}

json_t *tools_openai_schema(enum agent_kind agent)
{
	(void)agent;
	return json_array();
}

int restaurant_timezone(PGconn *pg, char *buf, size_t len, char *err, size_t errlen)
{
	(void)pg;
	(void)err;
	(void)errlen;
	if (len == 0)
		return -1;
	snprintf(buf, len, "%s", "Europe/Paris");
	return 0;
}
