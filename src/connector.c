/* connector.c -- new connections to the remote: the DNS client, the first hop's address, TLS, the proxy. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>

#include "connector.h"
#include "log.h"
#include "proxy.h"
#include "ratelog.h"
#include "resolver.h"
#include "tcp.h"
#include "tls.h"

#define RESPONSE_MAX_BODY	(1 << 20)
#define RESPONSE_MAX_HEADERS	(64 << 10)	/* a remote that streams headers is cut off */

struct connector {
	struct event_base		*base;		/* borrowed */
	const struct relay_settings	*cfg;		/* borrowed */
	struct timeval			 timeout;
	struct evdns_base		*dns;		/* owned */
	struct resolver			*resolver;	/* owned: the first hop's (remote's or proxy's) cached address */
	struct proxy			*proxy;		/* owned; NULL: the remote is reached directly */
	struct tls_client		*tls;		/* owned; NULL for http:// */
	struct event			*start;		/* owned: lookup_start() on the loop's first turn */
	struct ratelog			 tls_log;
};

static struct evdns_base *
dns_new(struct event_base *base)
{
	struct evdns_base *dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);

	if (dns == NULL) {
		log_warn("Cannot read /etc/resolv.conf; remote host names will not resolve, IP addresses still work");
		dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	}
	return dns;
}

/*
 * The DNS client and the first hop's lookup, after startup: reading
 * resolv.conf, seeding evdns and sending the queries would otherwise delay a
 * Lambda extension's registration. From the loop's first turn, or from the
 * first connection, whichever comes first.
 */
static void
lookup_start(struct connector *c)
{
	const struct relay_settings *cfg = c->cfg;

	if (c->dns != NULL)
		return;
	c->dns = dns_new(c->base);
	if (c->dns == NULL || cfg->unsendable != NULL)
		return;
	/* The first hop: through a proxy, the proxy resolves the remote's name. */
	if (cfg->proxy.host != NULL)
		c->resolver = resolver_new(c->dns, cfg->proxy.host, cfg->proxy.port);
	else
		c->resolver = resolver_new(c->dns, cfg->remote.host, cfg->remote.port);
	if (c->resolver != NULL && cfg->proxy.host != NULL)
		c->proxy = proxy_new(c->base, c->dns, c->resolver, cfg, &c->timeout);
}

static void
on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lookup_start(arg);
}

void
connector_warm(struct connector *c)
{
	char *err = NULL;

	lookup_start(c);
	if (c->tls == NULL)
		return;
	switch (tls_client_prepare(c->tls, &err)) {
	case 1:
		log_debug("Made the TLS context for %s ahead of the first upload", c->cfg->remote.host);
		break;
	case -1:
		free(err);	/* left to the first connection, which tries again and logs it */
		break;
	}
}

struct connector *
connector_new(struct event_base *base, const struct relay_settings *cfg, const struct timeval *timeout)
{
	struct connector *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->cfg = cfg;
	c->timeout = *timeout;
	c->start = event_new(base, -1, 0, on_start, c);
	if (c->start == NULL)
		goto fail;
	event_active(c->start, 0, 0);
	if (cfg->unsendable == NULL && cfg->remote.https) {
		/* The TLS context and the CA store come with connector_warm or the first connection. */
		c->tls = tls_client_new();
		if (c->tls == NULL)
			goto fail;
	}
	return c;
fail:
	connector_free(c);
	return NULL;
}

void
connector_free(struct connector *c)
{
	if (c == NULL)
		return;
	proxy_free(c->proxy);
	if (c->start != NULL)
		event_free(c->start);
	resolver_free(c->resolver);
	if (c->dns != NULL) {
		event_base_loop(c->base, EVLOOP_NONBLOCK);	/* a cancelled lookup's callback frees it */
		evdns_base_free(c->dns, 0);
	}
	tls_client_free(c->tls);
	free(c);
}

