/* lifecycle.c -- invokes: release, the runtime and extension gates, freeze between invokes, failed invokes. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "init.h"
#include "lifecycle.h"
#include "proc.h"
#include "report.h"
#include "reset.h"
#include "rtapi.h"
#include "shutdown.h"
#include "telemetry.h"
#include "util.h"

static void end_invoke(struct emu *emu, int reset);
static void emit_runtime_done(struct emu *emu, const char *status, const char *error_type);
static void next_invoke(struct emu *emu);

void
lifecycle_arm(struct emu *emu, double ms)
{
	struct timeval tv;
	long long us;

	if (ms < 0)
		ms = 0;
	us = (long long)(ms * 1000.0);
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	if (evtimer_add(emu->phase_timer, &tv) != 0)
		emu_warnx("cannot arm the phase timer");
}

void
lifecycle_disarm(struct emu *emu)
{
	if (emu->phase_timer != NULL)
		(void)evtimer_del(emu->phase_timer);
}

/* Billed duration: rounded up to the next millisecond, as Lambda bills. */
static int64_t
billed_ms(double ms)
{
	int64_t whole = (int64_t)ms;

	return (double)whole < ms ? whole + 1 : whole;
}

static struct json_object *
tracing_json(const struct emu *emu)
{
	struct json_object *tr = json_object_new_object();

	if (json_set(tr, "type", json_object_new_string("X-Amzn-Trace-Id")) != 0 ||
	    json_set(tr, "value", json_object_new_string(emu->cur.trace)) != 0) {
		json_object_put(tr);
		return NULL;
	}
	return tr;
}

static void
init_timed_out(struct emu *emu)
{
	int in_invoke = init_cur(emu)->in_invoke;
	char msg[160];

	emu_msg(msg, sizeof(msg), "init did not complete within %s%ld ms%s",
	    in_invoke ? "the function timeout of " : "",
	    in_invoke ? emu->opt.timeout_ms : emu->opt.init_timeout_ms,
	    emu->phase == PH_INIT_EXT ? " (an extension did not register)" : "");
	init_fail(emu, "Sandbox.Timedout", msg, "timeout");
}

static void
on_phase_timer(evutil_socket_t fd, short what, void *arg)
{
	struct emu *emu = arg;

	(void)fd;
	(void)what;
	switch (emu->phase) {
	case PH_INIT_EXT:
	case PH_INIT_RT:
		init_timed_out(emu);
		break;
	case PH_INVOKE:
		lifecycle_fail_invoke(emu, "timeout", "Sandbox.Timedout", "timeout");
		break;
	case PH_GAP:
		next_invoke(emu);
		break;
	default:
		shutdown_on_timer(emu);
		break;
	}
}

static void
on_rtdone_timer(evutil_socket_t fd, short what, void *arg)
{
	struct emu *emu = arg;

	(void)fd;
	(void)what;
	/* The timer only runs within its invoke: ending the invoke settles it first. */
	if (!emu->cur.rtdone_emitted)
		emit_runtime_done(emu, emu->cur.status, emu->cur.error_type);
}

int
lifecycle_start(struct emu *emu)
{
	emu->phase_timer = evtimer_new(emu->base, on_phase_timer, emu);
	emu->rtdone_timer = evtimer_new(emu->base, on_rtdone_timer, emu);
	emu->invokes = calloc((size_t)emu->opt.invokes + 1, sizeof(*emu->invokes));
	if (emu->phase_timer == NULL || emu->rtdone_timer == NULL || emu->invokes == NULL) {
		emu_warnx("out of memory");
		return -1;
	}
	return init_begin(emu, 0);
}

void
lifecycle_on_registered(struct emu *emu, struct agent *a)
{
	init_on_registered(emu, a);
}

/* ---- Invokes ---- */

/* Release to response (or to now); 0 for an invoke never released. */
static double
runtime_ms(const struct invoke_cur *c)
{
	if (c->t_release <= 0)
		return 0;
	return (c->responded ? c->t_response : emu_mono_ms()) - c->t_release;
}

