/* test_resolver.c -- the remote's cached address: IP literals, /etc/hosts, and an in-process DNS server on loopback. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/util.h>

#include "resolver.h"
#include "strutil.h"
#include "loopback.h"
#include "tap.h"

#define HELD_MAX 8

/* A DNS server on 127.0.0.1:0: A records 10.1.2.<n> for names ending in ".test", n counting answers. */
struct dns_server {
	struct evdns_server_port	*port;
	char				 addr[32];	/* "127.0.0.1:<port>" */
	int				 a_queries;	/* questions of type A seen */
	int				 answers;	/* A records given */
	bool				 silent;	/* hold every query unanswered */
	struct evdns_server_request	*held[HELD_MAX];
	int				 nheld;
};

static void
on_query(struct evdns_server_request *req, void *arg)
{
	struct dns_server *d = arg;
	int err = 0;

	for (int i = 0; i < req->nquestions; i++) {
		const struct evdns_server_question *q = req->questions[i];

		if (q->type == EVDNS_TYPE_A)
			d->a_queries++;
	}
	if (d->silent && d->nheld < HELD_MAX) {
		d->held[d->nheld++] = req;
		return;
	}
	for (int i = 0; i < req->nquestions; i++) {
		const struct evdns_server_question *q = req->questions[i];
		size_t n = strlen(q->name);

		/* evdns randomises the letter case of the names it asks for */
		if (strncasecmp(q->name, "nx.", 3) == 0 || n < 5 || strcasecmp(q->name + n - 5, ".test") != 0) {
			err = DNS_ERR_NOTEXIST;
		} else if (q->type == EVDNS_TYPE_A) {
			struct in_addr a;

			a.s_addr = htonl(0x0a010200u | (uint32_t)(++d->answers & 0xff));
			evdns_server_request_add_a_reply(req, q->name, 1, &a, 60);
		}
	}
	evdns_server_request_respond(req, err);
}

static int
dns_start(struct dns_server *d, struct event_base *base)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	evutil_socket_t fd = socket(AF_INET, SOCK_DGRAM, 0);
	int port;

	memset(d, 0, sizeof(*d));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    evutil_make_socket_nonblocking(fd) < 0 || (port = lb_sock_port(fd)) <= 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(d->addr, sizeof(d->addr), "127.0.0.1:%d", port);
	d->port = evdns_add_server_port_with_base(base, fd, 0, on_query, d);
	if (d->port == NULL) {
		close(fd);
		return -1;
	}
	return 0;
}

static void
dns_stop(struct dns_server *d)
{
	for (int i = 0; i < d->nheld; i++)
		evdns_server_request_drop(d->held[i]);
	d->nheld = 0;
	evdns_close_server_port(d->port);	/* closes the socket */
}

/* A resolver that asks only our DNS server. */
static struct evdns_base *
dns_client(struct event_base *base, const struct dns_server *d)
{
	struct evdns_base *dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);

	if (dns == NULL || evdns_base_nameserver_ip_add(dns, d->addr) != 0) {
		printf("Bail out! cannot configure evdns\n");
		exit(1);
	}
	return dns;
}

struct watch {
	struct resolver	*r;
	const char	*host;
};

/* The resolver gives something other than the name: its lookup succeeded. */
static bool
resolved(void *arg)
{
	const struct watch *w = arg;

	return strcmp(resolver_address(w->r), w->host) != 0;
}

static void
test_literals(void)
{
	struct resolver *r;

	r = resolver_new(NULL, "192.0.2.7", 443);
	is_str(resolver_address(r), "192.0.2.7", "an IPv4 literal is used as is");
	resolver_forget(r);
	is_str(resolver_address(r), "192.0.2.7", "and stays after resolver_forget");
	resolver_free(r);
	r = resolver_new(NULL, "::1", 443);
	is_str(resolver_address(r), "::1", "an IPv6 literal is used as is");
	resolver_free(r);
	resolver_free(NULL);
}

