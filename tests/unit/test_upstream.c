/* test_upstream.c -- the forwarder against an in-process remote on loopback: delivery, retries, drops, pause and resume. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "chain.h"
#include "ledger.h"
#include "settings.h"
#include "upstream.h"
#include "loopback.h"
#include "tap.h"

#define MAX_ID 64

/* What the modules' on_done hooks saw, per request id. */
static int done_count[MAX_ID];
static enum relay_outcome done_outcome[MAX_ID];

static void
record_done(const struct relay_req *rr, void *state)
{
	(void)state;
	if (rr->id < MAX_ID) {
		done_count[rr->id]++;
		done_outcome[rr->id] = rr->outcome;
	}
}

static const struct relay_module recorder = { .name = "recorder", .on_done = record_done };
static const struct relay_module *const table[] = { &recorder, NULL };

struct fx {
	struct event_base	*base;
	struct lb_remote	 remote;
	struct relay_settings	 cfg;
	struct chain		*chain;
	struct ledger		 ledger;
	struct upstream		*up;
	int			 idle_calls;
	char			 remote_addr[64];
};

/*
 * A forwarder to a remote answering `status` (0: holding every request), or
 * to a closed port when remote_port_closed, with `extra` in the environment.
 */
static void
fx_start(struct fx *f, int status, bool remote_port_closed, const char *const *extra)
{
	const char *env[64];
	size_t n = 0;
	char *err = NULL;

	memset(f, 0, sizeof(*f));
	memset(done_count, 0, sizeof(done_count));
	memset(done_outcome, 0, sizeof(done_outcome));
	f->base = event_base_new();
	if (f->base == NULL || lb_remote_start(&f->remote, f->base, status) < 0)
		goto bail;
	snprintf(f->remote_addr, sizeof(f->remote_addr), "http://127.0.0.1:%d",
	    remote_port_closed ? lb_closed_port() : f->remote.port);
	env[n++] = "PYROSCOPE_REMOTE_ADDRESS";
	env[n++] = f->remote_addr;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 3 < sizeof(env) / sizeof(env[0]); i++)
		env[n++] = extra[i];
	env[n] = NULL;
	*lb_env_slot() = env;
	if (settings_load(&f->cfg, lb_getenv) < 0)
		goto bail;
	*lb_env_slot() = NULL;
	if (chain_new(table, &f->cfg, &f->chain, &err) < 0)
		goto bail;
	ledger_init(&f->ledger, f->chain);
	if ((f->up = upstream_new(f->base, &f->cfg, &f->ledger, &err)) == NULL)
		goto bail;
	return;
bail:
	printf("Bail out! cannot set the forwarder up: %s\n", err ? err : "?");
	exit(1);
}

static void
fx_stop(struct fx *f)
{
	upstream_free(f->up);
	chain_free(f->chain);
	lb_remote_stop(&f->remote);
	settings_clear(&f->cfg);
	event_base_free(f->base);
}

/* A request as the server hands it over: received by the ledger, then submitted. */
static int
submit(struct fx *f, uint64_t id, size_t body_len)
{
	struct relay_req *rr = relay_req_new(id, EVHTTP_REQ_POST);
	char path[32];

	if (rr == NULL || asprintf(&rr->path, "/p%llu", (unsigned long long)id) < 0) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s", rr->path);
	for (size_t i = 0; i < body_len; i++)
		evbuffer_add(rr->body, "z", 1);
	rr->body_len = body_len;
	relay_req_set_header(rr, "Content-Type", "application/octet-stream");
	ledger_received(&f->ledger, rr);
	return upstream_submit(f->up, rr);
}

static void
on_idle(void *arg)
{
	((struct fx *)arg)->idle_calls++;
}

static bool
fx_idle(void *arg)
{
	return upstream_pending(((struct fx *)arg)->up) == 0;
}

static bool
wait_idle(struct fx *f)
{
	return lb_wait(f->base, fx_idle, f, LB_LIMIT_MS, NULL);
}

static bool
remote_holds(struct fx *f, int n)
{
	return lb_wait_count(f->base, &f->remote.held, n, NULL);
}