static void
emit_runtime_done(struct emu *emu, const char *status, const char *error_type)
{
	struct json_object *rec = json_object_new_object(), *m = json_object_new_object();
	int bad = 0;

	emu->cur.rtdone_emitted = 1;
	bad |= json_set(m, "durationMs", json_ms(runtime_ms(&emu->cur)));
	bad |= json_set(m, "producedBytes", json_object_new_int64((int64_t)emu->cur.produced));
	bad |= json_set(rec, "requestId", json_object_new_string(emu->cur.id));
	bad |= json_set(rec, "status", json_object_new_string(status));
	if (error_type != NULL)
		bad |= json_set(rec, "errorType", json_object_new_string(error_type));
	bad |= json_set(rec, "metrics", m);
	bad |= json_set(rec, "tracing", tracing_json(emu));
	tel_emit_checked(emu->tel, "platform.runtimeDone", rec, bad);
}

void
lifecycle_settle_runtime_done(struct emu *emu, int emit_now)
{
	int pending = event_pending(emu->rtdone_timer, EV_TIMEOUT, NULL);

	if (pending)
		(void)evtimer_del(emu->rtdone_timer);
	if (pending && emit_now && !emu->cur.rtdone_emitted)
		emit_runtime_done(emu, emu->cur.status, emu->cur.error_type);
}

/* START: a new request, its clock and deadline; the sandbox thaws. */
static void
begin_invoke(struct emu *emu)
{
	struct json_object *rec = json_object_new_object();
	char root[25] = "000000000000000000000000", parent[17] = "0000000000000000";
	int n, bad = 0;

	free(emu->cur.response);
	memset(&emu->cur, 0, sizeof(emu->cur));
	emu->cur.status = "success";
	if (emu_uuid4(emu->cur.id) != 0 || emu_random_hex(root, 24) != 0 ||
	    emu_random_hex(parent, 16) != 0)
		emu_warnx("cannot read random bytes for the request id");
	n = snprintf(emu->cur.trace, sizeof(emu->cur.trace), "Root=1-%08llx-%s;Parent=%s;Sampled=0",
	    (unsigned long long)(emu_epoch_ms() / 1000), root, parent);
	if (n < 0 || (size_t)n >= sizeof(emu->cur.trace))
		emu->cur.trace[0] = '\0';
	proc_freeze(emu, 0);
	tel_pause(emu->tel, 0);
	emu->cur.t_start = emu_mono_ms();
	emu->cur.deadline_epoch_ms = emu_epoch_ms() + emu->opt.timeout_ms;
	rep_line(emu, "START RequestId: %s Version: $LATEST", emu->cur.id);
	bad |= json_set(rec, "requestId", json_object_new_string(emu->cur.id));
	bad |= json_set(rec, "version", json_object_new_string("$LATEST"));
	bad |= json_set(rec, "tracing", tracing_json(emu));
	tel_emit_checked(emu->tel, "platform.start", rec, bad);
}

/* The runtime and INVOKE subscribers are released together, with what is left of the timeout. */
static void
release_invoke(struct emu *emu)
{
	int i;

	emu->phase = PH_INVOKE;
	emu->cur.t_release = emu_mono_ms();
	rt_release_invoke(emu);
	for (i = 0; i < emu->nagents; i++) {
		struct agent *a = emu->agents[i];
		if (a->state == AG_READY && (a->events & EMU_EV_INVOKE))
			ext_release_invoke(emu, a);
	}
	lifecycle_arm(emu, emu->cur.t_start + (double)emu->opt.timeout_ms - emu->cur.t_release);
}

static void
start_invoke(struct emu *emu)
{
	begin_invoke(emu);
	if (!emu->need_init) {
		release_invoke(emu);
		return;
	}
	/* After a reset, the invoke first re-runs the whole init (a suppressed init). */
	emu->need_init = 0;
	emu->cur.reinit = emu->ninits + 1;
	if (init_begin(emu, 1) != 0)
		lifecycle_fail_invoke(emu, "failure", "Sandbox.Failure", "failure");
}

