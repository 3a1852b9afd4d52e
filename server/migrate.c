#include <stdio.h>

#include "server/migrate.h"

int migrate_apply(PGconn *pg, char *err, size_t errlen)
{
	(void)pg;
	snprintf(err, errlen, "migrations not yet available");
	return -1;
}
