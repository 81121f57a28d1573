/* tunnel.c -- a loopback listener whose connections go on to one host:port through an HTTP proxy's CONNECT. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <openssl/crypto.h>

#include "log.h"
#include "parse.h"
#include "ratelog.h"
#include "request.h"
#include "resolver.h"
#include "tcp.h"
#include "tunnel.h"

#define ANSWER_HEAD_MAX	(16 << 10)	/* the proxy's answer to CONNECT: status line and fields */
#define HOLD_MAX	(64 << 10)	/* read from evhttp (its TLS hello) before the tunnel is open */
#define SPLICE_HIGH	(512 << 10)	/* queued toward one side: stop reading the other ... */
#define SPLICE_LOW	(128 << 10)	/* ... until it is down to this */
#define REASON_MAX	64		/* the proxy's reason phrase, as logged */

/* One accepted connection and its connection to the proxy. */
struct splice {
	struct tunnel		*t;		/* borrowed: owner */
	struct bufferevent	*local;		/* owned: accepted from evhttp */
	struct bufferevent	*proxy;		/* owned: to the proxy, then through it to the target */
	bool			 connected;	/* the proxy accepted the TCP connection */
	bool			 open;		/* the proxy answered 2xx: bytes flow both ways */
	bool			 closing;	/* one side ended: the other is flushed, then both close */
	LIST_ENTRY(splice)	 link;
};
LIST_HEAD(splice_list, splice);

struct tunnel {
	struct event_base	*base;		/* borrowed */
	struct evdns_base	*dns;		/* borrowed */
	struct resolver		*resolver;	/* borrowed: the proxy's address */
	struct evconnlistener	*listener;	/* owned */
	int			 port;		/* the listener's */
	int			 proxy_port;
	char			*request;	/* owned, secret: the CONNECT request head */
	char			*target;	/* owned: host:port */
	char			*proxy_display;	/* owned */
	struct timeval		 timeout;
	struct splice_list	 splices;	/* owned: every live pair */
	struct ratelog		 log;
	char			 failure[256];	/* the latest failure, as logged */
	int64_t			 failed_at;	/* relay_now_ns() of it; 0: none yet */
};

static void	on_read(struct bufferevent *bev, void *arg);
static void	on_write(struct bufferevent *bev, void *arg);
static void	on_event(struct bufferevent *bev, short what, void *arg);

static void
splice_free(struct splice *sp)
{
	LIST_REMOVE(sp, link);
	if (sp->local != NULL)
		bufferevent_free(sp->local);
	if (sp->proxy != NULL)
		bufferevent_free(sp->proxy);
	free(sp);
}

/* The tunnel could not be opened: say why (once a second at most), keep it, close both sides. */
static void __attribute__((format(printf, 2, 3)))
fail(struct splice *sp, const char *fmt, ...)
{
	struct tunnel *t = sp->t;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->failure, sizeof(t->failure), fmt, ap);
	va_end(ap);
	t->failed_at = relay_now_ns();
	ratelog_log(&t->log, LOG_WARNING, NULL, 0, "Cannot reach %s through the proxy %s: %s; the upload fails",
	    t->target, t->proxy_display, t->failure);
	splice_free(sp);
}

static struct bufferevent *
other(struct splice *sp, struct bufferevent *bev)
{
	return bev == sp->local ? sp->proxy : sp->local;
}

/* Move what `from` read to the other side's output (no copy); stop reading above the high mark. */
static void
move(struct splice *sp, struct bufferevent *from)
{
	struct evbuffer *out = bufferevent_get_output(other(sp, from));

	evbuffer_add_buffer(out, bufferevent_get_input(from));
	if (evbuffer_get_length(out) >= SPLICE_HIGH)
		bufferevent_disable(from, EV_READ);
}

/* The proxy answered 2xx: from now on bytes flow both ways, unchanged and unbounded in time. */
static void
open_splice(struct splice *sp)
{
	sp->open = true;
	bufferevent_set_timeouts(sp->proxy, NULL, NULL);
	bufferevent_setwatermark(sp->local, EV_READ, 0, 0);
	bufferevent_setwatermark(sp->local, EV_WRITE, SPLICE_LOW, 0);
	bufferevent_setwatermark(sp->proxy, EV_WRITE, SPLICE_LOW, 0);
	bufferevent_setcb(sp->local, on_read, on_write, on_event, sp);
	bufferevent_setcb(sp->proxy, on_read, on_write, on_event, sp);
	bufferevent_enable(sp->local, EV_READ);
	bufferevent_enable(sp->proxy, EV_READ);
	move(sp, sp->proxy);	/* anything the proxy sent after its answer */
	move(sp, sp->local);	/* evhttp's TLS hello, held until now */
}

/*
 * The length of the answer's head (status line and fields, up to the empty
 * line), 0 while incomplete, -1 when it is not an HTTP answer.
 */