struct evhttp_connection *
connector_open(struct connector *c)
{
	const struct remote_url *r = &c->cfg->remote;
	struct evhttp_connection *conn;
	const char *addr;
	int port = r->port;

	lookup_start(c);
	if (c->cfg->proxy.host != NULL) {
		/* Never around the proxy: without it (out of memory), no connection. */
		if (c->proxy == NULL || proxy_endpoint(c->proxy, &addr, &port) < 0)
			return NULL;
	} else {
		addr = c->resolver != NULL ? resolver_address(c->resolver) : r->host;
	}
	if (c->tls != NULL) {
		char *err = NULL;
		SSL *ssl = tls_client_open(c->tls, r->host, &err);
		struct bufferevent *bev;

		if (ssl == NULL) {
			ratelog_log(&c->tls_log, LOG_ERROR, NULL, 0, "Cannot set up TLS: %s; the upload fails and is retried",
			    err ? err : "out of memory");
			free(err);
			return NULL;
		}
		bev = bufferevent_openssl_socket_new(c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL) {
			SSL_free(ssl);
			return NULL;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		conn = evhttp_connection_base_bufferevent_new(c->base, c->dns, bev, addr, (unsigned short)port);
		if (conn == NULL)
			bufferevent_free(bev);
	} else {
		conn = evhttp_connection_base_new(c->base, c->dns, addr, (unsigned short)port);
	}
	if (conn == NULL)
		return NULL;
	tcp_tune_bufferevent(evhttp_connection_get_bufferevent(conn));
	evhttp_connection_set_timeout_tv(conn, &c->timeout);
	evhttp_connection_set_max_body_size(conn, RESPONSE_MAX_BODY);
	evhttp_connection_set_max_headers_size(conn, RESPONSE_MAX_HEADERS);
	evhttp_connection_set_retries(conn, 0);
	return conn;
}

void
connector_forget(struct connector *c)
{
	if (c->resolver != NULL)
		resolver_forget(c->resolver);
}

const struct proxy *
connector_proxy(const struct connector *c)
{
	return c->proxy;
}

bool
connector_is_tls(const struct connector *c)
{
	return c->tls != NULL;
}

static const char *
request_error_name(int error)
{
	switch (error - 1) {
	case EVREQ_HTTP_TIMEOUT:	return "timed out";
	case EVREQ_HTTP_EOF:		return "connection closed by the remote";
	case EVREQ_HTTP_INVALID_HEADER:	return "invalid response from the remote";
	case EVREQ_HTTP_BUFFER_ERROR:	return "connection error";
	case EVREQ_HTTP_REQUEST_CANCEL:	return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:	return "response too large";
	}
	/* libevent reports a failed connect by calling back with no error type. */
	return "cannot connect";
}

void
connector_describe_failure(const struct connector *c, struct evhttp_connection *conn, int error,
    int64_t started, int saved_errno, char *buf, size_t size)
{
	int n = snprintf(buf, size, "failed to make request to %s%s: ", c->cfg->remote.display,
	    proxy_via(c->proxy));

	if (n < 0 || (size_t)n >= size)
		return;
	buf += n;
	size -= (size_t)n;
	if (proxy_failed_since(c->proxy, started, buf, size))
		return;
	if (c->tls != NULL && conn != NULL) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
		SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
		unsigned long err = bev ? bufferevent_get_openssl_error(bev) : 0;

		if (err != 0 || (ssl != NULL && SSL_get_verify_result(ssl) != X509_V_OK)) {
			tls_describe_error(ssl, err, buf, size);
			return;
		}
	}
	/* After a failed connect libevent has reset the socket: ENOTCONN says nothing. */
	if (saved_errno != 0 && saved_errno != ENOTCONN &&
	    (error == 0 || error - 1 == EVREQ_HTTP_BUFFER_ERROR))
		snprintf(buf, size, "%s: %s", request_error_name(error), strerror(saved_errno));
	else
		snprintf(buf, size, "%s", request_error_name(error));
}
