/* test_lifecycle.c -- the Lambda state machine fed with API results and telemetry, with a real forwarder on loopback. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ledger.h"
#include "lifecycle.h"
#include "settings.h"
#include "upstream.h"
#include "loopback.h"
#include "tap.h"

#define TELEMETRY_PORT 4243

/*
 * The event/next calls and the commands the lifecycle sent, in order: 'r'
 * register again (INVOKE and SHUTDOWN), 'R' register again for SHUTDOWN only,
 * 'n' event/next, 'i'/'x' init/exit error. As the real client does, the fake
 * one sends the first event/next by itself once registered (and subscribed,
 * when it was given a telemetry port): the lifecycle never asks for it.
 */
struct rec {
	char		 cmds[64];
	int		 nexts;
	int		 client_port;	/* the port the client subscribes after register (0: none) */
	char		 error_type[64];
	uint64_t	 delivered_at_next;	/* the ledger's count when event/next was last sent */
	size_t		 pending_at_next;
	struct fx	*f;
};

struct fx {
	struct event_base	*base;
	struct lb_remote	 remote;
	struct relay_settings	 cfg;
	struct ledger		 ledger;
	struct upstream		*up;
	struct lifecycle	*lx;
	struct rec		 rec;
	bool			 exited;
	uint64_t		 next_id;
	char			 remote_addr[64];
};

static void
rec_cmd(struct rec *r, char c)
{
	size_t n = strlen(r->cmds);

	if (n + 1 < sizeof(r->cmds)) {
		r->cmds[n] = c;
		r->cmds[n + 1] = '\0';
	}
}

static void
api_next(void *arg)
{
	struct rec *r = arg;

	rec_cmd(r, 'n');
	r->nexts++;
	r->delivered_at_next = r->f->ledger.stats.delivered;
	r->pending_at_next = upstream_pending(r->f->up);
}

static void
api_register_again(void *arg, bool invoke)
{
	struct rec *r = arg;

	rec_cmd(r, invoke ? 'r' : 'R');
	r->client_port = 0;	/* the client subscribes at the first register only */
}

static void
api_report_error(void *arg, bool init, const char *type, const char *message)
{
	struct rec *r = arg;

	(void)message;
	rec_cmd(r, init ? 'i' : 'x');
	snprintf(r->error_type, sizeof(r->error_type), "%s", type);
}

/* A lifecycle over a forwarder to a remote answering `status` (0: holding every request). */
static void
fx_start(struct fx *f, int status, const char *const *extra, int telemetry_port)
{
	const char *env[64];
	size_t n = 0;
	char *err = NULL;
	struct lifecycle_api api = {
		.register_again = api_register_again,
		.next = api_next,
		.report_error = api_report_error,
		.arg = &f->rec,
	};

	memset(f, 0, sizeof(*f));
	f->rec.f = f;
	f->base = event_base_new();
	if (f->base == NULL || lb_remote_start(&f->remote, f->base, status) < 0)
		goto bail;
	snprintf(f->remote_addr, sizeof(f->remote_addr), "http://127.0.0.1:%d", f->remote.port);
	env[n++] = "PYROSCOPE_REMOTE_ADDRESS";
	env[n++] = f->remote_addr;
	env[n++] = "AWS_LAMBDA_RUNTIME_API";
	env[n++] = "127.0.0.1:9001";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n + 3 < sizeof(env) / sizeof(env[0]); i++)
		env[n++] = extra[i];
	env[n] = NULL;
	*lb_env_slot() = env;
	if (settings_load(&f->cfg, lb_getenv) < 0)
		goto bail;
	*lb_env_slot() = NULL;
	ledger_init(&f->ledger, NULL);
	if ((f->up = upstream_new(f->base, &f->cfg, &f->ledger, &err)) == NULL)
		goto bail;
	if ((f->lx = lifecycle_new(f->base, &f->cfg, f->up, &api)) == NULL)
		goto bail;
	/* As extension.c: a telemetry socket only when the strategy waits for runtimeDone. */
	f->rec.client_port = lifecycle_wants_telemetry(&f->cfg) ? telemetry_port : 0;
	lifecycle_set_telemetry_port(f->lx, f->rec.client_port);
	return;
