#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/proxy.h"

#define PROXY_MAX 32

struct cidr {
	int family;
	unsigned char addr[16];
	int bits;
};

static struct cidr proxies[PROXY_MAX];
static int proxy_count;

static int parse_address(const char *text, int *family, unsigned char *addr)
{
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int parse_cidr(const char *text, struct cidr *out)
{
	char buf[80];
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (parse_address(buf, &out->family, out->addr) < 0)
		return -1;
	int max = out->family == AF_INET ? 32 : 128;
	out->bits = max;
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > max)
			return -1;
		out->bits = (int)bits;
	}
	return 0;
}

int proxy_configure(const char *list, char *err, size_t errlen)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	proxy_count = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (proxy_count == PROXY_MAX || parse_cidr(tok, &proxies[proxy_count]) < 0) {
			snprintf(err, errlen,
				 "invalid TRUSTED_PROXIES entry %s: expected an IPv4 or IPv6 address or CIDR block (at most %d)",
				 tok, PROXY_MAX);
			return -1;
		}
		proxy_count++;
	}
	return 0;
}

static bool cidr_contains(const struct cidr *c, int family, const unsigned char *addr)
{
	if (c->family != family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, addr, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool is_trusted(const char *text)
{
	int family;
	unsigned char addr[16];
	if (parse_address(text, &family, addr) < 0)
		return false;
	/* An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d. */
	if (family == AF_INET6 && memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		family = AF_INET;
		memmove(addr, addr + 12, 4);
	}
	for (int i = 0; i < proxy_count; i++)
		if (cidr_contains(&proxies[i], family, addr))
			return true;
	return false;
}

void proxy_client_ip(const char *peer, const char *forwarded_for, char *out, size_t len)
{
	snprintf(out, len, "%s", peer);
	if (!forwarded_for || !is_trusted(peer))
		return;

	char buf[512];
	snprintf(buf, sizeof(buf), "%s", forwarded_for);
	/* Walk from the right: each hop was added by the proxy after it. */
	for (;;) {
		char *comma = strrchr(buf, ',');
		char *hop = comma ? comma + 1 : buf;
		while (*hop == ' ')
			hop++;
		size_t n = strlen(hop);
		while (n && hop[n - 1] == ' ')
			hop[--n] = '\0';
		int family;
		unsigned char addr[16];
		if (parse_address(hop, &family, addr) < 0)
			return;
		snprintf(out, len, "%s", hop);
		if (!is_trusted(hop) || !comma)
			return;
		*comma = '\0';
	}
}
