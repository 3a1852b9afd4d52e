#ifndef MAITRED_PROXY_H
#define MAITRED_PROXY_H

#include <stddef.h>

/* Parses TRUSTED_PROXIES (addresses or CIDR blocks, IPv4 or IPv6, comma-
 * separated). Returns 0, or -1 naming the bad entry in err. */
int proxy_configure(const char *list, char *err, size_t errlen);

/* Writes the client's address to out: the socket peer, unless the peer is a
 * trusted proxy and X-Forwarded-For is present; then the right-most address
 * in it that is not itself a trusted proxy. */
void proxy_client_ip(const char *peer, const char *forwarded_for, char *out, size_t len);

#endif