bail:
	printf("Bail out! cannot set the lifecycle up: %s\n", err ? err : "?");
	exit(1);
}

static void
fx_stop(struct fx *f)
{
	lifecycle_free(f->lx);
	upstream_free(f->up);
	lb_remote_stop(&f->remote);
	settings_clear(&f->cfg);
	event_base_free(f->base);
}

static int64_t
epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
feed(struct fx *f, enum lambda_cmd cmd, bool good)
{
	struct lambda_result res = { .cmd = cmd, .ok = good, .status = good ? 200 : 500 };

	if (!good)
		snprintf(res.error, sizeof(res.error), "synthetic failure");
	if (cmd == LAMBDA_CMD_REGISTER)
		snprintf(res.function_name, sizeof(res.function_name), "fn");
	lifecycle_on_result(&res, f->lx);
	/* The client's own event/next: after a register without a subscription, or after the subscription. */
	if ((cmd == LAMBDA_CMD_REGISTER && good && f->rec.client_port == 0) || cmd == LAMBDA_CMD_SUBSCRIBE)
		api_next(&f->rec);
}

static void
feed_event(struct fx *f, enum lambda_event ev, const char *id, int64_t deadline_in_ms)
{
	struct lambda_result res = { .cmd = LAMBDA_CMD_NEXT, .ok = true, .status = 200, .event = ev,
		.deadline_ms = epoch_ms() + deadline_in_ms };

	snprintf(res.request_id, sizeof(res.request_id), "%s", id != NULL ? id : "");
	if (ev == LAMBDA_EV_SHUTDOWN)
		snprintf(res.shutdown_reason, sizeof(res.shutdown_reason), "spindown");
	lifecycle_on_result(&res, f->lx);
}

/* A register refused with 403 and the API's error type and message. */
static void
feed_refused(struct fx *f, const char *type, const char *message)
{
	struct lambda_result res = { .cmd = LAMBDA_CMD_REGISTER, .ok = false, .status = 403 };

	snprintf(res.error, sizeof(res.error), "register answered HTTP 403: {\"errorMessage\":\"%s\",\"errorType\":\"%s\"}",
	    message, type);
	snprintf(res.error_type, sizeof(res.error_type), "%s", type);
	snprintf(res.error_message, sizeof(res.error_message), "%s", message);
	lifecycle_on_result(&res, f->lx);
}

/* A profile as the server hands it over: it waits in the queue until the loop runs. */
static void
submit(struct fx *f)
{
	struct relay_req *rr = relay_req_new(++f->next_id, EVHTTP_REQ_POST);

	if (rr == NULL || (rr->path = strdup("/ingest")) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	evbuffer_add(rr->body, "profile", 7);
	rr->body_len = 7;
	ledger_received(&f->ledger, rr);
	upstream_submit(f->up, rr);
}

/* Run the loop until event/next was sent `n` times in all (bounded). */
static bool
nexts_reach(struct fx *f, int n)
{
	return lb_wait_count(f->base, &f->rec.nexts, n, &f->exited);
}

/* Run the loop until the lifecycle ends it (bounded); true when it did. */
static bool
loop_ends(struct fx *f)
{
	f->exited = false;
	(void)lb_wait(f->base, NULL, NULL, LB_LIMIT_MS, &f->exited);
	return f->exited;
}

/* Run the loop for ms; true when the lifecycle did not end it meanwhile. */
static bool
still_running(struct fx *f, int ms)
{
	bool exited = false;

	(void)lb_wait(f->base, NULL, NULL, ms, &exited);
	return !exited;
}

static bool
delivered_reach(void *arg)
{
	struct fx *f = arg;

	return f->ledger.stats.delivered >= f->next_id;
}

static void
test_register_failed(void)
{
	struct fx f;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, false);
	ok(loop_ends(&f), "register failed: the loop ends");
	is_int(lifecycle_exit_status(f.lx), 1, "with exit status 1");
	is_str(f.rec.cmds, "", "and no command sent");
	fx_stop(&f);
}

