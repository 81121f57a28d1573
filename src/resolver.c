/* resolver.c -- the remote's address, resolved ahead of the first upload and cached. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "log.h"
#include "resolver.h"
#include "strutil.h"

#define FRESH_SECONDS 300

struct resolver {
	struct evdns_base			*dns;		/* borrowed */
	char					*host;		/* owned */
	char					 port[8];
	char					 addr[INET6_ADDRSTRLEN];	/* "" when none */
	time_t					 resolved_at;
	bool					 literal;
	bool					 dying;		/* freed by the pending lookup's callback */
	struct evdns_getaddrinfo_request	*pending;	/* owned by evdns until its callback */
};

static void lookup(struct resolver *r);

static void
on_resolved(int err, struct evutil_addrinfo *res, void *arg)
{
	struct resolver *r = arg;
	const void *a = NULL;

	r->pending = NULL;
	if (r->dying) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(r->host);
		free(r);
		return;
	}
	if (err == EVUTIL_EAI_CANCEL)
		return;
	if (err == 0 && res != NULL) {
		if (res->ai_family == AF_INET)
			a = &((struct sockaddr_in *)res->ai_addr)->sin_addr;
		else if (res->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
		if (a != NULL && inet_ntop(res->ai_family, a, r->addr, sizeof(r->addr)) != NULL) {
			r->resolved_at = time(NULL);
			log_debug("Resolved %s to %s", r->host, r->addr);
		}
	} else {
		log_debug("Cannot resolve the remote %s yet (%s); uploads will resolve it themselves",
		    r->host, evutil_gai_strerror(err));
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

static void
lookup(struct resolver *r)
{
	struct evutil_addrinfo hints;

	if (r->literal || r->pending != NULL || r->dns == NULL)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* The callback may run before this returns (cached or /etc/hosts answers). */
	r->pending = evdns_getaddrinfo(r->dns, r->host, r->port, &hints, on_resolved, r);
}

struct resolver *
resolver_new(struct evdns_base *dns, const char *host, int port)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->host = strdup(host)) == NULL) {
		free(r);
		return NULL;
	}
	r->dns = dns;
	snprintf(r->port, sizeof(r->port), "%d", port);
	r->literal = ip_literal_family(host, strlen(host)) != 0;
	lookup(r);
	return r;
}

const char *
resolver_address(struct resolver *r)
{
	if (r->literal)
		return r->host;
	if (r->addr[0] != '\0' && time(NULL) - r->resolved_at < FRESH_SECONDS)
		return r->addr;
	r->addr[0] = '\0';
	lookup(r);
	return r->host;
}

void
resolver_forget(struct resolver *r)
{
	if (r->literal || r->addr[0] == '\0')
		return;
	r->addr[0] = '\0';
	lookup(r);
}

void
resolver_free(struct resolver *r)
{
	if (r == NULL)
		return;
	if (r->pending != NULL) {
		/* evdns calls back (EVUTIL_EAI_CANCEL) from the loop: the callback frees r. */
		r->dying = true;
		evdns_getaddrinfo_cancel(r->pending);
		return;
	}
	free(r->host);
	free(r);
}
