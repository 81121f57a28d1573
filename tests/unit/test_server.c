/* test_server.c -- the listener on 127.0.0.1:0 with the real chain, ledger and forwarder, relaying to an in-process remote. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "chain.h"
#include "ledger.h"
#include "modules.h"
#include "server.h"
#include "settings.h"
#include "upstream.h"
#include "loopback.h"
#include "tap.h"

struct fx {
	struct event_base	*base;
	struct lb_remote	 remote;
	struct relay_settings	 cfg;
	struct chain		*chain;
	struct ledger		 ledger;
	struct upstream		*up;
	struct server		*srv;
	int			 port;		/* the relay's */
	char			 remote_addr[64];
};

#define MAX_FDS 1024

/* The loopback TCP listeners open now: a mark per descriptor. */
static void
listeners(bool *mark)
{
	for (int fd = 0; fd < MAX_FDS; fd++) {
		int on = 0;
		socklen_t len = sizeof(on);

		mark[fd] = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on &&
		    lb_sock_port(fd) > 0;
	}
}

/*
 * A relay on 127.0.0.1:0 in front of a remote answering `status`, with the
 * environment `extra` on top of the remote and listen addresses. The chain
 * is `table`. 0, or -1 (then the test bails out).
 */
static int
fx_start(struct fx *f, int status, const char *const *extra, const struct relay_module *const *table)
{
	const char *env[64];
	size_t n = 0;
	bool before[MAX_FDS], after[MAX_FDS];
	char *err = NULL;
	int bound = 0;

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	if (f->base == NULL || lb_remote_start(&f->remote, f->base, status) < 0)
		return -1;
	snprintf(f->remote_addr, sizeof(f->remote_addr), "http://127.0.0.1:%d", f->remote.port);
	env[n++] = "PYROSCOPE_REMOTE_ADDRESS";
	env[n++] = f->remote_addr;
	env[n++] = "PYROSCOPE_LISTEN_ADDRESS";
	env[n++] = "127.0.0.1:0";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 3 < sizeof(env) / sizeof(env[0]); i++)
		env[n++] = extra[i];
	env[n] = NULL;
	*lb_env_slot() = env;
	if (settings_load(&f->cfg, lb_getenv) < 0)
		return -1;
	*lb_env_slot() = NULL;
	if (chain_new(table, &f->cfg, &f->chain, &err) < 0) {
		printf("# chain: %s\n", err ? err : "?");
		free(err);
		return -1;
	}
	ledger_init(&f->ledger, f->chain);
	f->up = upstream_new(f->base, &f->cfg, &f->ledger, &err);
	if (f->up == NULL) {
		printf("# upstream: %s\n", err ? err : "?");
		free(err);
		return -1;
	}
	listeners(before);
	f->srv = server_new(f->base, &f->cfg, NULL, f->chain, &f->ledger, f->up, &bound);
	if (f->srv == NULL || bound != 1)
		return -1;
	listeners(after);
	for (int fd = 0; fd < MAX_FDS && f->port <= 0; fd++)
		if (after[fd] && !before[fd])
			f->port = lb_sock_port(fd);
	return f->port > 0 ? 0 : -1;
}

static void
fx_stop(struct fx *f)
{
	server_free(f->srv);
	upstream_free(f->up);
	chain_free(f->chain);
	lb_remote_stop(&f->remote);
	settings_clear(&f->cfg);
	event_base_free(f->base);
}

static void
fx_must_start(struct fx *f, int status, const char *const *extra, const struct relay_module *const *table)
{
	if (fx_start(f, status, extra, table) < 0) {
		printf("Bail out! cannot start the relay and its remote on loopback\n");
		exit(1);
	}
}

/* Run the loop until the remote got `n` requests (bounded). */
static bool
remote_gets(struct fx *f, int n)
{
	return lb_wait_count(f->base, &f->remote.requests, n, NULL);
}

static bool
fx_idle(void *arg)
{
	struct fx *f = arg;

	return upstream_pending(f->up) == 0;
}

/* Every received profile is delivered, dropped, or still pending in the forwarder. */
static void
adds_up(struct fx *f, const char *desc)
{
	const struct relay_stats *st = &f->ledger.stats;

	is_int(st->received, st->delivered + stats_dropped_total(st) + upstream_pending(f->up), desc);
}

