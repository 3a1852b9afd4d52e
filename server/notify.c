#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/notify.h"
#include "shm/region.h"

void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return;

	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	memcpy(addr.sun_path, path, strlen(path));
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';   /* an abstract socket */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	ssize_t ignored = sendto(fd, state, strlen(state), 0, (struct sockaddr *)&addr, len);
	(void)ignored;
	close(fd);
}

void notify_watchdog(void)
{
	static int64_t last_ms;
	const char *usec = getenv("WATCHDOG_USEC");
	if (!usec)
		return;
	long long interval_ms = atoll(usec) / 1000;
	int64_t now = shm_now_ms();
	if (interval_ms <= 0 || now - last_ms < interval_ms / 2)
		return;
	last_ms = now;
	notify_systemd("WATCHDOG=1");
}
