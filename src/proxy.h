/* proxy.h -- the forwarder through an HTTP proxy: where to connect, the request target, Proxy-Authorization. */
#ifndef RELAY_PROXY_H
#define RELAY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "settings.h"

struct event_base;
struct evdns_base;
struct evkeyvalq;
struct proxy;
struct resolver;

/*
 * The way to cfg->remote through cfg->proxy, or NULL (and no error) when
 * the remote is reached directly. An http:// remote is sent absolute-form
 * requests through a connection to the proxy; an https:// remote is reached
 * through a CONNECT tunnel (tunnel.h) and TLS runs end to end, verifying the
 * remote. `resolver` (borrowed) gives the proxy's address; `timeout` is the
 * upload's (a tunnel's own bound is twice that). Nothing is connected or
 * listened on yet. NULL as well when out of memory (cfg->proxy.host tells).
 */
struct proxy *proxy_new(struct event_base *base, struct evdns_base *dns, struct resolver *resolver,
	    const struct relay_settings *cfg, const struct timeval *timeout);
/* Free p and every tunnel it holds; NULL-safe. */
void	proxy_free(struct proxy *p);
/*
 * Where a new connection goes: the proxy, or the tunnel's listener on
 * 127.0.0.1 (listening from the first call). 0, or -1 (logged) when the
 * tunnel cannot listen.
 */
int	proxy_endpoint(struct proxy *p, const char **host, int *port);
/*
 * The request target for `origin` (path and query, malloc'd: taken over):
 * "http://authority" + origin to an http:// remote through the proxy, else
 * origin itself. NULL-safe (NULL p: origin); NULL on OOM.
 */
char	*proxy_request_target(const struct proxy *p, char *origin);
/* Proxy-Authorization on requests to an http:// remote through a proxy with credentials. 0 or -EINVAL. */
int	proxy_add_headers(const struct proxy *p, struct evkeyvalq *out);
/* The proxy itself refused an upload to an http:// remote (407): the remote never saw it. */
bool	proxy_refused(const struct proxy *p, int status);
/*
 * True when a tunnel failed at or after `since` (relay_now_ns()): the proxy
 * was down or refused the CONNECT, so an upload that started then and
 * failed without an answer never reached the remote. buf (may be NULL) gets
 * why, without secrets. evhttp does not say which of its connections a
 * tunnel served: when uploads fail together, each takes the latest tunnel
 * failure since it started as its own (the proxy failing is then the likely
 * cause of them all).
 */
bool	proxy_failed_since(const struct proxy *p, int64_t since, char *buf, size_t size);
/* " through the proxy http://host:port" for log lines, or "" (NULL p). */
const char *proxy_via(const struct proxy *p);

#endif
