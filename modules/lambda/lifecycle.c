/* lifecycle.c -- the Lambda lifecycle state machine: events, flushes before freezes, bounded drains. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The state machine, one transition per event:
 *
 *   REGISTERING --registered--> SUBSCRIBING --subscribed or not--> WAITING
 *   REGISTERING --registered, no telemetry port--> WAITING
 *   REGISTERING --INVOKE refused (403 Extension.InvalidEventType)--> REGISTERING (SHUTDOWN only)
 *   WAITING --INVOKE, flush at the end--> RUNNING --runtimeDone--> FLUSHING --idle or budget--> WAITING
 *   WAITING --INVOKE, flush at the start--> FLUSHING --idle or budget--> WAITING
 *   WAITING --SHUTDOWN--> DRAINING --idle or deadline--> DONE (exit 0)
 *   any but DONE --SIGTERM/SIGINT (lifecycle_drain)--> DRAINING
 *   any --event/next failed--> STOPPING --exit/error answered--> DONE (exit 1)
 *
 * The client sends the subscription and the first event/next by itself right
 * after register: the lifecycle only follows their results.
 *
 * The sandbox freezes as soon as the runtime and every extension have called
 * event/next, so whatever is still queued or in flight then waits, maybe for
 * hours, on connections that die meanwhile. So every event/next (but
 * background's) pauses the forwarder first: nothing is in flight across a
 * freeze; what is queued then goes out at the next INVOKE. When each invoke
 * flushes, by strategy:
 *   end-of-invoke: wait for platform.runtimeDone of the invoke, flush within a
 *     budget, then event/next: nothing is held across the freeze, but the
 *     Telemetry API's buffering (25 ms at least) is billed on every invoke;
 *   start-of-invoke: flush what earlier invokes left when the INVOKE arrives
 *     (the original's FLUSH_ON_INVOKE), overlapping the handler, then
 *     event/next: nearly free, but what the handler uploads after that waits
 *     for the next invoke (one invoke's profiles held across one freeze);
 *   adaptive (default): start-of-invoke while invokes come often, else
 *     end-of-invoke. An invoke whose INVOKE arrives within
 *     flush_busy_interval_ns of the previous one continues a busy streak,
 *     any other starts a new one (the first of a sandbox too); the first
 *     flush_warmup_invokes invokes of a streak flush at the end, the later
 *     ones at the start. The interval is start to start: under
 *     start-of-invoke it bounds how long profiles wait while the cadence
 *     lasts, and it needs no telemetry.
 *   background: event/next at once, never paused; uploads run whenever unfrozen.
 * Without telemetry, end-of-invoke and adaptive flush at the start.
 *
 * SHUTDOWN only: on Lambda Managed Instances (no INVOKE event, no freeze,
 * invokes run at once), or when the platform refused INVOKE at register, the
 * forwarder is never paused: uploads go out as they come, and SHUTDOWN drains.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "lifecycle.h"
#include "log.h"

#define INVOKE_MARGIN_MS	50	/* event/next this long before the function's deadline */
#define SHUTDOWN_MARGIN_MS	150	/* exit this long before the SHUTDOWN deadline */
#define START_WATCHDOG_MS	2000	/* no platform.start by then: telemetry is not arriving */
#define WARM_AFTER_MS		10	/* the TLS set-up this long after the first event/next */
#define RECENT			4

enum lx_state {
	LX_REGISTERING,
	LX_SUBSCRIBING,
	LX_WAITING,
	LX_RUNNING,
	LX_FLUSHING,
	LX_DRAINING,
	LX_STOPPING,
	LX_DONE
};

/* Request ids seen on the telemetry stream before their INVOKE was processed. */
struct recent_ids {
	char	id[RECENT][64];
	int	next;
};

