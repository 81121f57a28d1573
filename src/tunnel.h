/* tunnel.h -- a loopback listener whose connections go on to one host:port through an HTTP proxy's CONNECT. */
#ifndef RELAY_TUNNEL_H
#define RELAY_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

struct event_base;
struct evdns_base;
struct resolver;
struct tunnel;

/*
 * evhttp 2.1 connects its client connections itself (it resets the socket of
 * the bufferevent it is given), so it cannot run over a socket connected to a
 * proxy and tunnelled by someone else. Instead it connects to this listener
 * on 127.0.0.1. Each accepted connection gets its own connection to the
 * proxy, which is sent CONNECT target; on a 2xx answer the bytes flow both
 * ways unchanged (TLS runs end to end, from evhttp to the target), on
 * anything else, or when the proxy cannot be reached or does not answer in
 * time, the accepted connection is closed, so evhttp sees a failed
 * connection, and the failure is logged (rate-limited) and kept for
 * tunnel_failed_since.
 */
struct tunnel_params {
	const char	*target;	/* host:port, IPv6 in []: what CONNECT asks for */
	const char	*proxy_display;	/* http://host:port, for log lines */
	int		 proxy_port;
	const char	*authorization;	/* Proxy-Authorization value (secret), or NULL */
	struct timeval	 timeout;	/* the proxy must be reached and answer within this */
};

/*
 * A tunnel to p->target. `resolver` (borrowed, outliving the tunnel) gives
 * the proxy's address at each connection and is told when it failed. The
 * strings are copied. Nothing listens yet. NULL when out of memory.
 */
struct tunnel *tunnel_new(struct event_base *base, struct evdns_base *dns, struct resolver *resolver,
	    const struct tunnel_params *p);
/*
 * The listener's port on 127.0.0.1 (port 0 picks it), listening from the
 * first call on: no socket until the first upload needs one. -1 (logged)
 * when it cannot listen; the next call tries again.
 */
int	tunnel_port(struct tunnel *t);
/*
 * True when a tunnel failed (the proxy could not be reached, refused the
 * CONNECT or did not answer it) at or after `since` (relay_now_ns()); then
 * buf holds why, without secrets.
 */
bool	tunnel_failed_since(const struct tunnel *t, int64_t since, char *buf, size_t size);
/* Close the listener and every tunnel at once; NULL-safe. */
void	tunnel_free(struct tunnel *t);

#endif