static void
test_upload(void)
{
	static const char *const env[] = {
		"PYROSCOPE_AUTH_TOKEN", "tok",
		"PYROSCOPE_TENANT_ID", "acme",
		"PYROSCOPE_HTTP_HEADERS", "{\"X-Team\":\"payments\"}",
		NULL
	};
	static const char *const hdrs[] = {
		"Content-Type", "application/octet-stream",
		"Authorization", "Basic Y2xpZW50OnB3",
		"X-Scope-OrgID", "client-tenant",
		"Connection", "X-Private",
		"X-Private", "hop",
		"User-Agent", "sdk/1.0",
		NULL
	};
	const char *uri = "/ingest?from=1&name=app%7Benv%3Dtest%7D&until=2";
	struct lb_reply rep;
	struct fx f;
	char host[32], len[16];

	fx_must_start(&f, 200, env, relay_modules);
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, uri, hdrs, "profile-bytes", 13, &rep), 200,
	    "an upload is answered 200");
	is_str(rep.body, "", "with an empty body");
	ok(remote_gets(&f, 1), "it reaches the remote");
	is_int(f.remote.method, EVHTTP_REQ_POST, "as a POST");
	ok(strncmp(f.remote.uris[0], "/ingest?from=1&name=app%7B__session_id__%3D", 43) == 0 &&
	    strstr(f.remote.uris[0], "%2Cenv%3Dtest%7D&until=2") != NULL,
	    "the session module added its label, the rest of the target unchanged");
	is_str(lb_remote_header(&f.remote, "Authorization"), "Bearer tok", "the token replaces the client's credentials");
	is_str(lb_remote_header(&f.remote, "X-Scope-OrgID"), "acme", "the tenant replaces the client's");
	is_str(lb_remote_header(&f.remote, "X-Team"), "payments", "the custom header is set");
	is_str(lb_remote_header(&f.remote, "Content-Type"), "application/octet-stream", "Content-Type passes unchanged");
	is_str(lb_remote_header(&f.remote, "User-Agent"), "sdk/1.0", "User-Agent passes unchanged");
	snprintf(host, sizeof(host), "127.0.0.1:%d", f.remote.port);
	is_str(lb_remote_header(&f.remote, "Host"), host, "Host is the remote's");
	ok(lb_remote_header(&f.remote, "X-Private") == NULL, "a header the client's Connection names is not forwarded");
	ok(lb_remote_header(&f.remote, "Connection") == NULL ||
	    strcmp(lb_remote_header(&f.remote, "Connection"), "X-Private") != 0, "nor is the client's Connection header");
	snprintf(len, sizeof(len), "%d", 13);
	is_str(lb_remote_header(&f.remote, "Content-Length"), len, "Content-Length is the body's");
	is_int(f.remote.body_len, 13, "the body arrives whole");
	ok(lb_wait(f.base, fx_idle, &f, LB_LIMIT_MS, NULL), "the forwarder goes idle");
	is_int(f.ledger.stats.received, 1, "ledger: one received");
	is_int(f.ledger.stats.received_bytes, 13, "ledger: its bytes");
	is_int(f.ledger.stats.delivered, 1, "ledger: one delivered");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

