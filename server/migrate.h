#ifndef MAITRED_MIGRATE_H
#define MAITRED_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

/* Applies, in path order, each embedded sql/NNN_*.sql file that the
 * schema_migrations table does not list yet, each in its own transaction,
 * and records it there. An advisory lock serialises concurrent runs from
 * several processes or servers. Returns 0, or -1 with a message in err that
 * names the file and PostgreSQL's error text. */
int migrate_apply(PGconn *pg, char *err, size_t errlen);

#endif
