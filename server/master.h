#ifndef MAITRED_MASTER_H
#define MAITRED_MASTER_H

#include <stddef.h>

#include "server/config.h"

/* Runs the master: prepares the database, the region and the listening
 * sockets, forks the workers and supervises them until SIGTERM or SIGINT.
 * argc and argv are kept to re-read the configuration on SIGHUP. Returns
 * the process exit status. */
int master_main(struct config *cfg, int argc, char **argv);

/* Connects to PostgreSQL (retrying while it starts), applies the
 * migrations and, when timezone is not NULL, reads the restaurant's time
 * zone. Returns 0, or -1 after logging why. */
int master_prepare_database(const struct config *cfg, char *timezone, size_t tzlen);

#define MAITRED_VERSION "0.1.0"

#endif
