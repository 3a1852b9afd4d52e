#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/listen.h"

#define LISTEN_BACKLOG 4096

int listen_split(const char *text, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(text, ':');
	if (!colon)
		return -1;
	const char *start = text, *end = colon;
	if (*start == '[' && end > start && end[-1] == ']') {
		start++;
		end--;
	}
	if ((size_t)(end - start) >= hostlen || end == start)
		return -1;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	char *tail;
	long n = strtol(colon + 1, &tail, 10);
	if (tail == colon + 1 || *tail || n < 1 || n > 65535)
		return -1;
	*port = (int)n;
	return 0;
}

int listen_open(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	char service[16];
	snprintf(service, sizeof(service), "%d", port);
	int rc = getaddrinfo(host, service, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "getaddrinfo(%s) failed: %s", host, gai_strerror(rc));
		return -1;
	}

	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket() failed: %s", strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		snprintf(err, errlen, "bind(%s:%d) failed: %s", host, port, strerror(errno));
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		snprintf(err, errlen, "listen(%s:%d) failed: %s", host, port, strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
fail:
	close(fd);
	freeaddrinfo(res);
	return -1;
}
