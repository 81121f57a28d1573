/* evlog.h -- libevent's own warnings, routed through log.c. */
#ifndef RELAY_EVLOG_H
#define RELAY_EVLOG_H

/*
 * From now on libevent's messages (errors, warnings; debug ones only when the
 * level shows them) become log lines in the configured format, at most one a
 * second per severity, instead of "[warn] ..." lines on stderr.
 */
void	evlog_route(void);

#endif