/* received = delivered + dropped + queued + in flight, with the forwarder's own count of the last two. */
static void
adds_up(struct fx *f, const char *desc)
{
	const struct relay_stats *st = &f->ledger.stats;

	if (!ok(st->received == st->delivered + stats_dropped_total(st) + upstream_pending(f->up) &&
	    stats_queued(st) + st->in_flight == upstream_pending(f->up), desc))
		printf("#   received=%llu delivered=%llu dropped=%llu pending=%zu queued=%llu in_flight=%llu\n",
		    (unsigned long long)st->received, (unsigned long long)st->delivered,
		    (unsigned long long)stats_dropped_total(st), upstream_pending(f->up),
		    (unsigned long long)stats_queued(st), (unsigned long long)st->in_flight);
}

/* Every request 1..n ended exactly once through the hooks, with `want`. */
static void
each_done_once(int n, enum relay_outcome want, const char *desc)
{
	bool good = true;

	for (int i = 1; i <= n; i++)
		good = good && done_count[i] == 1 && done_outcome[i] == want;
	ok(good, desc);
}

static bool
remote_saw(struct fx *f, const char *uri)
{
	for (int i = 0; i < f->remote.requests && i < LB_URIS; i++)
		if (strcmp(f->remote.uris[i], uri) == 0)
			return true;
	return false;
}

static void
test_delivered(void)
{
	struct fx f;

	fx_start(&f, 200, false, NULL);
	upstream_on_idle(f.up, on_idle, &f);
	lb_run_for(f.base, 50);
	is_int(f.idle_calls, 1, "on_idle: reported at once when already idle");
	is_int(submit(&f, 1, 100), 0, "submit 1");
	is_int(submit(&f, 2, 200), 0, "submit 2");
	is_int(submit(&f, 3, 300), 0, "submit 3");
	is_int(upstream_pending(f.up), 3, "three pending before the loop runs");
	is_int(f.idle_calls, 1, "not idle meanwhile");
	adds_up(&f, "accounted while queued");
	ok(wait_idle(&f), "the forwarder goes idle");
	ok(f.idle_calls >= 2, "on_idle called when it did");
	is_int(f.ledger.stats.delivered, 3, "three delivered");
	is_int(f.ledger.stats.delivered_bytes, 600, "with their bytes");
	is_int(f.ledger.stats.latency_count, 3, "three attempts timed");
	is_int(f.ledger.stats.retried, 0, "no retry");
	is_int(f.ledger.stats.in_flight, 0, "in_flight gauge back to 0");
	is_int(f.ledger.stats.queued_bytes, 0, "queued_bytes gauge back to 0");
	each_done_once(3, RELAY_DELIVERED, "each request's on_done ran once, as delivered");
	ok(f.remote.requests == 3 && remote_saw(&f, "/p1") && remote_saw(&f, "/p2") && remote_saw(&f, "/p3"),
	    "the remote got each once");
	is_str(lb_remote_header(&f.remote, "Content-Type"), "application/octet-stream", "with the request's headers");
	adds_up(&f, "accounted when idle");

	upstream_on_idle(f.up, NULL, NULL);
	{
		int before = f.idle_calls;

		submit(&f, 4, 10);
		ok(wait_idle(&f), "a fourth is delivered");
		is_int(f.idle_calls, before, "on_idle cleared: no more calls");
	}
	fx_stop(&f);
}

