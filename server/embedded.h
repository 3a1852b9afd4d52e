#ifndef MAITRED_EMBEDDED_H
#define MAITRED_EMBEDDED_H

#include <stddef.h>

/* A file built into the binary by server/embed.sh: SQL migrations under
 * "sql/" and the chat page under "workers/static/". data is NUL-terminated. */
struct embedded_file {
	const char *path;
	const char *data;
	size_t size;
};

/* Sorted by path, ended by an entry whose path is NULL. */
extern const struct embedded_file embedded_files[];

/* Returns the embedded file at path, or NULL when there is none. */
const struct embedded_file *embedded_find(const char *path);

#endif