/* The init duration a REPORT carries: a re-init's, or the first init's on invoke 1; -1: none. */
static double
report_init_ms(const struct emu *emu, const struct invoke_rec *r)
{
	const struct init_rec *in = NULL;

	if (r->reinit > 0)
		in = &emu->inits[r->reinit - 1];
	else if (emu->ninvokes == 1 && emu->ninits > 0)
		in = &emu->inits[0];
	return in != NULL && in->t_end > 0 ? in->t_end - in->t_start : -1;
}

/* Records the invoke, emits platform.report, prints END/REPORT. */
static void
end_invoke(struct emu *emu, int reset)
{
	struct invoke_cur *c = &emu->cur;
	struct invoke_rec *r = &emu->invokes[emu->ninvokes];
	struct json_object *rec = json_object_new_object(), *m = json_object_new_object();
	struct json_object *spans = json_object_new_array(), *span = json_object_new_object();
	char d[32], p[32], when[40];
	double now = emu_mono_ms(), init_ms;
	int bad = 0;

	if (reset && !c->rt_done && !c->rtdone_emitted)
		emit_runtime_done(emu, c->status, c->error_type);
	memcpy(r->request_id, c->id, sizeof(r->request_id));
	r->runtime_ms = runtime_ms(c);
	r->post_runtime_ms = c->rt_done ? now - c->t_rt_done : 0;
	r->duration_ms = now - c->t_start;
	r->status = c->status;
	r->produced_bytes = c->produced;
	r->max_memory_mb = rep_max_memory_mb(emu);
	r->response = c->response;
	r->reinit = c->reinit <= emu->ninits ? c->reinit : 0;
	c->response = NULL;
	emu->ninvokes++;
	init_ms = report_init_ms(emu, r);

	emu_iso_time(emu_epoch_ms() - (int64_t)r->post_runtime_ms, when, sizeof(when));
	bad |= json_set(span, "name", json_object_new_string("extensionOverhead"));
	bad |= json_set(span, "start", json_object_new_string(when));
	bad |= json_set(span, "durationMs", json_ms(r->post_runtime_ms));
	if (!bad && (spans == NULL || json_object_array_add(spans, span) != 0))
		bad = 1;
	if (bad)
		json_object_put(span);
	bad |= json_set(m, "durationMs", json_ms(r->duration_ms));
	bad |= json_set(m, "billedDurationMs", json_object_new_int64(billed_ms(r->duration_ms)));
	bad |= json_set(m, "memorySizeMB", json_object_new_int64(emu->memory_mb));
	bad |= json_set(m, "maxMemoryUsedMB", json_object_new_int(r->max_memory_mb));
	if (init_ms >= 0)
		bad |= json_set(m, "initDurationMs", json_ms(init_ms));
	bad |= json_set(rec, "requestId", json_object_new_string(c->id));
	bad |= json_set(rec, "status", json_object_new_string(c->status));
	if (c->error_type != NULL)
		bad |= json_set(rec, "errorType", json_object_new_string(c->error_type));
	bad |= json_set(rec, "metrics", m);
	bad |= json_set(rec, "spans", spans);
	bad |= json_set(rec, "tracing", tracing_json(emu));
	tel_emit_checked(emu->tel, "platform.report", rec, bad);

	rep_line(emu, "END RequestId: %s", c->id);
	emu_fmt_ms(r->duration_ms, d, sizeof(d));
	emu_fmt_ms(r->post_runtime_ms, p, sizeof(p));
	{
		char init[64] = "";
		if (init_ms >= 0) {
			char t[32];
			emu_fmt_ms(init_ms, t, sizeof(t));
			emu_msg(init, sizeof(init), "\tInit Duration: %s ms", t);
		}
		rep_line(emu, "REPORT RequestId: %s\tDuration: %s ms\tBilled Duration: %lld ms\t"
		    "Memory Size: %ld MB\tMax Memory Used: %d MB%s\tPostRuntimeExtensionsDuration: %s ms%s%s",
		    c->id, d, (long long)billed_ms(r->duration_ms), emu->memory_mb, r->max_memory_mb, init, p,
		    strcmp(c->status, "success") != 0 ? "\tStatus: " : "",
		    strcmp(c->status, "success") != 0 ? c->status : "");
	}
}

