/* server.c -- the local evhttp listener: accept, run the chain, queue, answer at once. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * libevent rule: the request handed to on_request() is answered exactly once
 * (evhttp_send_reply/evhttp_send_error) before the callback returns; its body
 * is moved (not copied) into the relay request.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "admission.h"
#include "clientconn.h"
#include "hdr.h"
#include "log.h"
#include "ledger.h"
#include "metrics.h"
#include "server.h"
#include "strutil.h"
#include "tcp.h"

#define CLIENT_IDLE_TIMEOUT	60	/* seconds a client connection may stall */
#define PUSH_SUFFIX		"/push.v1.PusherService/Push"

struct server {
	struct event_base	*base;		/* borrowed */
	struct evhttp		*http;		/* owned */
	struct admission	*adm;		/* owned: connections and bytes all clients may hold */
	struct clients		*clients;	/* owned: the layer below evhttp */
	const struct relay_settings *cfg;	/* borrowed */
	struct chain		*chain;		/* borrowed */
	struct ledger		*ledger;	/* borrowed: where a request ends when it is not forwarded */
	struct upstream		*up;		/* borrowed */
	uint64_t		 next_id;
};

/* Split an origin-form or absolute-form request target into path and raw query. */
static int
split_target(const char *uri, char **ret_path, char **ret_query)
{
	const char *p = uri, *q, *end;

	if (strncasecmp(p, "http://", 7) == 0 || strncasecmp(p, "https://", 8) == 0) {
		p = strstr(p, "//") + 2;
		p += strcspn(p, "/?");
	}
	if (*p != '/' && *p != '?' && *p != '\0')
		return -EINVAL;
	for (q = uri; *q != '\0'; q++)	/* no controls, spaces or DEL: nothing to smuggle upstream */
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return -EINVAL;
	end = p + strcspn(p, "#");	/* a fragment is never part of a request */
	q = memchr(p, '?', (size_t)(end - p));
	*ret_path = (*p == '/') ? strndup(p, (size_t)((q ? q : end) - p)) : strdup("/");
	*ret_query = (q != NULL && q + 1 < end) ? strndup(q + 1, (size_t)(end - q - 1)) : NULL;
	if (*ret_path == NULL || (q != NULL && q + 1 < end && *ret_query == NULL)) {
		free(*ret_path);
		free(*ret_query);
		return -ENOMEM;
	}
	return 0;
}

static bool
is_push(const char *path)
{
	size_t n = strlen(path), m = sizeof(PUSH_SUFFIX) - 1;

	return n >= m && strcmp(path + n - m, PUSH_SUFFIX) == 0;
}

/*
 * What the SDK is told once its upload is queued, decided before the request
 * is handed over. Push clients (Connect) need 200 with their own Content-Type
 * and an empty message; /ingest clients get an empty 200.
 */
struct reply {
	char	ctype[256];	/* the client's Content-Type, copied; "" when none is echoed */
	bool	json;
};

static struct reply
reply_for(struct evhttp_request *req, const char *path)
{
	struct reply r = { "", false };
	const char *ctype;

	if (is_push(path) && (ctype = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type")) != NULL && strlen(ctype) < sizeof(r.ctype)) {
		memcpy(r.ctype, ctype, strlen(ctype) + 1);
		r.json = strstr(ctype, "json") != NULL;
	}
	return r;
}

static void
reply_accepted(struct evhttp_request *req, const struct reply *r)
{
	struct evbuffer *body = NULL;

	if (r->ctype[0] != '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", r->ctype);
		body = evbuffer_new();
		if (body != NULL && r->json)
			evbuffer_add(body, "{}", 2);
	}
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	if (body != NULL)
		evbuffer_free(body);
}

/*
 * The client's end-to-end headers, moved into rr: those of the head only
 * (trailer fields are never forwarded), not those any Connection header
 * names (hop-by-hop).
 */
static int
take_headers(struct relay_req *rr, struct evhttp_request *req, size_t nfields)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct hdr_names hop = { 0 };
	const struct evkeyval *h;
	size_t i = 0;
	int rc = 0;

	TAILQ_FOREACH(h, in, next) {
		if (i++ == nfields)
			break;
		if (ascii_case_equal(h->key, strlen(h->key), "connection") && (rc = hdr_names_add(&hop, h->value)) < 0)
			break;
	}
	if (rc == 0)
		rc = relay_req_take_client_headers(rr, in, nfields, &hop);
	hdr_names_clear(&hop);
	return rc;
}