static void
test_end_of_invoke(void)
{
	struct fx f;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_str(f.rec.cmds, "", "end-of-invoke: registered, nothing asked (the client subscribes by itself)");
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	is_str(f.rec.cmds, "n", "subscribed: the client's event/next, nothing asked");

	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	lifecycle_on_start("r1", f.lx);
	ok(still_running(&f, 100) && f.rec.nexts == 1, "INVOKE: no event/next while the runtime runs");
	submit(&f);
	lifecycle_on_runtime_done("r1", "success", f.lx);
	is_int(f.rec.nexts, 1, "runtimeDone with a profile queued: event/next waits for the flush");
	ok(nexts_reach(&f, 2), "event/next once the flush is done");
	is_int(f.rec.delivered_at_next, 1, "the profile was delivered before event/next");
	is_int(f.rec.pending_at_next, 0, "nothing pending at event/next");

	submit(&f);
	ok(still_running(&f, 200), "the lifecycle keeps going");
	is_int(f.remote.requests, 1, "after event/next the forwarder is paused: nothing sent while frozen");
	feed_event(&f, LAMBDA_EV_INVOKE, "r2", 30000);
	lifecycle_on_start("r2", f.lx);
	ok(lb_wait(f.base, delivered_reach, &f, LB_LIMIT_MS, NULL), "the next INVOKE resumes: the held profile goes out");
	is_int(f.rec.nexts, 2, "still no event/next while the runtime runs");
	lifecycle_on_runtime_done("r2", "success", f.lx);
	is_int(f.rec.nexts, 3, "runtimeDone with nothing pending: event/next at once");
	is_str(f.rec.cmds, "nnn", "only event/next was sent");

	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 2000);
	ok(loop_ends(&f), "SHUTDOWN with an empty forwarder: the loop ends");
	is_int(lifecycle_exit_status(f.lx), 0, "with exit status 0");
	is_int(f.rec.nexts, 3, "no event/next after SHUTDOWN");
	fx_stop(&f);
}

