#ifndef MAITRED_LOG_H
#define MAITRED_LOG_H

#include <stdbool.h>

/*
 * One line per event on stderr or LOG_FILE: UTC time, level, pid, role
 * ("master", "worker-2"), an event name, an optional request id and a
 * message. With LOG_FORMAT=json each line is one JSON object.
 * Never pass a secret, a phone number or a guest's message at info level.
 */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the role, the format and the lowest level written. Not thread-safe:
 * call before starting threads. */
void log_setup(const char *role, bool json, enum log_level min_level);

/* Opens path for appending (NULL or "" means stderr). Returns 0, or -1 with
 * errno set and the previous target kept. Called again on SIGUSR1 to reopen
 * a file that logrotate moved. */
int log_open(const char *path);

/* Parses "debug", "info", "warn" or "error". Returns -1 for anything else. */
int log_level_parse(const char *text);

bool log_enabled(enum log_level level);

void log_write(enum log_level level, const char *request_id, const char *event,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(event, ...) log_write(LOG_DEBUG, NULL, event, __VA_ARGS__)
#define log_info(event, ...)  log_write(LOG_INFO, NULL, event, __VA_ARGS__)
#define log_warn(event, ...)  log_write(LOG_WARN, NULL, event, __VA_ARGS__)
#define log_error(event, ...) log_write(LOG_ERROR, NULL, event, __VA_ARGS__)

#endif
