/* proxy.c -- the forwarder through an HTTP proxy: where to connect, the request target, Proxy-Authorization. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/http.h>

#include "proxy.h"
#include "resolver.h"
#include "strutil.h"
#include "tunnel.h"

struct proxy {
	const struct relay_settings	*cfg;		/* borrowed */
	struct resolver			*resolver;	/* borrowed: the proxy's address */
	struct tunnel			*tunnel;	/* owned: https:// remotes; NULL for http:// */
	char				*via;		/* owned: " through the proxy http://host:port" */
};

struct proxy *
proxy_new(struct event_base *base, struct evdns_base *dns, struct resolver *resolver,
    const struct relay_settings *cfg, const struct timeval *timeout)
{
	const struct remote_url *r = &cfg->remote;
	struct proxy *p;
	char *target = NULL;

	if (cfg->proxy.host == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->cfg = cfg;
	p->resolver = resolver;
	if (asprintf(&p->via, " through the proxy %s", cfg->proxy.display) < 0) {
		p->via = NULL;
		goto fail;
	}
	if (r->https) {
		bool v6 = ip_literal_family(r->host, strlen(r->host)) == AF_INET6;
		/*
		 * A backstop: the upload's own timer (the same timeout) ends a
		 * tunnel the proxy never answers, as it ends an upload to a
		 * remote that never answers.
		 */
		struct timeval backstop = { .tv_sec = timeout->tv_sec * 2 + timeout->tv_usec * 2 / 1000000,
			.tv_usec = timeout->tv_usec * 2 % 1000000 };

		if (asprintf(&target, v6 ? "[%s]:%d" : "%s:%d", r->host, r->port) < 0) {
			target = NULL;
			goto fail;
		}
		p->tunnel = tunnel_new(base, dns, resolver, &(struct tunnel_params){
			.target = target,
			.proxy_display = cfg->proxy.display,
			.proxy_port = cfg->proxy.port,
			.authorization = cfg->proxy.authorization,
			.timeout = backstop,
		});
		free(target);
		if (p->tunnel == NULL)
			goto fail;
	}
	return p;
fail:
	proxy_free(p);
	return NULL;
}

void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	tunnel_free(p->tunnel);
	free(p->via);
	free(p);
}

int
proxy_endpoint(struct proxy *p, const char **host, int *port)
{
	if (p->tunnel != NULL) {
		*host = "127.0.0.1";
		*port = tunnel_port(p->tunnel);
		return *port > 0 ? 0 : -1;
	}
	*host = resolver_address(p->resolver);
	*port = p->cfg->proxy.port;
	return 0;
}

char *
proxy_request_target(const struct proxy *p, char *origin)
{
	char *uri = NULL;

	if (p == NULL || p->tunnel != NULL || origin == NULL)
		return origin;
	if (asprintf(&uri, "http://%s%s", p->cfg->remote.authority, origin) < 0)
		uri = NULL;
	free(origin);
	return uri;
}

int
proxy_add_headers(const struct proxy *p, struct evkeyvalq *out)
{
	if (p == NULL || p->tunnel != NULL || p->cfg->proxy.authorization == NULL)
		return 0;
	return evhttp_add_header(out, "Proxy-Authorization", p->cfg->proxy.authorization) < 0 ? -EINVAL : 0;
}

bool
proxy_refused(const struct proxy *p, int status)
{
	return p != NULL && p->tunnel == NULL && status == 407;
}

bool
proxy_failed_since(const struct proxy *p, int64_t since, char *buf, size_t size)
{
	return p != NULL && tunnel_failed_since(p->tunnel, since, buf, size);
}

const char *
proxy_via(const struct proxy *p)
{
	return p != NULL ? p->via : "";
}