static void
test_flush_budget(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_TIMEOUT", "300ms", NULL };
	struct fx f;
	int64_t t0;

	fx_start(&f, 0, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	lifecycle_on_start("r1", f.lx);
	submit(&f);
	ok(still_running(&f, 100) && f.remote.held == 1, "an upload in flight that the remote never answers");
	t0 = lb_now_ms();
	lifecycle_on_runtime_done("r1", "success", f.lx);
	ok(nexts_reach(&f, 2), "runtimeDone: event/next when the flush budget is over");
	ok(lb_now_ms() - t0 >= 250, "not before PYROSCOPE_FLUSH_TIMEOUT");
	is_int(f.rec.pending_at_next, 1, "the profile is still pending");
	is_int(f.ledger.stats.in_flight, 0, "but no longer in flight: the upload was cancelled before the freeze");
	is_int(stats_queued(&f.ledger.stats), 1, "it waits in the queue");

	t0 = lb_now_ms();
	lifecycle_drain(f.lx, 300);
	ok(loop_ends(&f), "a drain with a profile the remote never takes: the loop ends");
	ok(lb_now_ms() - t0 >= 250, "at the drain's deadline");
	is_int(f.remote.held, 2, "the drain sent the profile again");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	is_int(f.rec.nexts, 2, "no event/next during the drain");
	fx_stop(&f);
}

static void
test_runtime_done_first(void)
{
	struct fx f;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	lifecycle_on_start("r1", f.lx);
	lifecycle_on_runtime_done("r1", "success", f.lx);
	is_int(f.rec.nexts, 1, "runtimeDone before its INVOKE: nothing sent yet");
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	is_int(f.rec.nexts, 2, "the INVOKE then flushes and sends event/next at once");

	lifecycle_on_runtime_done("other", "success", f.lx);
	feed_event(&f, LAMBDA_EV_INVOKE, "r2", 30000);
	lifecycle_on_start("r2", f.lx);
	ok(still_running(&f, 100) && f.rec.nexts == 2, "a runtimeDone for another invoke does not count");
	lifecycle_on_runtime_done("r2", "timeout", f.lx);
	is_int(f.rec.nexts, 3, "its own does");
	is_str(f.rec.cmds, "nnn", "event/next each time, nothing else");
	fx_stop(&f);
}

static void
test_telemetry_fallback(void)
{
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	t0 = lb_now_ms();
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	ok(nexts_reach(&f, 2), "no platform.start for the invoke: event/next anyway");
	ok(lb_now_ms() - t0 >= 1500, "after the start watchdog (2 s)");
	submit(&f);
	feed_event(&f, LAMBDA_EV_INVOKE, "r2", 30000);
	is_int(f.rec.nexts, 2, "telemetry given up: the next INVOKE flushes at once");
	ok(nexts_reach(&f, 3), "and sends event/next once the profile is out");
	is_int(f.rec.delivered_at_next, 1, "delivered before event/next");
	fx_stop(&f);

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, false);
	is_str(f.rec.cmds, "n", "subscribe failed: event/next all the same");
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	is_str(f.rec.cmds, "nn", "INVOKE without telemetry: flushed at once, nothing waited for");
	fx_stop(&f);

	fx_start(&f, 200, NULL, 0);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_str(f.rec.cmds, "n", "no telemetry listener: the client's event/next");
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	is_str(f.rec.cmds, "nn", "INVOKE: event/next at once");
	fx_stop(&f);
}

static void
test_deadline(void)
{
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	t0 = lb_now_ms();
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 400);
	lifecycle_on_start("r1", f.lx);
	ok(nexts_reach(&f, 2), "no runtimeDone before the function's deadline: event/next anyway");
	ok(lb_now_ms() - t0 >= 250, "shortly before the deadline");
	lifecycle_on_runtime_done("r1", "timeout", f.lx);
	is_int(f.rec.nexts, 2, "a late runtimeDone sends nothing more");
	fx_stop(&f);
}

static void
test_start_of_invoke(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_STRATEGY", "start-of-invoke", NULL };
	struct fx f;

	fx_start(&f, 200, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_str(f.rec.cmds, "n", "start-of-invoke: no telemetry, the client's event/next");
	submit(&f);
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	is_int(f.rec.nexts, 1, "INVOKE with a profile queued: event/next waits for it");
	ok(nexts_reach(&f, 2), "then event/next");
	is_int(f.rec.delivered_at_next, 1, "after the delivery");
	submit(&f);
	ok(still_running(&f, 200) && f.remote.requests == 1, "paused after event/next: nothing sent while frozen");
	feed_event(&f, LAMBDA_EV_INVOKE, "r2", 30000);
	ok(nexts_reach(&f, 3), "the next INVOKE flushes it");
	is_int(f.rec.delivered_at_next, 2, "delivered before event/next");
	fx_stop(&f);
}

static void
test_background(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_STRATEGY", "background", NULL };
	struct fx f;

	fx_start(&f, 200, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_str(f.rec.cmds, "n", "background: no telemetry, the client's event/next");
	submit(&f);
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	is_int(f.rec.nexts, 2, "INVOKE: event/next at once, even with a profile queued");
	is_int(f.rec.pending_at_next, 1, "(it was pending)");
	ok(lb_wait(f.base, delivered_reach, &f, LB_LIMIT_MS, NULL), "never paused: it goes out after event/next");
	submit(&f);
	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 5000);
	ok(loop_ends(&f), "SHUTDOWN with a profile queued: the loop ends");
	is_int(f.ledger.stats.delivered, 2, "once it was delivered");
	is_int(upstream_pending(f.up), 0, "nothing left");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	fx_stop(&f);
}

static void
test_shutdown_deadline(void)
{
	struct fx f;
	int64_t t0;

	fx_start(&f, 0, NULL, 0);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	submit(&f);
	t0 = lb_now_ms();
	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 500);
	ok(loop_ends(&f), "SHUTDOWN with a profile the remote never takes: the loop ends");
	ok(lb_now_ms() - t0 >= 250, "shortly before the SHUTDOWN deadline");
	is_int(upstream_pending(f.up), 1, "the profile still pending (upstream_free drops it)");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	fx_stop(&f);
}

