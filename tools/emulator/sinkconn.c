/* sinkconn.c -- the sink's connections: first bytes of requests, wire bytes, TLS handshakes, stats. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include "sinkconn.h"

struct sink_conn {
	TAILQ_ENTRY(sink_conn) link;
	struct sink_conns *table;
	struct bufferevent *bev;	/* borrowed: evhttp owns it */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	unsigned long	 id;
	unsigned long	 requests;
	double		 first_byte;	/* epoch ms of the pending request's first byte; 0: none */
	unsigned long long plain_in, plain_out;	/* HTTP bytes (decrypted under TLS) */
	int		 closing_watched;	/* the close callback is set */
	int		 hs_resumed;	/* the handshake, seen at the first request: -1 none yet, 0 full, 1 resumed */
	int		 hs_version;	/* SSL_version() then */
};

/* Totals over closed connections. */
struct totals {
	unsigned long	 connections, requests;
	unsigned long	 no_request;	/* closed before any request: no figures */
	unsigned long	 tls_full, tls_resumed, tls_failed;	/* handshakes */
	unsigned long	 tls12, tls13;
	unsigned long long bytes_read, bytes_written;	/* on the wire */
};

struct sink_conns {
	TAILQ_HEAD(conn_list, sink_conn) open;	/* newest first */
	SSL_CTX		*ctx;		/* borrowed; NULL: plain */
	const char	*stats_file;	/* borrowed */
	int		 quiet;
	unsigned long	 next_id;
	struct totals	 tot;
};

double
sconn_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static SSL *
conn_ssl(const struct sink_conn *c)
{
	return c->table->ctx != NULL ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

/* Bytes on the wire: the socket BIO's counters under TLS, the HTTP bytes otherwise. */
static void
wire_bytes(const struct sink_conn *c, unsigned long long *in, unsigned long long *out)
{
	SSL *ssl = conn_ssl(c);
	BIO *rb = ssl != NULL ? SSL_get_rbio(ssl) : NULL, *wb = ssl != NULL ? SSL_get_wbio(ssl) : NULL;

	*in = rb != NULL ? (unsigned long long)BIO_number_read(rb) : c->plain_in;
	*out = wb != NULL ? (unsigned long long)BIO_number_written(wb) : c->plain_out;
}

static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct sink_conn *c = arg;

	(void)buf;
	if (info->n_added == 0)
		return;
	c->plain_in += info->n_added;
	if (c->first_byte == 0)
		c->first_byte = sconn_now_ms();
}

static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct sink_conn *c = arg;

	(void)buf;
	c->plain_out += info->n_deleted;
}

static int
write_stats(const struct sink_conns *t)
{
	const struct totals *s = &t->tot;
	char tmp[4096], text[1024];
	int n, fd, rc = 0;
	size_t len;

	if (t->stats_file == NULL)
		return 0;
	n = snprintf(text, sizeof(text), "{\"connections\":%lu,\"requests\":%lu,"
	    "\"tls_handshakes\":%lu,\"tls_full\":%lu,\"tls_resumed\":%lu,\"tls_failed\":%lu,"
	    "\"tls12\":%lu,\"tls13\":%lu,\"bytes_read\":%llu,\"bytes_written\":%llu,"
	    "\"connections_without_requests\":%lu}\n", s->connections, s->requests,
	    s->tls_full + s->tls_resumed, s->tls_full, s->tls_resumed, s->tls_failed,
	    s->tls12, s->tls13, s->bytes_read, s->bytes_written, s->no_request);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	len = (size_t)n;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", t->stats_file);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, t->stats_file) != 0)
		rc = -1;
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

/* Counts c in the totals, prints its line, forgets it. */
static void
finish(struct sink_conn *c)
{
	struct sink_conns *t = c->table;
	SSL *ssl = conn_ssl(c);
	const char *hs = "none", *ver = "-";
	unsigned long long in, out;

	wire_bytes(c, &in, &out);
	t->tot.connections++;
	t->tot.requests += c->requests;
	t->tot.bytes_read += in;
	t->tot.bytes_written += out;
	if (ssl != NULL) {
		int resumed = c->hs_resumed, version = c->hs_version;

		ver = SSL_get_version(ssl);
		if (resumed < 0 && SSL_is_init_finished(ssl)) {
			resumed = SSL_session_reused(ssl) ? 1 : 0;
			version = SSL_version(ssl);
		}
		if (resumed < 0) {
			hs = "failed";
			t->tot.tls_failed++;
		} else if (resumed) {
			hs = "resumed";
			t->tot.tls_resumed++;
		} else {
			hs = "full";
			t->tot.tls_full++;
		}
		if (resumed >= 0 && version == TLS1_3_VERSION)
			t->tot.tls13++;
		else if (resumed >= 0 && version == TLS1_2_VERSION)
			t->tot.tls12++;
	}
	if (!t->quiet) {
		printf("sink: conn %lu closed: requests=%lu tls=%s handshake=%s bytes_read=%llu "
		    "bytes_written=%llu\n", c->id, c->requests, ssl != NULL ? ver : "no", hs, in, out);
		if (fflush(stdout) != 0)
			clearerr(stdout);
	}
	if (c->in_cb != NULL)
		(void)evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb != NULL)
		(void)evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	TAILQ_REMOVE(&t->open, c, link);
	free(c);
	if (write_stats(t) != 0)
		fprintf(stderr, "sink: cannot write %s: %s\n", t->stats_file, strerror(errno));
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	finish(arg);
}