struct lifecycle {
	struct event_base		*base;		/* borrowed */
	const struct relay_settings	*cfg;		/* borrowed */
	struct upstream			*up;		/* borrowed; its idle callback is ours alone */
	struct lifecycle_api		 api;		/* the Extensions API commands */
	struct event			*timer;		/* owned: bounds the current wait */
	struct event			*warm;		/* owned: upstream_warm once init is over */
	const char			*drain_over;	/* what ends a drain at its deadline, for the log */
	int				 telemetry_port;
	enum lx_state			 state;
	bool				 telemetry;	/* platform.runtimeDone is expected */
	bool				 shutdown_only;	/* registered for SHUTDOWN only: never paused */
	bool				 fallback_logged;
	bool				 started_seen;
	char				 request_id[64];
	int64_t				 deadline_ms;
	int64_t				 watch_until_ms;
	int64_t				 runtime_done_ns;
	struct recent_ids		 starts;
	struct recent_ids		 dones;
	int64_t				 last_invoke_ns; /* when the previous INVOKE arrived (monotonic) */
	int				 streak;	/* invokes in the current busy streak, this one included */
	uint64_t			 invokes;
	int				 exit_status;
	void				(*on_drain)(void *);	/* a drain begins: a last chance to queue */
	void				*on_drain_arg;
};

static int64_t
epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
remember(struct recent_ids *r, const char *id)
{
	snprintf(r->id[r->next], sizeof(r->id[0]), "%s", id);
	r->next = (r->next + 1) % RECENT;
}

static bool
seen(const struct recent_ids *r, const char *id)
{
	for (int i = 0; i < RECENT; i++)
		if (strcmp(r->id[i], id) == 0)
			return true;
	return false;
}

static void
arm(struct lifecycle *lx, int64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000 * 1000) };

	if (ms < 0)
		tv.tv_sec = tv.tv_usec = 0;
	evtimer_add(lx->timer, &tv);
}

static void
finish(struct lifecycle *lx, int status)
{
	lx->state = LX_DONE;
	lx->exit_status = status;
	evtimer_del(lx->timer);
	event_base_loopexit(lx->base, NULL);
}

/* The sandbox may freeze as soon as event/next is sent: nothing may be in flight then. */
static void
call_next(struct lifecycle *lx)
{
	if (!lx->shutdown_only && lx->cfg->flush_strategy != FLUSH_BACKGROUND)
		upstream_pause(lx->up);
	lx->state = LX_WAITING;
	lx->api.next(lx->api.arg);
}

static void
on_warm(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upstream_warm(arg);
}

/*
 * Init is over for Lambda: the API thread sends the first event/next by itself
 * right after this result. What the first upload needs (TLS context, CA index)
 * is made WARM_AFTER_MS later, while the sandbox waits for its first event,
 * rather than beside that request and the runtime's own start.
 */
static void
init_done(struct lifecycle *lx)
{
	struct timeval tv = { 0, WARM_AFTER_MS * 1000 };

	lx->state = LX_WAITING;
	evtimer_add(lx->warm, &tv);
}

static void
telemetry_unavailable(struct lifecycle *lx, const char *why)
{
	lx->telemetry = false;
	if (lx->fallback_logged)
		return;
	lx->fallback_logged = true;
	if (lx->cfg->flush_strategy == FLUSH_END_OF_INVOKE || lx->cfg->flush_strategy == FLUSH_ADAPTIVE)
		log_warn("Telemetry API not available (%s); flushing at the start of each invoke instead of after the runtime is done", why);
}

/* The flush is over (idle or out of time): event/next, which pauses the forwarder. */
static void flush_end(struct lifecycle *lx);

/* The forwarder has nothing queued or in flight: a flush or a drain is complete. */
static void
on_forwarder_idle(void *arg)
{
	struct lifecycle *lx = arg;

	if (lx->state == LX_FLUSHING)
		flush_end(lx);
	else if (lx->state == LX_DRAINING)
		finish(lx, 0);
}

static void
flush_begin(struct lifecycle *lx)
{
	int64_t budget = lx->cfg->flush_timeout_ns / 1000000;

	if (lx->deadline_ms > 0 && lx->deadline_ms - INVOKE_MARGIN_MS - epoch_ms() < budget)
		budget = lx->deadline_ms - INVOKE_MARGIN_MS - epoch_ms();
	lx->state = LX_FLUSHING;
	evtimer_del(lx->timer);
	if (upstream_pending(lx->up) == 0 || budget <= 0) {
		flush_end(lx);
		return;
	}
	log_debug("Invoke %s: flushing %zu profiles for at most %lld ms", lx->request_id,
	    upstream_pending(lx->up), (long long)budget);
	arm(lx, budget);
}