static void
test_drain_during_flush(void)
{
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	lifecycle_on_start("r1", f.lx);
	submit(&f);
	lifecycle_on_runtime_done("r1", "success", f.lx);
	is_int(f.rec.nexts, 1, "flushing");
	t0 = lb_now_ms();
	lifecycle_drain(f.lx, 8000);
	ok(loop_ends(&f), "a stop signal during the flush: the loop ends");
	ok(lb_now_ms() - t0 < 6000, "as soon as the forwarder is idle, not at the drain's deadline");
	is_int(f.ledger.stats.delivered, 1, "the profile was delivered");
	is_int(f.rec.nexts, 1, "no event/next after the stop signal");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	fx_stop(&f);

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	lifecycle_drain(f.lx, 5000);
	ok(loop_ends(&f), "a drain with nothing pending ends the loop at once");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	fx_stop(&f);
}

static void
test_errors(void)
{
	struct fx f;

	fx_start(&f, 200, NULL, 0);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed_event(&f, LAMBDA_EV_OTHER, NULL, 0);
	is_str(f.rec.cmds, "nn", "an unknown event: event/next again");
	feed(&f, LAMBDA_CMD_NEXT, false);
	is_str(f.rec.cmds, "nnx", "event/next failed: exit/error reported");
	is_str(f.rec.error_type, "Extension.NextEventFailed", "as Extension.NextEventFailed");
	lifecycle_drain(f.lx, 1000);
	ok(still_running(&f, 100), "a stop signal while reporting is ignored");
	feed(&f, LAMBDA_CMD_EXIT_ERROR, true);
	ok(loop_ends(&f), "exit/error answered: the loop ends");
	is_int(lifecycle_exit_status(f.lx), 1, "with exit status 1");
	fx_stop(&f);

	fx_start(&f, 200, NULL, 0);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_NEXT, false);
	feed(&f, LAMBDA_CMD_EXIT_ERROR, false);
	ok(loop_ends(&f), "exit/error failing too: the loop ends");
	is_int(lifecycle_exit_status(f.lx), 1, "with exit status 1");
	fx_stop(&f);

	fx_start(&f, 200, NULL, 0);
	feed(&f, LAMBDA_CMD_INIT_ERROR, true);
	ok(loop_ends(&f), "init/error answered: the loop ends");
	is_int(lifecycle_exit_status(f.lx), 1, "with exit status 1");
	fx_stop(&f);
}

/* One invoke that flushes at its end: no event/next until runtimeDone, then after the flush. */
static bool
invoke_at_end(struct fx *f, const char *id, bool upload)
{
	int before = f->rec.nexts;
	bool good;

	feed_event(f, LAMBDA_EV_INVOKE, id, 30000);
	lifecycle_on_start(id, f->lx);
	good = f->rec.nexts == before;
	if (upload)
		submit(f);
	good = good && still_running(f, 20) && f->rec.nexts == before;
	lifecycle_on_runtime_done(id, "success", f->lx);
	return good && nexts_reach(f, before + 1) && f->rec.pending_at_next == 0 &&
	    f->rec.delivered_at_next == f->next_id;
}

