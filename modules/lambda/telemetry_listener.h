/* telemetry_listener.h -- the local listener for Lambda Telemetry API deliveries (platform events). */
#ifndef RELAY_TELEMETRY_LISTENER_H
#define RELAY_TELEMETRY_LISTENER_H

struct event_base;
struct telemetry;

/* What the listener reports: an invoke started or its runtime finished. */
struct telemetry_handlers {
	void	(*on_start)(const char *request_id, void *arg);
	void	(*on_runtime_done)(const char *request_id, const char *status, void *arg);
	void	*arg;
};

/*
 * Listen where Lambda delivers telemetry: the address /etc/hosts gives for
 * sandbox.localdomain, and 127.0.0.1 (local emulators), on one free port
 * (*ret_port). NULL with *reterr (malloc'd) when nothing could be bound.
 */
struct telemetry *telemetry_new(struct event_base *base, const struct telemetry_handlers *h,
	    int *ret_port, char **reterr);
void	telemetry_free(struct telemetry *t);

#endif
