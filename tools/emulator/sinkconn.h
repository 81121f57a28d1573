/* sinkconn.h -- the sink's connections: first bytes of requests, wire bytes, TLS handshakes, stats. */
#ifndef SINK_CONN_H
#define SINK_CONN_H

#include <openssl/ssl.h>

struct bufferevent;
struct event_base;
struct evhttp_request;
struct sink_conns;
struct sink_conn;

/*
 * The connection table. ctx: the TLS server context (NULL: plain HTTP).
 * stats_file (may be NULL) is rewritten as JSON each time a connection closes
 * and at sconns_free. quiet: no line per closed connection on stdout. NULL on OOM.
 */
struct sink_conns *sconns_new(SSL_CTX *ctx, const char *stats_file, int quiet);
/* After evhttp_free: writes the stats file, frees the table. */
void	sconns_free(struct sink_conns *t);
/* evhttp's bufferevent callback (evhttp_set_bevcb): arg is the table. */
struct bufferevent *sconns_make_bev(struct event_base *base, void *arg);
/* The connection req arrived on; NULL when unknown (then the figures are missing). */
struct sink_conn *sconns_of_request(struct sink_conns *t, struct evhttp_request *req);
/*
 * Wall-clock epoch ms when the first byte of the request just received
 * arrived (0: unknown); the next byte on the connection starts the next request.
 */
double	sconn_take_first_byte(struct sink_conn *c);
/* Requests received on c so far, this one included. */
unsigned long sconn_requests(const struct sink_conn *c);
/* Round trips the connection's set-up took: 0 once reused; else 1 (TCP) + TLS's (1 or 2). */
int	sconn_setup_round_trips(const struct sink_conn *c);
/* Its number (1-based, in accept order). */
unsigned long sconn_id(const struct sink_conn *c);
/* Wall-clock epoch ms, fractional. */
double	sconn_now_ms(void);

#endif