/*
 * The relay's own endpoints, answered here and never relayed: GET or HEAD of
 * /metrics (Prometheus text) and /health (200 "ok", or 503 with the reason
 * when the configuration makes sending impossible). Returns true if handled.
 */
static bool
serve_local(struct server *srv, struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	struct evbuffer *body;
	int code = HTTP_OK;

	if ((m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) ||
	    (strcmp(path, "/metrics") != 0 && strcmp(path, "/health") != 0))
		return false;
	body = evbuffer_new();
	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return true;
	}
	if (strcmp(path, "/metrics") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		if (metrics_render(&srv->ledger->stats, body) < 0)
			code = HTTP_INTERNAL;
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
		if (srv->cfg->unsendable != NULL) {
			code = HTTP_SERVUNAVAIL;
			evbuffer_add_printf(body, "cannot send: %s\n", srv->cfg->unsendable);
		} else {
			evbuffer_add_printf(body, "ok\n");
		}
	}
	evhttp_send_reply(req, code, code == HTTP_OK ? "OK" : NULL, body);
	evbuffer_free(body);
	return true;
}

/*
 * Every profile's way in: counted as received, run through the chain, queued
 * on `up`. 0; -EIO when a module failed (dropped as internal); -E2BIG when it
 * can never fit in the queue (dropped as too large).
 */