static void
flush_end(struct lifecycle *lx)
{
	size_t left = upstream_pending(lx->up);

	evtimer_del(lx->timer);
	if (left > 0)
		log_warn("Flush time is over with %zu profiles not yet delivered; they stay queued and go out after the next thaw", left);
	if (lx->runtime_done_ns > 0 && log_enabled(LOG_DEBUG)) {
		log_debug("Invoke %s: event/next %.3f ms after the runtime was done",
		    lx->request_id, (double)(relay_now_ns() - lx->runtime_done_ns) / 1e6);
	}
	lx->runtime_done_ns = 0;
	call_next(lx);
}

/* When this invoke flushes: not at all (event/next at once), at its start, or at its end. */
enum plan { PLAN_NONE, PLAN_START, PLAN_END };

static enum plan
plan_invoke(const struct lifecycle *lx)
{
	if (lx->shutdown_only || lx->cfg->flush_strategy == FLUSH_BACKGROUND)
		return PLAN_NONE;
	if (lx->cfg->flush_strategy == FLUSH_START_OF_INVOKE || !lx->telemetry)
		return PLAN_START;
	if (lx->cfg->flush_strategy == FLUSH_ADAPTIVE && lx->streak > lx->cfg->flush_warmup_invokes)
		return PLAN_START;
	return PLAN_END;
}

static void
on_invoke(struct lifecycle *lx, const struct lambda_result *res)
{
	static const char *const plan_name[] = { "not flushing", "flushing at its start", "flushing at its end" };
	int64_t now = epoch_ms(), t = relay_now_ns(), since = t - lx->last_invoke_ns;
	enum plan plan;

	lx->invokes++;
	if (lx->last_invoke_ns > 0 && since <= lx->cfg->flush_busy_interval_ns) {
		if (lx->streak < INT_MAX)
			lx->streak++;
	} else {
		lx->streak = 1;
	}
	lx->last_invoke_ns = t;
	snprintf(lx->request_id, sizeof(lx->request_id), "%s", res->request_id);
	lx->deadline_ms = res->deadline_ms;
	lx->runtime_done_ns = 0;
	plan = plan_invoke(lx);
	log_f(LOG_DEBUG, (&(struct log_field){ "requestId", lx->request_id }), 1,
	    "Received INVOKE event (deadline in %lld ms, %.1f ms after the previous one, busy streak %d): %s",
	    (long long)(lx->deadline_ms - now), lx->invokes > 1 ? (double)since / 1e6 : 0.0, lx->streak,
	    plan_name[plan]);
	upstream_resume(lx->up);
	if (plan == PLAN_NONE) {
		call_next(lx);
		return;
	}
	if (plan == PLAN_START) {
		flush_begin(lx);
		return;
	}
	lx->state = LX_RUNNING;
	lx->started_seen = seen(&lx->starts, lx->request_id);
	if (seen(&lx->dones, lx->request_id)) {
		lx->runtime_done_ns = relay_now_ns();
		flush_begin(lx);
		return;
	}
	lx->watch_until_ms = now + START_WATCHDOG_MS;
	arm(lx, (lx->deadline_ms > 0 && lx->deadline_ms - INVOKE_MARGIN_MS < lx->watch_until_ms ?
	    lx->deadline_ms - INVOKE_MARGIN_MS : lx->watch_until_ms) - now);
}

/* RUNNING took too long: telemetry is not arriving, or the function is about to time out. */
static void
running_timeout(struct lifecycle *lx)
{
	int64_t now = epoch_ms();

	if (lx->deadline_ms > 0 && now >= lx->deadline_ms - INVOKE_MARGIN_MS) {
		log_warn("Invoke %s: no platform.runtimeDone before the deadline; flushing now", lx->request_id);
		flush_begin(lx);
	} else if (!lx->started_seen) {
		telemetry_unavailable(lx, "no platform.start event arrived for the invoke");
		flush_begin(lx);
	} else if (lx->deadline_ms > 0) {
		arm(lx, lx->deadline_ms - INVOKE_MARGIN_MS - now);
	}
}

