#ifndef MAITRED_LISTEN_H
#define MAITRED_LISTEN_H

#include <stddef.h>

/* Opens a non-blocking TCP listening socket on host:port (IPv4 or IPv6
 * literal, or a name). Returns the socket, or -1 with the failed call and
 * errno text in err. */
int listen_open(const char *host, int port, char *err, size_t errlen);

/* Splits "host:port" ("[::1]:9000" for IPv6). Returns 0 or -1. */
int listen_split(const char *text, char *host, size_t hostlen, int *port);

#endif