static int
submit(struct server *srv, struct upstream *up, struct relay_req *rr)
{
	ledger_received(srv->ledger, rr);
	if (chain_run(srv->chain, rr) != RELAY_NEXT) {
		ledger_finish(srv->ledger, rr, RELAY_DROPPED_INTERNAL);
		return -EIO;
	}
	return upstream_submit(up, rr);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct relay_req *rr;
	struct reply reply;
	char *path = NULL, *query = NULL;
	size_t nfields;
	int rc;

	/* Once per request, first: the connection layer framed it and counted its head fields. */
	nfields = clients_head_fields(srv->clients, evhttp_connection_get_bufferevent(evhttp_request_get_connection(req)));
	rc = split_target(evhttp_request_get_uri(req), &path, &query);
	if (rc < 0) {
		evhttp_send_error(req, rc == -ENOMEM ? HTTP_INTERNAL : HTTP_BADREQUEST, NULL);
		return;
	}
	if (serve_local(srv, req, path)) {
		free(path);
		free(query);
		return;
	}
	rr = relay_req_new(++srv->next_id, evhttp_request_get_command(req));
	if (rr == NULL) {
		free(path);
		free(query);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	rr->path = path;
	rr->query = query;
	reply = reply_for(req, rr->path);	/* before the headers move: it reads the client's Content-Type */
	if ((rc = take_headers(rr, req, nfields)) < 0) {	/* malformed: refused, never accepted */
		relay_req_free(rr);
		evhttp_send_error(req, rc == -ENOMEM ? HTTP_INTERNAL : HTTP_BADREQUEST, NULL);
		return;
	}
	evbuffer_add_buffer(rr->body, evhttp_request_get_input_buffer(req));
	rr->body_len = evbuffer_get_length(rr->body);
	rc = submit(srv, srv->up, rr);	/* rr belongs to the ledger or the forwarder from here on */
	if (rc == -EIO)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (rc == -E2BIG)
		evhttp_send_error(req, 413, NULL);
	else
		reply_accepted(req, &reply);
}

int
server_submit_own(struct server *srv, struct upstream *up, struct relay_req *rr)
{
	rr->id = ++srv->next_id;
	return submit(srv, up != NULL ? up : srv->up, rr);
}

static void
log_bound(int fd, const char *host)
{
	int port = tcp_local_port(fd);

	if (strchr(host, ':') != NULL)
		log_info("Serving on [%s]:%d", host, port);
	else
		log_info("Serving on %s:%d", host, port);
}

void
server_listeners_init(struct server_listeners *ls)
{
	for (size_t i = 0; i < SETTINGS_MAX_LISTEN; i++)
		ls->fd[i] = -1;
}

void
server_listen_early(const struct relay_settings *cfg, struct server_listeners *ls)
{
	for (size_t i = 0; i < SETTINGS_MAX_LISTEN; i++)
		ls->fd[i] = i < cfg->nlisten ? tcp_listen(cfg->listen[i].host, cfg->listen[i].port) : -1;
}

void
server_listeners_close(struct server_listeners *ls)
{
	for (size_t i = 0; i < SETTINGS_MAX_LISTEN; i++) {
		if (ls->fd[i] >= 0)
			close(ls->fd[i]);
		ls->fd[i] = -1;
	}
}

/*
 * A listening socket for la: *early when it was opened ahead (taken over),
 * else one opened here. An IP literal is bound directly: evhttp's own path
 * resolves it with getaddrinfo and probes the interfaces first, which a
 * Lambda extension's start has no time for. A name goes through evhttp.
 */
static struct evhttp_bound_socket *
bind_listener(struct evhttp *http, const struct listen_addr *la, int *early)
{
	struct evhttp_bound_socket *bs;
	int fd = *early, serr;

	*early = -1;
	if (fd < 0 && ip_literal_family(la->host, strlen(la->host)) == 0)
		return evhttp_bind_socket_with_handle(http, la->host, (ev_uint16_t)la->port);
	if (fd < 0 && (fd = tcp_listen(la->host, la->port)) < 0)
		return NULL;
	if ((bs = evhttp_accept_socket_with_handle(http, fd)) == NULL) {
		serr = errno;
		close(fd);
		errno = serr;
	}
	return bs;
}

struct server *
server_new(struct event_base *base, const struct relay_settings *cfg, struct server_listeners *early,
    struct chain *chain, struct ledger *ledger, struct upstream *up, int *ret_bound)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct server_listeners none;
	int bound = 0;

	if (early == NULL) {
		server_listeners_init(&none);
		early = &none;
	}
	if (srv == NULL) {
		server_listeners_close(early);
		return NULL;
	}
	srv->base = base;
	srv->http = evhttp_new(base);
	srv->adm = admission_new(base, cfg);
	srv->clients = srv->adm != NULL ? clients_new(cfg, srv->adm) : NULL;
	if (srv->http == NULL || srv->clients == NULL) {
		server_listeners_close(early);
		server_free(srv);
		return NULL;
	}
	evhttp_set_bevcb(srv->http, clients_bevcb, srv->clients);
	srv->cfg = cfg;
	srv->chain = chain;
	srv->ledger = ledger;
	srv->up = up;
	evhttp_set_gencb(srv->http, on_request, srv);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(srv->http, CLIENT_IDLE_TIMEOUT);
	evhttp_set_default_content_type(srv->http, NULL);
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct listen_addr *la = &cfg->listen[i];
		struct evhttp_bound_socket *bs;

		bs = bind_listener(srv->http, la, &early->fd[i]);
		if (bs == NULL) {
			log_error("Cannot listen on %s port %d: %s; continuing without this address",
			    la->host, la->port, strerror(errno));
			continue;
		}
		/* Accepted connections inherit it: an answer never waits for a delayed ACK. */
		(void)tcp_nodelay(evhttp_bound_socket_get_fd(bs));
		if (admission_add_listener(srv->adm, evhttp_bound_socket_get_listener(bs)) < 0)
			log_warn("More than 16 listen addresses: the connection cap is not applied to %s port %d",
			    la->host, la->port);
		log_bound(evhttp_bound_socket_get_fd(bs), la->host);
		bound++;
	}
	if (bound > 0)
		log_debug("At most %llu client connections at once", (unsigned long long)admission_max_connections(srv->adm));
	*ret_bound = bound;
	return srv;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->http != NULL) {
		evhttp_free(srv->http);
		/* Connections end in callbacks the loop runs (their finalizers use the admission). */
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
	}
	clients_free(srv->clients);
	admission_free(srv->adm);
	free(srv);
}
