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
 * The socket Lambda delivers telemetry to, opened before registering so that
 * its port (*ret_port) can be subscribed at once: 127.0.0.1 (local emulators)
 * on a free port. fd, or -1 with errno.
 */
int	telemetry_socket(int *ret_port);
/*
 * Serve deliveries on fd (taken over, closed on failure), and on the same
 * port at the address /etc/hosts gives for sandbox.localdomain. NULL when out
 * of memory.
 */
struct telemetry *telemetry_new(struct event_base *base, const struct telemetry_handlers *h, int fd);
void	telemetry_free(struct telemetry *t);

#endif