static void
test_push_and_shapes(void)
{
	static const char *const json[] = { "Content-Type", "application/json", NULL };
	static const char *const proto[] = { "Content-Type", "application/proto", NULL };
	static const char chunked[] = "POST /ingest?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	static const char absolute[] = "POST http://example.com/pyroscope/ingest?a=b#frag HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 2\r\n\r\nab";
	struct lb_reply rep;
	char resp[2048];
	struct fx f;

	fx_must_start(&f, 200, NULL, relay_modules);
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/push.v1.PusherService/Push", json, "{}", 2, &rep),
	    200, "a Connect push (JSON) is answered 200");
	is_str(rep.body, "{}", "with an empty JSON message");
	is_str(rep.ctype, "application/json", "and the client's Content-Type");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/push.v1.PusherService/Push", proto, "\x0a\x00", 2, &rep),
	    200, "a Connect push (proto) is answered 200");
	is_str(rep.body, "", "with an empty body");
	is_str(rep.ctype, "application/proto", "and the client's Content-Type");
	ok(remote_gets(&f, 2), "both pushes reach the remote");
	is_str(f.remote.uris[0], "/push.v1.PusherService/Push", "at the push path");

	is_int(lb_raw(f.base, f.port, chunked, sizeof(chunked) - 1, resp, sizeof(resp)), 200,
	    "a chunked upload is answered 200");
	ok(remote_gets(&f, 3), "it reaches the remote");
	is_int(f.remote.body_len, 11, "with the whole body");
	is_str(lb_remote_header(&f.remote, "Content-Length"), "11", "sent with a length");
	ok(lb_remote_header(&f.remote, "Transfer-Encoding") == NULL, "not chunked");

	is_int(lb_raw(f.base, f.port, absolute, sizeof(absolute) - 1, resp, sizeof(resp)), 200,
	    "an absolute-form target is accepted");
	ok(remote_gets(&f, 4), "it reaches the remote");
	is_str(f.remote.uris[3], "/pyroscope/ingest?a=b", "as its path and query, without the fragment");
	ok(lb_wait(f.base, fx_idle, &f, LB_LIMIT_MS, NULL), "the forwarder goes idle");
	is_int(f.ledger.stats.delivered, 4, "ledger: four delivered");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

static void
test_local_endpoints(void)
{
	struct lb_reply rep;
	struct fx f;
	int before;

	fx_must_start(&f, 200, NULL, relay_modules);
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/ingest", NULL, "abc", 3, &rep), 200, "an upload first");
	ok(remote_gets(&f, 1) && lb_wait(f.base, fx_idle, &f, LB_LIMIT_MS, NULL), "delivered");
	before = f.remote.requests;
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_GET, "/metrics", NULL, NULL, 0, &rep), 200, "GET /metrics: 200");
	ok(strncmp(rep.ctype, "text/plain; version=0.0.4", 25) == 0, "in the Prometheus text format");
	ok(strstr(rep.body, "\npyroscope_relay_received_profiles_total 1\n") != NULL, "counting the upload as received");
	ok(strstr(rep.body, "\npyroscope_relay_delivered_profiles_total 1\n") != NULL, "and delivered");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_GET, "/health", NULL, NULL, 0, &rep), 200, "GET /health: 200");
	is_str(rep.body, "ok\n", "ok");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_HEAD, "/health", NULL, NULL, 0, &rep), 200, "HEAD /health: 200");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_GET, "/metrics?x=1", NULL, NULL, 0, &rep), 200,
	    "GET /metrics with a query: answered locally too");
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, before, "none of them was relayed");
	is_int(f.ledger.stats.received, 1, "nor counted as a profile");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_GET, "/healthz", NULL, NULL, 0, &rep), 200, "another path is relayed");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/metrics", NULL, "x", 1, &rep), 200,
	    "and so is a POST to /metrics");
	ok(remote_gets(&f, before + 2), "both reach the remote");
	is_str(f.remote.uris[before], "/healthz", "/healthz upstream");
	is_str(f.remote.uris[before + 1], "/metrics", "/metrics upstream");
	ok(lb_wait(f.base, fx_idle, &f, LB_LIMIT_MS, NULL), "the forwarder goes idle");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

