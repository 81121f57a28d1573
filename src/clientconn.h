/* clientconn.h -- each SDK connection below evhttp: whole reads, strict framing, deadlines, its share of the limits. */
#ifndef RELAY_CLIENTCONN_H
#define RELAY_CLIENTCONN_H

#include <stddef.h>
#include <stdint.h>

struct admission;
struct bufferevent;
struct event_base;
struct relay_settings;

struct clients;

/*
 * The connection layer evhttp reads from (evhttp_set_bevcb): every byte a
 * client sends goes through it before evhttp parses it.
 * - Framing: each request head is checked whole (h1parse.c) and its body is
 *   followed to its exact end (Content-Length or chunked), so evhttp only
 *   ever sees requests framed one way; anything else is answered 400 (501,
 *   505, 413) here and the connection is closed, before anything is queued.
 *   Trailer fields are checked, and never forwarded.
 * - Deadlines: a head must be complete cfg->header_timeout after its first
 *   byte (the first one after the connection opens); a body must keep
 *   cfg->body_min_rate on average over 10 s windows; else 408 and close.
 * - Limits: connections and bytes being received are admitted by `adm`; a
 *   connection over its share stops reading until room frees up.
 * - Reads: a body of known length is read in one system call, not 4 KiB at a
 *   time.
 * NULL on OOM.
 */
struct clients *clients_new(const struct relay_settings *cfg, struct admission *adm);
void	clients_free(struct clients *cl);
/* The evhttp_set_bevcb() callback; `arg` is the struct clients. */
struct bufferevent *clients_bevcb(struct event_base *base, void *arg);
/*
 * How many of a request's input headers came from its head, oldest request
 * of the connection first (call once per request evhttp hands over): what
 * comes after them are trailer fields, which are never forwarded. SIZE_MAX
 * when unknown.
 */
size_t	clients_head_fields(struct clients *cl, struct bufferevent *bev);

#endif