static void
test_hosts(void)
{
	struct event_base *base = event_base_new();
	/* As the forwarder builds it: /etc/resolv.conf and /etc/hosts. */
	struct evdns_base *dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	struct resolver *r;
	struct watch w;
	const char *a;

	if (dns == NULL) {	/* no /etc/resolv.conf: the hosts file alone */
		dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		evdns_base_load_hosts(dns, NULL);
	}
	r = resolver_new(dns, "localhost", 4040);
	w = (struct watch){ r, "localhost" };
	ok(lb_wait(base, resolved, &w, 2000, NULL), "localhost resolves");
	a = resolver_address(r);
	ok(strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0, "to a loopback address from /etc/hosts");
	ok(ip_literal_family(a, strlen(a)) != 0, "an IP literal, ready to connect to");
	resolver_free(r);
	evdns_base_free(dns, 0);
	event_base_free(base);
}

static void
test_lookups(void)
{
	struct event_base *base = event_base_new();
	struct dns_server d;
	struct evdns_base *dns;
	struct resolver *r;
	struct watch w;

	if (base == NULL || dns_start(&d, base) < 0) {
		printf("Bail out! cannot start a DNS server on loopback\n");
		exit(1);
	}
	dns = dns_client(base, &d);

	r = resolver_new(dns, "remote.test", 443);
	is_str(resolver_address(r), "remote.test", "while the first lookup runs: the name");
	w = (struct watch){ r, "remote.test" };
	ok(lb_wait(base, resolved, &w, LB_LIMIT_MS, NULL), "the lookup ends");
	is_str(resolver_address(r), "10.1.2.1", "then the address is used");
	is_int(d.a_queries, 1, "one query");
	lb_run_for(base, 50);
	is_str(resolver_address(r), "10.1.2.1", "cached");
	is_int(d.a_queries, 1, "no new query while fresh");

	resolver_forget(r);
	is_str(resolver_address(r), "remote.test", "resolver_forget: the name again");
	ok(lb_wait(base, resolved, &w, LB_LIMIT_MS, NULL), "a new lookup ends");
	is_int(d.a_queries, 2, "it was a new query");
	is_str(resolver_address(r), "10.1.2.2", "its answer is used");

	resolver_free(r);	/* resolved and cached: no lookup pending */

	r = resolver_new(dns, "nx.test", 443);
	ok(lb_wait_count(base, &d.a_queries, 3, NULL), "a name that does not exist is looked up");
	lb_run_for(base, 100);
	is_str(resolver_address(r), "nx.test", "and falls back to the name");
	ok(lb_wait_count(base, &d.a_queries, 4, NULL), "asking again started a new lookup");
	lb_run_for(base, 100);
	is_str(resolver_address(r), "nx.test", "still the name");
	ok(lb_wait_count(base, &d.a_queries, 5, NULL), "and asking starts a lookup again");
	lb_run_for(base, 100);
	resolver_free(r);	/* its lookups all answered */
	evdns_base_free(dns, 0);
	dns_stop(&d);
	event_base_free(base);
}

/*
 * Freed with its lookup unanswered, as at shutdown: the forwarder then frees
 * evdns and the loop never runs again. The sanitizer and valgrind builds
 * check that nothing freed is touched and nothing leaks.
 */
static void
test_free_pending(void)
{
	struct event_base *base = event_base_new();
	struct dns_server d;
	struct evdns_base *dns;
	struct resolver *r;

	if (base == NULL || dns_start(&d, base) < 0) {
		printf("Bail out! cannot start a DNS server on loopback\n");
		exit(1);
	}
	d.silent = true;
	dns = dns_client(base, &d);
	r = resolver_new(dns, "slow.test", 443);
	ok(lb_wait_count(base, &d.a_queries, 1, NULL), "a lookup the server never answers");
	is_str(resolver_address(r), "slow.test", "the name meanwhile");
	resolver_free(r);
	event_base_loop(base, EVLOOP_NONBLOCK);	/* as upstream_free does: the cancel frees it */
	evdns_base_free(dns, 0);
	dns_stop(&d);
	event_base_free(base);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);	/* the TAP lines survive an abort at exit (LeakSanitizer) */
	test_literals();
	test_hosts();
	test_lookups();
	test_free_pending();
	return done_testing();
}