static ssize_t
head_length(struct evbuffer *in)
{
	struct evbuffer_ptr p, eol;
	size_t eol_len = 0;

	evbuffer_ptr_set(in, &p, 0, EVBUFFER_PTR_SET);
	for (;;) {
		eol = evbuffer_search_eol(in, &p, &eol_len, EVBUFFER_EOL_CRLF);
		if (eol.pos < 0)
			return 0;
		if (eol.pos == p.pos)
			return p.pos == 0 ? -1 : (ssize_t)(eol.pos + (ssize_t)eol_len);
		if (evbuffer_ptr_set(in, &p, (size_t)eol.pos + eol_len, EVBUFFER_PTR_SET) < 0)
			return 0;
	}
}

/* "HTTP/1.x NNN reason": the status (-1 if malformed), and the reason in printable ASCII. */
static int
parse_status(struct evbuffer *in, char *reason, size_t size)
{
	char line[16 + REASON_MAX];
	ev_ssize_t n = evbuffer_copyout(in, line, sizeof(line) - 1);
	size_t w = 0;
	int status;

	reason[0] = '\0';
	if (n < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return -1;
	line[n] = '\0';
	for (int i = 9; i < 12; i++)
		if (line[i] < '0' || line[i] > '9')
			return -1;
	status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	for (const char *r = line + 12 + (line[12] == ' '); *r != '\r' && *r != '\n' && *r != '\0' &&
	    w + 1 < size; r++)
		reason[w++] = *r >= 0x20 && *r < 0x7f ? *r : '.';
	reason[w] = '\0';
	return status;
}

/* The proxy's answer to CONNECT, until its head is complete. */
static void
on_answer(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char reason[REASON_MAX + 1];
	ssize_t len = head_length(in);
	int status;

	if (len == 0 && evbuffer_get_length(in) <= ANSWER_HEAD_MAX)
		return;
	if (len <= 0 || len > ANSWER_HEAD_MAX) {
		fail(sp, len < 0 ? "the proxy's answer to CONNECT is not HTTP" :
		    "the proxy's answer to CONNECT is larger than %d bytes", ANSWER_HEAD_MAX);
		return;
	}
	status = parse_status(in, reason, sizeof(reason));
	if (status < 200 || status > 299) {
		if (status < 0)
			fail(sp, "the proxy's answer to CONNECT is not HTTP");
		else
			fail(sp, "the proxy answered '%d%s%s'", status, reason[0] ? " " : "", reason);
		return;
	}
	evbuffer_drain(in, (size_t)len);
	log_debug("Tunnel to %s through the proxy %s is open", sp->t->target, sp->t->proxy_display);
	open_splice(sp);
}

/* While the tunnel opens: the proxy's connection. */
static void
on_proxy_event(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;
	int dns_err, err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		sp->connected = true;
		(void)tcp_nodelay(bufferevent_getfd(bev));
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		fail(sp, sp->connected ? "no answer to CONNECT in time" : "cannot connect to the proxy: timed out");
	} else if (!sp->connected) {
		dns_err = bufferevent_socket_get_dns_error(bev);
		resolver_forget(sp->t->resolver);	/* the proxy may have moved: look it up again */
		if (dns_err != 0)
			fail(sp, "cannot resolve the proxy: %s", evutil_gai_strerror(dns_err));
		else
			fail(sp, "cannot connect to the proxy: %s", err != 0 ? strerror(err) : "connection failed");
	} else {
		fail(sp, "the proxy closed the connection without answering CONNECT");
	}
}

/* While the tunnel opens: evhttp gave up (its timeout, or a pause): nothing to report. */
static void
on_local_event(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;

	(void)bev;
	(void)what;
	splice_free(sp);
}

/* While the tunnel opens, what evhttp sends (its TLS hello) waits in the local input. */
static void
on_hold(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)arg;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;

	if (!sp->closing)
		move(sp, bev);
}

/* bev's output is down to its low mark: read its peer again; or, closing, free both once it is empty. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;

	if (sp->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			splice_free(sp);
		return;
	}
	if (sp->open)
		bufferevent_enable(other(sp, bev), EV_READ);
}

/* One side ended: what it sent goes on to the other, which is flushed (bounded in time), then both close. */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;
	struct bufferevent *to = other(sp, bev);

	(void)what;
	if (sp->closing) {
		splice_free(sp);	/* the side being flushed failed too */
		return;
	}
	evbuffer_add_buffer(bufferevent_get_output(to), bufferevent_get_input(bev));
	if (evbuffer_get_length(bufferevent_get_output(to)) == 0) {
		splice_free(sp);
		return;
	}
	sp->closing = true;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_disable(to, EV_READ);
	bufferevent_setwatermark(to, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(to, NULL, &sp->t->timeout);
	bufferevent_enable(to, EV_WRITE);
}

