#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "server/utf8.h"

#define LOG_LINE_MAX 4096

static char log_role[32] = "master";
static bool log_json;
static enum log_level log_min = LOG_INFO;
static int log_fd = STDERR_FILENO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(const char *role, bool json, enum log_level min_level)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	log_json = json;
	log_min = min_level;
}

int log_open(const char *path)
{
	if (!path || !*path) {
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		return 0;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	int old = log_fd;
	log_fd = fd;
	if (old != STDERR_FILENO)
		close(old);
	return 0;
}

int log_level_parse(const char *text)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(text, level_names[i]) == 0)
			return i;
	return -1;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* Appends text to buf as the inside of a JSON string. Returns the new length. */
static size_t append_json_escaped(char *buf, size_t len, size_t cap, const char *text)
{
	size_t left = strlen(text);
	for (const unsigned char *p = (const unsigned char *)text; *p && len + 7 < cap; p++, left--) {
		if (*p >= 0x80) {
			/* Keep whole UTF-8 characters; a stray byte becomes U+FFFD so the
			 * line stays valid JSON. */
			size_t n = utf8_sequence(p, left);
			if (n && len + n < cap) {
				memcpy(buf + len, p, n);
				len += n;
				p += n - 1;
				left -= n - 1;
			} else {
				len += (size_t)snprintf(buf + len, cap - len, "\\ufffd");
			}
		} else if (*p == '"' || *p == '\\') {
			buf[len++] = '\\';
			buf[len++] = (char)*p;
		} else if (*p < 0x20) {
			len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", *p);
		} else {
			buf[len++] = (char)*p;
		}
	}
	return len;
}

static size_t format_time(char *buf, size_t cap)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, cap - n, ".%03dZ", (int)(tv.tv_usec / 1000));
	return n;
}

void log_write(enum log_level level, const char *request_id, const char *event,
	       const char *fmt, ...)
{
	if (level < log_min)
		return;

	int saved_errno = errno;
	char msg[LOG_LINE_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char ts[40];
	format_time(ts, sizeof(ts));

	char line[LOG_LINE_MAX];
	size_t len;
	if (log_json) {
		len = (size_t)snprintf(line, sizeof(line),
				       "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%d,\"role\":\"%s\",\"event\":\"",
				       ts, level_names[level], (int)getpid(), log_role);
		len = append_json_escaped(line, len, sizeof(line), event);
		if (request_id) {
			len += (size_t)snprintf(line + len, sizeof(line) - len, "\",\"request_id\":\"");
			len = append_json_escaped(line, len, sizeof(line), request_id);
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len, "\",\"msg\":\"");
		len = append_json_escaped(line, len, sizeof(line) - 3, msg);
		line[len++] = '"';
		line[len++] = '}';
	} else {
		len = (size_t)snprintf(line, sizeof(line), "%s %s %d %s %s%s%s: %s", ts,
				       level_names[level], (int)getpid(), log_role, event,
				       request_id ? " request_id=" : "", request_id ? request_id : "", msg);
		if (len > sizeof(line) - 2)
			len = sizeof(line) - 2;
		/* Keep one event on one line whatever the message holds. */
		for (size_t i = 0; i < len; i++)
			if (line[i] == '\n' || line[i] == '\r')
				line[i] = ' ';
	}
	line[len++] = '\n';

	/* One write() per line keeps lines from several processes whole. */
	ssize_t ignored = write(log_fd, line, len);
	(void)ignored;
	errno = saved_errno;
}