struct bufferevent *
sconns_make_bev(struct event_base *base, void *arg)
{
	struct sink_conns *t = arg;
	struct bufferevent *bev;
	struct sink_conn *c, *old;

	if (t->ctx != NULL) {
		SSL *ssl = SSL_new(t->ctx);
		if (ssl == NULL) {
			fprintf(stderr, "sink: SSL_new failed\n");
			return NULL;
		}
		/* With BEV_OPT_CLOSE_ON_FREE the bufferevent owns ssl, even when creation fails. */
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (bev == NULL) {
		fprintf(stderr, "sink: cannot create a bufferevent\n");
		return NULL;
	}
	/*
	 * A connection closed before any request never got a close callback: its
	 * record is stale once its bufferevent's address comes back.
	 */
	TAILQ_FOREACH(old, &t->open, link) {
		if (old->bev == bev && !old->closing_watched) {
			/* Its bufferevent is gone: counted, its figures are lost. */
			TAILQ_REMOVE(&t->open, old, link);
			t->tot.connections++;
			t->tot.no_request++;
			free(old);
			break;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return bev;	/* served all the same, without figures */
	c->table = t;
	c->bev = bev;
	c->hs_resumed = -1;
	c->id = ++t->next_id;
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
	TAILQ_INSERT_HEAD(&t->open, c, link);
	return bev;
}

struct sink_conn *
sconns_of_request(struct sink_conns *t, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct sink_conn *c;

	if (bev == NULL)
		return NULL;
	TAILQ_FOREACH(c, &t->open, link) {
		if (c->bev != bev)
			continue;
		if (!c->closing_watched) {
			evhttp_connection_set_closecb(evcon, on_close, c);
			c->closing_watched = 1;
		}
		c->requests++;
		if (c->hs_resumed < 0 && conn_ssl(c) != NULL && SSL_is_init_finished(conn_ssl(c))) {
			/* Seen now: an unclean close later leaves the SSL object in an error state. */
			c->hs_resumed = SSL_session_reused(conn_ssl(c)) ? 1 : 0;
			c->hs_version = SSL_version(conn_ssl(c));
		}
		return c;
	}
	return NULL;
}

double
sconn_take_first_byte(struct sink_conn *c)
{
	double t = c->first_byte;

	c->first_byte = 0;
	return t;
}

unsigned long
sconn_requests(const struct sink_conn *c)
{
	return c->requests;
}

unsigned long
sconn_id(const struct sink_conn *c)
{
	return c->id;
}

int
sconn_setup_round_trips(const struct sink_conn *c)
{
	SSL *ssl = conn_ssl(c);

	if (c->requests > 1)
		return 0;
	if (ssl == NULL)
		return 1;
	/* A full TLS 1.2 handshake takes two round trips; TLS 1.3 and resumptions one. */
	return 1 + (SSL_version(ssl) == TLS1_2_VERSION && !SSL_session_reused(ssl) ? 2 : 1);
}

struct sink_conns *
sconns_new(SSL_CTX *ctx, const char *stats_file, int quiet)
{
	struct sink_conns *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	TAILQ_INIT(&t->open);
	t->ctx = ctx;
	t->stats_file = stats_file;
	t->quiet = quiet;
	return t;
}

void
sconns_free(struct sink_conns *t)
{
	struct sink_conn *c;

	if (t == NULL)
		return;
	/*
	 * Called after evhttp_free: those with a close callback were finished as
	 * evhttp freed them; the others never had a request (no figures).
	 */
	while ((c = TAILQ_FIRST(&t->open)) != NULL) {
		TAILQ_REMOVE(&t->open, c, link);
		free(c);
	}
	if (write_stats(t) != 0)
		fprintf(stderr, "sink: cannot write %s: %s\n", t->stats_file, strerror(errno));
	free(t);
}
