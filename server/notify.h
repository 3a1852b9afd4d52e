#ifndef MAITRED_NOTIFY_H
#define MAITRED_NOTIFY_H

/* Sends a state line ("READY=1", "STOPPING=1") to systemd when it started
 * maitred with Type=notify (NOTIFY_SOCKET set); does nothing otherwise. */
void notify_systemd(const char *state);

/* Sends WATCHDOG=1 at half the interval systemd asked for (WATCHDOG_USEC).
 * The master calls it from its loop, so a stuck master is restarted. */
void notify_watchdog(void);

#endif