static void
test_retry_then_delivered(void)
{
	static const char *const env[] = { "PYROSCOPE_RETRY_MAX_ATTEMPTS", "3", NULL };
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, false, env);
	f.remote.script[0] = 500;
	f.remote.nscript = 1;
	t0 = lb_now_ms();
	submit(&f, 1, 50);
	ok(wait_idle(&f), "500 then 200: the forwarder goes idle");
	is_int(f.remote.requests, 2, "the remote was asked twice");
	ok(lb_now_ms() - t0 >= 200, "after a backoff (250 ms at least)");
	is_int(f.ledger.stats.retried, 1, "one retry counted");
	is_int(f.ledger.stats.delivered, 1, "delivered");
	is_int(f.ledger.stats.latency_count, 2, "two attempts timed");
	is_int(stats_dropped_total(&f.ledger.stats), 0, "nothing dropped");
	each_done_once(1, RELAY_DELIVERED, "on_done ran once, after the retry");
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_retries_exhausted(void)
{
	static const char *const env[] = { "PYROSCOPE_RETRY_MAX_ATTEMPTS", "2", NULL };
	struct fx f;

	fx_start(&f, 503, false, env);
	submit(&f, 1, 50);
	ok(wait_idle(&f), "503 every time: the forwarder goes idle");
	is_int(f.remote.requests, 2, "PYROSCOPE_RETRY_MAX_ATTEMPTS uploads");
	is_int(f.ledger.stats.retried, 1, "one retry");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_REJECTED], 1, "then dropped as rejected");
	each_done_once(1, RELAY_DROPPED_REJECTED, "on_done ran once, as rejected");
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_rejected(void)
{
	struct fx f;

	fx_start(&f, 400, false, NULL);
	submit(&f, 1, 50);
	ok(wait_idle(&f), "400: the forwarder goes idle");
	lb_run_for(f.base, 100);
	is_int(f.remote.requests, 1, "asked once: no retry");
	is_int(f.ledger.stats.retried, 0, "no retry counted");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_REJECTED], 1, "dropped as rejected");
	each_done_once(1, RELAY_DROPPED_REJECTED, "on_done ran once, as rejected");
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_too_old(void)
{
	static const char *const env[] = { "PYROSCOPE_RETRY_MAX_AGE", "100ms", NULL };
	struct fx f;

	fx_start(&f, 500, false, env);
	submit(&f, 1, 50);
	ok(wait_idle(&f), "500 with a 100 ms retry age: the forwarder goes idle");
	is_int(f.remote.requests, 1, "no retry was scheduled past the age");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_TOO_OLD], 1, "dropped as too_old");
	each_done_once(1, RELAY_DROPPED_TOO_OLD, "on_done ran once, as too_old");
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_failed(void)
{
	static const char *const one[] = { "PYROSCOPE_RETRY_MAX_ATTEMPTS", "1", NULL };
	static const char *const timeout[] = { "PYROSCOPE_RETRY_MAX_ATTEMPTS", "1", "PYROSCOPE_TIMEOUT", "400ms", NULL };
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, true, one);
	submit(&f, 1, 50);
	ok(wait_idle(&f), "connection refused: the forwarder goes idle");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_FAILED], 1, "dropped as failed");
	is_int(f.ledger.stats.latency_count, 1, "the attempt was timed");
	each_done_once(1, RELAY_DROPPED_FAILED, "on_done ran once, as failed");
	adds_up(&f, "accounted");
	fx_stop(&f);

	fx_start(&f, 0, false, timeout);
	t0 = lb_now_ms();
	submit(&f, 1, 50);
	ok(wait_idle(&f), "a remote that never answers: the forwarder goes idle");
	ok(lb_now_ms() - t0 >= 380, "after PYROSCOPE_TIMEOUT");
	is_int(f.remote.held, 1, "the remote got the upload");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_FAILED], 1, "dropped as failed");
	if (!ok(f.ledger.stats.latency_sum >= 0.38, "the attempt lasted about the timeout"))
		printf("#   %f s\n", f.ledger.stats.latency_sum);
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_queue_full_pause_resume(void)
{
	static const char *const env[] = {
		"PYROSCOPE_NUM_WORKERS", "1",
		"PYROSCOPE_QUEUE_MAX_PROFILES", "2",
		NULL
	};
	struct fx f;

	fx_start(&f, 0, false, env);
	submit(&f, 1, 10);
	ok(remote_holds(&f, 1), "the first upload is in flight (the remote holds it)");
	is_int(f.ledger.stats.in_flight, 1, "in_flight gauge 1");
	submit(&f, 2, 10);
	submit(&f, 3, 10);
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_QUEUE_FULL], 0, "two waiting fit in PYROSCOPE_QUEUE_MAX_PROFILES=2");
	submit(&f, 4, 10);
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_QUEUE_FULL], 1, "a third waiting one evicts");
	ok(done_count[2] == 1 && done_outcome[2] == RELAY_DROPPED_QUEUE_FULL, "the oldest waiting one, as queue_full");
	ok(done_count[1] == 0 && done_count[3] == 0 && done_count[4] == 0, "the others live on");
	is_int(upstream_pending(f.up), 3, "pending: one in flight, two waiting");
	is_int(stats_queued(&f.ledger.stats), 2, "stats_queued: two");
	adds_up(&f, "accounted with one in flight");

	upstream_pause(f.up);
	is_int(f.ledger.stats.in_flight, 0, "pause: nothing in flight");
	is_int(upstream_pending(f.up), 3, "the cancelled upload went back to the queue");
	is_int(stats_queued(&f.ledger.stats), 3, "stats_queued: three");
	adds_up(&f, "accounted while paused");
	f.remote.status = 200;
	lb_run_for(f.base, 200);
	is_int(f.remote.requests, 1, "nothing starts while paused");
	ok(f.ledger.stats.queued_bytes > 0, "queued_bytes gauge holds the waiting bodies");

	upstream_resume(f.up);
	ok(wait_idle(&f), "resume: the forwarder goes idle");
	is_int(f.ledger.stats.delivered, 3, "the three left are delivered");
	is_str(f.remote.uris[1], "/p1", "the cancelled one first");
	is_str(f.remote.uris[2], "/p3", "then the oldest waiting");
	is_str(f.remote.uris[3], "/p4", "then the newest");
	ok(done_count[1] == 1 && done_count[3] == 1 && done_count[4] == 1 && done_outcome[1] == RELAY_DELIVERED,
	    "each on_done ran once");
	is_int(f.ledger.stats.retried, 0, "a pause is not a retry");
	adds_up(&f, "accounted after the resume");
	fx_stop(&f);
}