static void
test_adaptive(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "3",
		"PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL", "2s", NULL };
	struct fx f;

	fx_start(&f, 200, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_int(f.rec.client_port, TELEMETRY_PORT, "adaptive: the client subscribes the telemetry listener's port");
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	submit(&f);
	ok(still_running(&f, 100) && f.remote.requests == 0, "the first event/next pauses too: nothing sent until an INVOKE");
	ok(invoke_at_end(&f, "r1", false), "invoke 1 of a sandbox: flushed at its end, the profile from init included");
	ok(invoke_at_end(&f, "r2", true), "invoke 2 (warm-up): flushed at its end");
	ok(invoke_at_end(&f, "r3", true), "invoke 3 (warm-up): flushed at its end");

	feed_event(&f, LAMBDA_EV_INVOKE, "r4", 30000);
	is_int(f.rec.nexts, 5, "invoke 4, the 4th within 2 s: nothing queued, event/next at once, no runtimeDone awaited");
	submit(&f);
	ok(still_running(&f, 200) && f.remote.requests == 3, "paused at that event/next: the handler's profile waits");
	lifecycle_on_runtime_done("r4", "success", f.lx);
	is_int(f.rec.nexts, 5, "its runtimeDone sends nothing more");

	feed_event(&f, LAMBDA_EV_INVOKE, "r5", 30000);
	is_int(f.rec.nexts, 5, "invoke 5: the held profile is queued, event/next waits for it");
	ok(nexts_reach(&f, 6), "event/next once it is delivered, without runtimeDone");
	is_int(f.rec.delivered_at_next, 4, "delivered before event/next (held across one freeze only)");
	is_int(f.rec.pending_at_next, 0, "nothing pending or in flight at event/next");
	lifecycle_on_runtime_done("r5", "success", f.lx);

	ok(still_running(&f, 2300), "a gap longer than the busy interval");
	ok(invoke_at_end(&f, "r6", true), "invoke 6 starts a new streak: flushed at its end again");
	ok(invoke_at_end(&f, "r7", true), "invoke 7 (warm-up again): at its end");
	is_str(f.rec.cmds, "nnnnnnnn", "only event/next was sent");
	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 2000);
	ok(loop_ends(&f) && lifecycle_exit_status(f.lx) == 0, "SHUTDOWN: the loop ends, exit status 0");
	is_int(f.ledger.stats.delivered, 6, "every profile delivered once");
	is_int(f.remote.requests, 6, "and sent once");
	fx_stop(&f);
}

static void
test_adaptive_deadline(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "1",
		"PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL", "5s", "PYROSCOPE_FLUSH_TIMEOUT", "30s", NULL };
	struct fx f;
	int64_t t0;

	fx_start(&f, 0, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	feed_event(&f, LAMBDA_EV_INVOKE, "r1", 30000);
	lifecycle_on_start("r1", f.lx);
	lifecycle_on_runtime_done("r1", "success", f.lx);
	is_int(f.rec.nexts, 2, "warm-up 1: invoke 1 at its end, nothing to send");
	submit(&f);
	t0 = lb_now_ms();
	feed_event(&f, LAMBDA_EV_INVOKE, "r2", 400);
	ok(still_running(&f, 100) && f.remote.held == 1 && f.rec.nexts == 2,
	    "invoke 2 at its start: the profile is in flight, the remote does not answer");
	ok(nexts_reach(&f, 3), "event/next all the same");
	ok(lb_now_ms() - t0 >= 250 && lb_now_ms() - t0 < 1500, "before the function's deadline, not at the 30 s flush timeout");
	is_int(f.ledger.stats.in_flight, 0, "nothing left in flight");
	is_int(f.rec.pending_at_next, 1, "the profile waits in the queue");
	fx_stop(&f);
}