static void
test_refused(void)
{
	static const char *const env[] = { "PYROSCOPE_MAX_BODY_SIZE", "1KiB", NULL };
	static const struct { const char *req; int status; const char *desc; } cases[] = {
		{ "POST /ingest\x01x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 400,
		    "a control character in the target: 400" },
		{ "POST /ingest\x7fx HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 400,
		    "DEL in the target: 400" },
		{ "POST ingest HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 400,
		    "a target that is not a path: 400" },
		{ "POST /ingest HTTP/1.1\r\nHost: h\r\nX-Bad: a\x01" "b\r\nContent-Length: 0\r\n\r\n", 400,
		    "a control character in a header value: 400" },
		{ "POST /ingest HTTP/1.1\r\nHost: h\r\nBad Name: v\r\nContent-Length: 0\r\n\r\n", 400,
		    "a header name that is not a token: 400" },
		{ "POST /ingest HTTP/1.1\r\nHost: h\r\nContent-Length: 1025\r\n\r\n", 413,
		    "a body over PYROSCOPE_MAX_BODY_SIZE: 413" },
		{ "TRACE /ingest HTTP/1.1\r\nHost: h\r\n\r\n", 501, "TRACE is not allowed" },
	};
	char big[1024], resp[2048];
	struct lb_reply rep;
	struct fx f;

	fx_must_start(&f, 200, env, relay_modules);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(lb_raw(f.base, f.port, cases[i].req, strlen(cases[i].req), resp, sizeof(resp)),
		    cases[i].status, cases[i].desc);
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, 0, "nothing refused reaches the remote");
	is_int(f.ledger.stats.received, 0, "nor is counted as received");
	memset(big, 'x', sizeof(big));
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/ingest", NULL, big, sizeof(big), &rep), 200,
	    "a body of exactly PYROSCOPE_MAX_BODY_SIZE is accepted");
	ok(remote_gets(&f, 1), "and relayed");
	is_int(f.remote.body_len, sizeof(big), "whole");
	ok(lb_wait(f.base, fx_idle, &f, LB_LIMIT_MS, NULL), "the forwarder goes idle");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

/* A body within PYROSCOPE_MAX_BODY_SIZE whose cost still exceeds the queue budget. */
static void
test_too_large_for_queue(void)
{
	static const char *const env[] = { "PYROSCOPE_QUEUE_MAX_BYTES", "64KiB", NULL };
	static char body[65536 - 16];
	struct lb_reply rep;
	struct fx f;

	fx_must_start(&f, 200, env, relay_modules);
	is_int(f.cfg.max_body_bytes, 65536, "the body limit is capped to the queue budget");
	memset(body, 'y', sizeof(body));
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/ingest", NULL, body, sizeof(body), &rep), 413,
	    "a profile that cannot fit the queue budget: 413");
	is_int(f.ledger.stats.received, 1, "it was received");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_TOO_LARGE], 1, "and dropped as too_large");
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, 0, "never relayed");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

static void
test_unsendable(void)
{
	static const char *const env[] = { "PYROSCOPE_HTTP_HEADERS", "[not json", NULL };
	struct lb_reply rep;
	struct fx f;

	fx_must_start(&f, 200, env, relay_modules);
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_GET, "/health", NULL, NULL, 0, &rep), 503,
	    "unusable configuration: /health answers 503");
	ok(strncmp(rep.body, "cannot send: ", 13) == 0 && strstr(rep.body, "PYROSCOPE_HTTP_HEADERS") != NULL,
	    "naming the reason");
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/ingest", NULL, "abc", 3, &rep), 200,
	    "an upload is still answered 200");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_UNSENDABLE], 1, "and counted as unsendable");
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, 0, "nothing reaches the remote");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

static int done_calls;

static enum relay_rc
failing_on_request(struct relay_req *rr, void *state)
{
	(void)rr;
	(void)state;
	return RELAY_ERROR;
}

static void
counting_on_done(const struct relay_req *rr, void *state)
{
	(void)state;
	if (rr->outcome == RELAY_DROPPED_INTERNAL)
		done_calls++;
}

static const struct relay_module failing = {
	.name = "failing",
	.on_request = failing_on_request,
	.on_done = counting_on_done,
};
static const struct relay_module *const failing_table[] = { &failing, NULL };

static void
test_module_failure(void)
{
	struct lb_reply rep;
	struct fx f;

	fx_must_start(&f, 200, NULL, failing_table);
	is_int(lb_request(f.base, f.port, EVHTTP_REQ_POST, "/ingest", NULL, "abc", 3, &rep), 500,
	    "a module failing on the request: 500");
	is_int(f.ledger.stats.received, 1, "the profile was received");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_INTERNAL], 1, "and dropped as internal");
	is_int(done_calls, 1, "the on_done hook ran once, with that outcome");
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, 0, "nothing reaches the remote");
	adds_up(&f, "received = delivered + dropped + pending");
	fx_stop(&f);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_upload();
	test_push_and_shapes();
	test_local_endpoints();
	test_refused();
	test_too_large_for_queue();
	test_unsendable();
	test_module_failure();
	return done_testing();
}