void
lifecycle_begin_invokes(struct emu *emu)
{
	if (init_cur(emu)->in_invoke)
		release_invoke(emu);
	else if (emu->opt.invokes == 0)
		shutdown_begin(emu, emu->opt.shutdown_reason);
	else
		start_invoke(emu);
}

static void
next_invoke(struct emu *emu)
{
	if (emu->ninvokes < emu->opt.invokes)
		start_invoke(emu);
	else
		shutdown_begin(emu, emu->opt.shutdown_reason);
}

static void
check_invoke_done(struct emu *emu)
{
	int i;

	if (emu->phase != PH_INVOKE || !emu->cur.rt_done)
		return;
	for (i = 0; i < emu->nagents; i++) {
		const struct agent *a = emu->agents[i];
		if (a->registered && (a->events & EMU_EV_INVOKE) && a->state == AG_RUNNING)
			return;
	}
	lifecycle_disarm(emu);
	/* A runtimeDone still delayed goes out now, before the report (its order in Lambda). */
	lifecycle_settle_runtime_done(emu, 1);
	end_invoke(emu, 0);
	/* Everyone called next: freeze until the next event. */
	emu->phase = PH_GAP;
	if (emu->opt.freeze != FREEZE_NONE) {
		tel_pause(emu->tel, 1);
		proc_freeze(emu, 1);
	}
	lifecycle_arm(emu, (double)emu->opt.gap_ms);
}

void
lifecycle_on_agent_next(struct emu *emu, struct agent *a)
{
	switch (emu->phase) {
	case PH_INIT_EXT:
	case PH_INIT_RT:
		init_check_done(emu);
		break;
	case PH_INVOKE:
		check_invoke_done(emu);
		break;
	case PH_SHUTDOWN_RT:
	case PH_SHUTDOWN_EXT:
	case PH_REAP:
		shutdown_on_agent_next(emu, a);
		break;
	default:
		break;
	}
}

void
lifecycle_on_agent_error(struct emu *emu, struct agent *a, int exit_error)
{
	char msg[512];

	emu_msg(msg, sizeof(msg), "extension '%s' called %s with '%s'", a->name,
	    exit_error ? "exit/error" : "init/error", a->errors[a->nerrors > 0 ? a->nerrors - 1 : 0].type);
	if (emu->phase == PH_INIT_EXT || emu->phase == PH_INIT_RT) {
		init_fail(emu, exit_error ? "Extension.ExitError" : "Extension.InitError", msg, "error");
		return;
	}
	emu_warnx("%s", msg);
	check_invoke_done(emu);
}

void
lifecycle_on_runtime_next(struct emu *emu)
{
	if (emu->phase == PH_INIT_RT) {
		init_on_runtime_next(emu);
		return;
	}
	if (emu->phase != PH_INVOKE || !emu->cur.responded)
		return;
	emu->cur.rt_done = 1;
	emu->cur.t_rt_done = emu_mono_ms();
	if (emu->opt.runtime_done_delay_ms == 0)
		emit_runtime_done(emu, emu->cur.status, emu->cur.error_type);
	else if (emu->opt.runtime_done_delay_ms > 0) {
		struct timeval tv = { emu->opt.runtime_done_delay_ms / 1000,
		    (emu->opt.runtime_done_delay_ms % 1000) * 1000 };
		if (evtimer_add(emu->rtdone_timer, &tv) != 0)
			emit_runtime_done(emu, emu->cur.status, emu->cur.error_type);
	}
	check_invoke_done(emu);
}

void
lifecycle_on_runtime_result(struct emu *emu, int is_error, size_t bytes, const char *error_type)
{
	emu->cur.responded = 1;
	emu->cur.t_response = emu_mono_ms();
	emu->cur.produced = bytes;
	emu->cur.status = is_error ? "error" : "success";
	emu->cur.error_type = NULL;
	if (is_error && error_type != NULL) {
		/* A copy: the header dies with the request. */
		emu_msg(emu->cur.error_buf, sizeof(emu->cur.error_buf), "%s", error_type);
		emu->cur.error_type = emu->cur.error_buf;
	}
}

void
lifecycle_on_runtime_init_error(struct emu *emu, const char *type)
{
	init_fail(emu, type, "the runtime called /runtime/init/error", "error");
}

