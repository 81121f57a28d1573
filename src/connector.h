/* connector.h -- new connections to the remote: the DNS client, the first hop's address, TLS, the proxy. */
#ifndef RELAY_CONNECTOR_H
#define RELAY_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "settings.h"

struct connector;
struct event_base;
struct evhttp_connection;
struct proxy;

/*
 * Connections to cfg->remote, each bounded by `timeout`. Nothing is read,
 * looked up or made at startup: the DNS client and the lookup of the first
 * hop (the remote, or the proxy) start on the loop's first turn; the TLS
 * context (and the CA bundle's index) with connector_warm, or at the first TLS
 * connection if that comes first. NULL when out of memory.
 */
struct connector *connector_new(struct event_base *base, const struct relay_settings *cfg,
	    const struct timeval *timeout);
/*
 * Everything the first connection needs but the connection itself, made now:
 * the lookup, the TLS context, the CA bundle's index (in the background). For
 * when the relay is up and its start-up work is done, so that the first
 * upload does not pay for it. Failures are left to the first connection.
 */
void	connector_warm(struct connector *c);
/* Free c; every connection it made must be freed before. NULL-safe. */
void	connector_free(struct connector *c);
/*
 * A new evhttp connection to the remote, or through the proxy; NULL when it
 * cannot be made (TLS set-up errors are logged, at most once a second).
 */
struct evhttp_connection *connector_open(struct connector *c);
/* A connection failed without an answer: the address may have moved; look it up again. */
void	connector_forget(struct connector *c);
/* The proxy on the way to the remote, or NULL (the proxy helpers take NULL). */
const struct proxy *connector_proxy(const struct connector *c);
/* A TLS remote: the connections are TLS bufferevents. */
bool	connector_is_tls(const struct connector *c);
/*
 * Why an upload started at `started` (relay_now_ns()) on conn (may be NULL)
 * got no HTTP answer, without secrets: evhttp's error (evhttp_request_error
 * + 1, or 0), the errno seen then, the proxy's or TLS's own failure.
 */
void	connector_describe_failure(const struct connector *c, struct evhttp_connection *conn, int error,
	    int64_t started, int saved_errno, char *buf, size_t size);

#endif