/* Send everything left until the forwarder is idle or `left_ms` is over, then end the loop. */
static void
drain_begin(struct lifecycle *lx, int64_t left_ms, const char *over)
{
	lx->state = LX_DRAINING;
	lx->drain_over = over;
	evtimer_del(lx->timer);
	upstream_resume(lx->up);
	if (upstream_pending(lx->up) == 0 || left_ms <= 0) {
		finish(lx, 0);
		return;
	}
	arm(lx, left_ms);
}

static void
drain_hook(struct lifecycle *lx)
{
	void (*cb)(void *) = lx->on_drain;

	lx->on_drain = NULL;
	if (cb != NULL)
		cb(lx->on_drain_arg);
}

static void
on_shutdown(struct lifecycle *lx, const struct lambda_result *res)
{
	int64_t left;

	drain_hook(lx);
	left = res->deadline_ms - SHUTDOWN_MARGIN_MS - epoch_ms();

	log_info("Received SHUTDOWN event (reason '%s'); draining %zu profiles for at most %lld ms",
	    res->shutdown_reason, upstream_pending(lx->up), (long long)(left > 0 ? left : 0));
	drain_begin(lx, left, "Shutdown deadline is near");
}

void
lifecycle_drain(struct lifecycle *lx, int64_t budget_ms)
{
	if (lx->state == LX_DONE || lx->state == LX_DRAINING || lx->state == LX_STOPPING)
		return;		/* already ending: SHUTDOWN has the earlier deadline, exit/error its status */
	drain_hook(lx);
	if (upstream_pending(lx->up) > 0)
		log_info("Draining %zu pending profiles for at most %lld ms", upstream_pending(lx->up),
		    (long long)budget_ms);
	drain_begin(lx, budget_ms, "Drain time (PYROSCOPE_TIMEOUT) is over");
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lifecycle *lx = arg;

	(void)fd;
	(void)what;
	switch (lx->state) {
	case LX_RUNNING:
		running_timeout(lx);
		break;
	case LX_FLUSHING:
		flush_end(lx);
		break;
	case LX_DRAINING:
		log_warn("%s with %zu profiles not delivered; exiting", lx->drain_over, upstream_pending(lx->up));
		finish(lx, 0);
		break;
	default:
		break;
	}
}

/* Register refused because the platform does not offer INVOKE (Lambda Managed Instances does not). */
static bool
invoke_refused(const struct lambda_result *res)
{
	return res->status == 403 && strcmp(res->error_type, "Extension.InvalidEventType") == 0 &&
	    strstr(res->error_message, "INVOKE") != NULL;
}

static void
on_registered(struct lifecycle *lx, const struct lambda_result *res)
{
	if (!res->ok && !lx->shutdown_only && invoke_refused(res)) {
		/* Exiting now would fail the function's init: run without INVOKE instead. */
		log_warn("The Lambda Extensions API refused the INVOKE event (%s: %s); registering for SHUTDOWN only: profiles are forwarded as they come and drained at SHUTDOWN",
		    res->error_type, res->error_message);
		lx->shutdown_only = true;
		upstream_resume(lx->up);
		lx->api.register_again(lx->api.arg, false);
		return;
	}
	if (!res->ok) {
		log_error("Cannot register with the Lambda Extensions API at %s: %s; exiting",
		    lx->cfg->runtime_api, res->error);
		finish(lx, 1);
		return;
	}
	if (lx->shutdown_only) {
		log_info("Registered with the Lambda Extensions API for SHUTDOWN only (function '%s', %s): profiles are forwarded as they come and drained at SHUTDOWN",
		    res->function_name, lx->cfg->managed_instances ? "Lambda Managed Instances" : "INVOKE not offered");
		init_done(lx);
		return;
	}
	log_info("Registered with the Lambda Extensions API (function '%s', flush strategy %s)",
	    res->function_name, settings_flush_strategy_name(lx->cfg->flush_strategy));
	if (lx->telemetry_port > 0 && lifecycle_wants_telemetry(lx->cfg)) {
		lx->state = LX_SUBSCRIBING;
		return;
	}
	telemetry_unavailable(lx, "no local telemetry listener");
	init_done(lx);
}