/* This process has a socket bound to `peer` (fd numbers are looked up in /proc/self/fd). */
static bool
own_socket(const struct sockaddr_in *peer)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);
		int64_t n;
		int fd;

		/* "." and ".." are skipped, and a name that is not a descriptor number. */
		if (parse_int(e->d_name, &n) < 0 || n < 0 || n > INT_MAX || (fd = (int)n) == dirfd(d))
			continue;
		found = getsockname(fd, (struct sockaddr *)&sin, &len) == 0 && len == sizeof(sin) &&
		    sin.sin_family == AF_INET && sin.sin_port == peer->sin_port &&
		    sin.sin_addr.s_addr == peer->sin_addr.s_addr;
	}
	closedir(d);
	return found;
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct tunnel *t = arg;
	struct splice *sp;
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	(void)l;
	/* Only the relay's own connections: the proxy's credentials are not for other processes. */
	if (sa->sa_family != AF_INET || (size_t)socklen < sizeof(struct sockaddr_in) ||
	    !own_socket((const struct sockaddr_in *)sa)) {
		evutil_closesocket(fd);
		ratelog_log(&t->log, LOG_WARNING, NULL, 0, "Refused a connection to the tunnel's loopback port "
		    "from another process; it is for the relay's own uploads");
		return;
	}
	(void)tcp_nodelay(fd);
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL || (sp->local = bufferevent_socket_new(t->base, fd, opts)) == NULL) {
		evutil_closesocket(fd);
		free(sp);
		ratelog_log(&t->log, LOG_ERROR, NULL, 0, "Cannot open a tunnel through the proxy %s (out of memory); "
		    "the upload fails", t->proxy_display);
		return;
	}
	sp->t = t;
	LIST_INSERT_HEAD(&t->splices, sp, link);
	if ((sp->proxy = bufferevent_socket_new(t->base, -1, opts)) == NULL) {
		fail(sp, "out of memory");
		return;
	}
	tcp_tune_bufferevent(sp->local);
	tcp_tune_bufferevent(sp->proxy);
	bufferevent_setcb(sp->local, on_hold, NULL, on_local_event, sp);
	bufferevent_setcb(sp->proxy, on_answer, NULL, on_proxy_event, sp);
	bufferevent_setwatermark(sp->local, EV_READ, 0, HOLD_MAX);
	bufferevent_set_timeouts(sp->proxy, &t->timeout, &t->timeout);
	bufferevent_enable(sp->local, EV_READ);
	bufferevent_enable(sp->proxy, EV_READ | EV_WRITE);
	/* Written once connected; errors (lookup, refused) come back through on_proxy_event. */
	if (evbuffer_add(bufferevent_get_output(sp->proxy), t->request, strlen(t->request)) < 0) {
		fail(sp, "out of memory");
		return;
	}
	if (bufferevent_socket_connect_hostname(sp->proxy, t->dns, AF_UNSPEC, resolver_address(t->resolver),
	    t->proxy_port) < 0)
		fail(sp, "cannot connect to the proxy");
}

struct tunnel *
tunnel_new(struct event_base *base, struct evdns_base *dns, struct resolver *resolver,
    const struct tunnel_params *p)
{
	struct tunnel *t = calloc(1, sizeof(*t));
	int n;

	if (t == NULL)
		return NULL;
	t->base = base;
	t->dns = dns;
	t->resolver = resolver;
	t->proxy_port = p->proxy_port;
	t->timeout = p->timeout;
	LIST_INIT(&t->splices);
	n = asprintf(&t->request, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", p->target, p->target,
	    p->authorization ? "Proxy-Authorization: " : "", p->authorization ? p->authorization : "",
	    p->authorization ? "\r\n" : "");
	if (n < 0) {
		t->request = NULL;
		goto fail;
	}
	if ((t->target = strdup(p->target)) == NULL || (t->proxy_display = strdup(p->proxy_display)) == NULL)
		goto fail;
	return t;
fail:
	tunnel_free(t);
	return NULL;
}

int
tunnel_port(struct tunnel *t)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);

	if (t->listener != NULL)
		return t->port;
	t->listener = evconnlistener_new_bind(t->base, on_accept, t, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    -1, (struct sockaddr *)&sin, sizeof(sin));
	if (t->listener == NULL ||
	    getsockname(evconnlistener_get_fd(t->listener), (struct sockaddr *)&sin, &len) < 0) {
		ratelog_log(&t->log, LOG_ERROR, NULL, 0,
		    "Cannot listen on 127.0.0.1 for the tunnel through the proxy %s: %s; the upload fails",
		    t->proxy_display, strerror(errno));
		if (t->listener != NULL)
			evconnlistener_free(t->listener);
		t->listener = NULL;
		return -1;
	}
	t->port = ntohs(sin.sin_port);
	return t->port;
}

bool
tunnel_failed_since(const struct tunnel *t, int64_t since, char *buf, size_t size)
{
	if (t == NULL || t->failed_at == 0 || t->failed_at < since)
		return false;
	if (buf != NULL && size > 0)
		snprintf(buf, size, "%s", t->failure);
	return true;
}

void
tunnel_free(struct tunnel *t)
{
	struct splice *sp;

	if (t == NULL)
		return;
	while ((sp = LIST_FIRST(&t->splices)) != NULL)
		splice_free(sp);
	if (t->listener != NULL)
		evconnlistener_free(t->listener);
	if (t->request != NULL)
		OPENSSL_cleanse(t->request, strlen(t->request));
	free(t->request);
	free(t->target);
	free(t->proxy_display);
	free(t);
}