static void
test_no_room_in_flight(void)
{
	static const char *const env[] = {
		"PYROSCOPE_NUM_WORKERS", "1",
		"PYROSCOPE_QUEUE_MAX_BYTES", "64KiB",
		NULL
	};
	struct fx f;

	fx_start(&f, 0, false, env);
	submit(&f, 1, 40000);
	ok(remote_holds(&f, 1), "a 40000-byte upload in flight");
	is_int(submit(&f, 2, 40000), 0, "a second one is submitted");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_QUEUE_FULL], 1, "no room beside the one in flight: dropped as queue_full");
	ok(done_count[2] == 1 && done_count[1] == 0, "the new one, not the one in flight");
	is_int(submit(&f, 3, 70000), -E2BIG, "a body over the whole budget: -E2BIG");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_TOO_LARGE], 1, "dropped as too_large");
	adds_up(&f, "accounted");
	fx_stop(&f);
}

static void
test_free_drops_as_shutdown(void)
{
	static const char *const env[] = { "PYROSCOPE_NUM_WORKERS", "1", NULL };
	struct fx f;

	fx_start(&f, 0, false, env);
	submit(&f, 1, 10);
	submit(&f, 2, 10);
	ok(remote_holds(&f, 1), "one in flight, one waiting");
	adds_up(&f, "accounted before shutdown");
	upstream_free(f.up);
	f.up = NULL;
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_SHUTDOWN], 2, "upstream_free: both dropped as shutdown");
	is_int(f.ledger.stats.received, stats_dropped_total(&f.ledger.stats), "received = dropped");
	is_int(f.ledger.stats.in_flight, 0, "in_flight gauge 0");
	is_int(f.ledger.stats.queued_bytes, 0, "queued_bytes gauge 0");
	each_done_once(2, RELAY_DROPPED_SHUTDOWN, "each on_done ran once, as shutdown");
	fx_stop(&f);
}

static void
test_unsendable(void)
{
	static const char *const env[] = { "PYROSCOPE_AUTH_TOKEN", "a\x01z", NULL };
	struct fx f;

	fx_start(&f, 200, false, env);
	ok(f.cfg.unsendable != NULL, "credentials that cannot go in a header make sending impossible");
	is_int(submit(&f, 1, 10), 0, "submit answers 0");
	is_int(upstream_pending(f.up), 0, "nothing pending");
	is_int(f.ledger.stats.dropped[RELAY_DROPPED_UNSENDABLE], 1, "dropped as unsendable");
	each_done_once(1, RELAY_DROPPED_UNSENDABLE, "on_done ran once, as unsendable");
	lb_run_for(f.base, 50);
	is_int(f.remote.requests, 0, "nothing sent");
	fx_stop(&f);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_delivered();
	test_retry_then_delivered();
	test_retries_exhausted();
	test_rejected();
	test_too_old();
	test_failed();
	test_queue_full_pause_resume();
	test_no_room_in_flight();
	test_free_drops_as_shutdown();
	test_unsendable();
	return done_testing();
}