static void
on_next(struct lifecycle *lx, const struct lambda_result *res)
{
	if (!res->ok) {
		log_error("Lambda event/next failed: %s; reporting exit/error and exiting", res->error);
		lx->state = LX_STOPPING;
		lx->api.report_error(lx->api.arg, false, "Extension.NextEventFailed", res->error);
		return;
	}
	switch (res->event) {
	case LAMBDA_EV_INVOKE:
		on_invoke(lx, res);
		break;
	case LAMBDA_EV_SHUTDOWN:
		on_shutdown(lx, res);
		break;
	default:
		log_warn("Ignoring an unknown Lambda event; waiting for the next one");
		call_next(lx);
		break;
	}
}

void
lifecycle_on_result(const struct lambda_result *res, void *arg)
{
	struct lifecycle *lx = arg;

	switch (res->cmd) {
	case LAMBDA_CMD_REGISTER:
		on_registered(lx, res);
		break;
	case LAMBDA_CMD_SUBSCRIBE:
		if (res->ok && lx->telemetry_port > 0) {
			log_debug("Subscribed to platform telemetry on port %d", lx->telemetry_port);
			lx->telemetry = true;
		} else {
			telemetry_unavailable(lx, res->ok ? "no local telemetry listener" : res->error);
		}
		init_done(lx);
		break;
	case LAMBDA_CMD_NEXT:
		on_next(lx, res);
		break;
	case LAMBDA_CMD_INIT_ERROR:
	case LAMBDA_CMD_EXIT_ERROR:
		if (!res->ok)
			log_error("Reporting the error to Lambda failed too: %s", res->error);
		finish(lx, 1);
		break;
	case LAMBDA_CMD_QUIT:
		break;
	}
}

void
lifecycle_on_start(const char *request_id, void *arg)
{
	struct lifecycle *lx = arg;

	if (lx->state == LX_RUNNING && strcmp(request_id, lx->request_id) == 0)
		lx->started_seen = true;
	else
		remember(&lx->starts, request_id);
}

void
lifecycle_on_runtime_done(const char *request_id, const char *status, void *arg)
{
	struct lifecycle *lx = arg;

	log_f(LOG_TRACE, (&(struct log_field){ "requestId", request_id }), 1,
	    "Telemetry: platform.runtimeDone (status %s)", status ? status : "unknown");
	if (lx->state == LX_RUNNING && strcmp(request_id, lx->request_id) == 0) {
		lx->runtime_done_ns = relay_now_ns();
		flush_begin(lx);
	} else {
		remember(&lx->dones, request_id);
	}
}

struct lifecycle *
lifecycle_new(struct event_base *base, const struct relay_settings *cfg, struct upstream *up,
    const struct lifecycle_api *api)
{
	struct lifecycle *lx = calloc(1, sizeof(*lx));

	if (lx == NULL)
		return NULL;
	lx->base = base;
	lx->cfg = cfg;
	lx->up = up;
	lx->api = *api;
	lx->state = LX_REGISTERING;
	lx->shutdown_only = cfg->managed_instances;
	lx->timer = evtimer_new(base, on_timer, lx);
	lx->warm = evtimer_new(base, on_warm, up);
	if (lx->timer == NULL || lx->warm == NULL) {
		lifecycle_free(lx);
		return NULL;
	}
	upstream_on_idle(up, on_forwarder_idle, lx);
	if (!lx->shutdown_only && cfg->flush_strategy != FLUSH_BACKGROUND)
		upstream_pause(up);	/* the first event/next follows register unasked */
	return lx;
}

void
lifecycle_on_drain(struct lifecycle *lx, void (*cb)(void *), void *arg)
{
	lx->on_drain = cb;
	lx->on_drain_arg = arg;
}

bool
lifecycle_wants_telemetry(const struct relay_settings *cfg)
{
	return (cfg->flush_strategy == FLUSH_END_OF_INVOKE || cfg->flush_strategy == FLUSH_ADAPTIVE) &&
	    !cfg->managed_instances;
}

void
lifecycle_set_telemetry_port(struct lifecycle *lx, int port)
{
	lx->telemetry_port = port;
}

int
lifecycle_exit_status(const struct lifecycle *lx)
{
	return lx->exit_status;
}

void
lifecycle_free(struct lifecycle *lx)
{
	if (lx == NULL)
		return;
	upstream_on_idle(lx->up, NULL, NULL);
	if (lx->timer != NULL)
		event_free(lx->timer);
	if (lx->warm != NULL)
		event_free(lx->warm);
	free(lx);
}