static void
test_explicit_strategy_wins(void)
{
	static const char *const env[] = { "PYROSCOPE_FLUSH_STRATEGY", "end-of-invoke",
		"PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "1", "PYROSCOPE_FLUSH_ON_INVOKE", "true", NULL };
	struct fx f;
	bool all = true;

	fx_start(&f, 200, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	feed(&f, LAMBDA_CMD_SUBSCRIBE, true);
	for (int i = 1; i <= 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "r%d", i);
		all = invoke_at_end(&f, id, true) && all;
	}
	ok(all, "end-of-invoke by name: 4 busy invokes, each flushed at its end");
	fx_stop(&f);
}

static void
test_managed_instances(void)
{
	static const char *const env[] = { "AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances", NULL };
	struct fx f;
	int64_t t0;

	fx_start(&f, 200, env, TELEMETRY_PORT);
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_int(f.rec.client_port, 0, "Managed Instances: no telemetry subscription");
	is_str(f.rec.cmds, "n", "the client's event/next");
	submit(&f);
	submit(&f);
	ok(lb_wait(f.base, delivered_reach, &f, LB_LIMIT_MS, NULL), "never paused: profiles go out while event/next waits");
	is_int(f.rec.nexts, 1, "no other event/next");
	f.remote.status = 0;
	submit(&f);
	ok(still_running(&f, 100) && f.remote.held == 1, "a profile the remote holds");
	t0 = lb_now_ms();
	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 600);
	ok(loop_ends(&f), "SHUTDOWN: the loop ends");
	ok(lb_now_ms() - t0 >= 300, "at the SHUTDOWN deadline, not before");
	is_int(lifecycle_exit_status(f.lx), 0, "exit status 0");
	fx_stop(&f);
}

static void
test_register_retry(void)
{
	struct fx f;

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed_refused(&f, "Extension.InvalidEventType", "INVOKE: ErrorInvalidEventType");
	is_str(f.rec.cmds, "R", "INVOKE refused at register: registers again for SHUTDOWN only");
	ok(still_running(&f, 50), "and does not exit");
	feed(&f, LAMBDA_CMD_REGISTER, true);
	is_str(f.rec.cmds, "Rn", "registered: no telemetry subscription, the client's event/next");
	submit(&f);
	ok(lb_wait(f.base, delivered_reach, &f, LB_LIMIT_MS, NULL), "never paused: the profile goes out while event/next waits");
	feed_event(&f, LAMBDA_EV_SHUTDOWN, NULL, 2000);
	ok(loop_ends(&f) && lifecycle_exit_status(f.lx) == 0, "SHUTDOWN: exit status 0");
	fx_stop(&f);

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed_refused(&f, "Extension.InvalidEventType", "INVOKE: ErrorInvalidEventType");
	feed_refused(&f, "Extension.InvalidEventType", "SHUTDOWN: ErrorInvalidEventType");
	ok(loop_ends(&f) && lifecycle_exit_status(f.lx) == 1, "the retry refused too: exit status 1");
	is_str(f.rec.cmds, "R", "retried once only");
	fx_stop(&f);

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed_refused(&f, "Extension.InvalidEventType", "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension");
	ok(loop_ends(&f) && lifecycle_exit_status(f.lx) == 1, "SHUTDOWN refused (an internal extension): exit status 1");
	is_str(f.rec.cmds, "", "no retry");
	fx_stop(&f);

	fx_start(&f, 200, NULL, TELEMETRY_PORT);
	feed_refused(&f, "Extension.InvalidExtensionName", "Empty extension name");
	ok(loop_ends(&f) && lifecycle_exit_status(f.lx) == 1, "another refusal: exit status 1, no retry");
	fx_stop(&f);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_register_failed();
	test_end_of_invoke();
	test_flush_budget();
	test_runtime_done_first();
	test_telemetry_fallback();
	test_deadline();
	test_start_of_invoke();
	test_background();
	test_shutdown_deadline();
	test_drain_during_flush();
	test_errors();
	test_adaptive();
	test_adaptive_deadline();
	test_explicit_strategy_wins();
	test_managed_instances();
	test_register_retry();
	return done_testing();
}