static void
describe_status(const struct child *c, char *buf, size_t bufsz)
{
	if (c->term_signal != 0)
		emu_msg(buf, bufsz, "was ended by signal %d", c->term_signal);
	else
		emu_msg(buf, bufsz, "exited with status %d", c->exit_code);
}

void
lifecycle_on_child_exit(struct emu *emu, struct agent *a)
{
	const struct child *c = a != NULL ? &a->proc : &emu->rt.proc;
	char how[64], msg[256];
	const char *type;

	if (a != NULL)
		tel_agent_gone(emu->tel, a);
	if (emu->phase >= PH_SHUTDOWN_RT) {
		shutdown_on_child_exit(emu, a);
		return;
	}
	describe_status(c, how, sizeof(how));
	if (a != NULL) {
		type = a->state == AG_INIT_ERROR ? "Extension.InitError" :
		    a->state == AG_EXIT_ERROR ? "Extension.ExitError" : "Extension.Crash";
		emu_msg(msg, sizeof(msg), "extension '%s' %s outside shutdown", a->name, how);
		if (strcmp(type, "Extension.Crash") == 0)
			ext_add_error(a, "platform", type, msg);
	} else {
		type = "Runtime.ExitError";
		emu_msg(msg, sizeof(msg), "the runtime %s", how);
	}
	if (emu->phase == PH_INIT_EXT || emu->phase == PH_INIT_RT) {
		init_fail(emu, type, msg, "error");
		return;
	}
	emu_warnx("%s: resetting the sandbox", msg);
	if (emu->phase == PH_INVOKE)
		lifecycle_fail_invoke(emu, a != NULL ? "failure" : "error", type, "failure");
	else
		reset_begin(emu, "failure");
}

void
lifecycle_fail_invoke(struct emu *emu, const char *status, const char *error_type,
    const char *reason)
{
	char when[40];

	lifecycle_disarm(emu);
	if (strcmp(status, "timeout") == 0) {
		emu_iso_time(emu_epoch_ms(), when, sizeof(when));
		rep_line(emu, "%s %s Task timed out after %.2f seconds", when, emu->cur.id,
		    (double)emu->opt.timeout_ms / 1000.0);
	}
	/* A runtimeDone still delayed was a success; the reset's own one carries the failure. */
	lifecycle_settle_runtime_done(emu, 1);
	emu->cur.status = status;
	emu_msg(emu->cur.error_buf, sizeof(emu->cur.error_buf), "%s", error_type);
	emu->cur.error_type = emu->cur.error_buf;
	end_invoke(emu, 1);
	reset_begin(emu, reason);
}

void
lifecycle_interrupt(struct emu *emu, int sig)
{
	emu_warnx("received signal %d: killing every process", sig);
	shutdown_interrupt(emu);
}

void
lifecycle_abort_polls(struct emu *emu)
{
	int i;

	if (emu->rt.next_req != NULL)
		http_reply_abort(emu->rt.next_req);
	emu->rt.next_req = NULL;
	for (i = 0; i < emu->nagents; i++) {
		if (emu->agents[i]->next_req != NULL)
			http_reply_abort(emu->agents[i]->next_req);
		emu->agents[i]->next_req = NULL;
	}
}

void
lifecycle_free(struct emu *emu)
{
	int i;

	lifecycle_abort_polls(emu);
	reset_free_agents(emu);
	for (i = 0; emu->invokes != NULL && i < emu->ninvokes; i++)
		free(emu->invokes[i].response);
	free(emu->invokes);
	emu->invokes = NULL;
	free(emu->cur.response);
	emu->cur.response = NULL;
	for (i = 0; i < emu->ninits; i++) {
		free(emu->inits[i].error);
		free(emu->inits[i].error_msg);
	}
	free(emu->inits);
	emu->inits = NULL;
	emu->ninits = 0;
	if (emu->phase_timer != NULL)
		event_free(emu->phase_timer);
	if (emu->rtdone_timer != NULL)
		event_free(emu->rtdone_timer);
	emu->phase_timer = emu->rtdone_timer = NULL;
}
