/* invoke.c -- the Invoke phase: START, release, the runtime and extension gates, runtimeDone, END/REPORT. */
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
#include "invoke.h"
#include "phase.h"
#include "report.h"
#include "rtapi.h"
#include "telemetry.h"
#include "util.h"

static void emit_runtime_done(struct emu *emu, const char *status, const char *error_type);

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
	    json_set(tr, "value", json_object_new_string(emu->inv.cur.trace)) != 0) {
		json_object_put(tr);
		return NULL;
	}
	return tr;
}

static void
on_rtdone_timer(evutil_socket_t fd, short what, void *arg)
{
	struct emu *emu = arg;

	(void)fd;
	(void)what;
	/* The timer only runs within its invoke: ending the invoke settles it first. */
	if (!emu->inv.cur.rtdone_emitted)
		emit_runtime_done(emu, emu->inv.cur.status, emu->inv.cur.error_type);
}

int
invoke_setup(struct emu *emu)
{
	emu->inv.rtdone_timer = evtimer_new(emu->base, on_rtdone_timer, emu);
	emu->inv.recs = calloc((size_t)emu->opt.invokes + 1, sizeof(*emu->inv.recs));
	if (emu->inv.rtdone_timer == NULL || emu->inv.recs == NULL) {
		emu_warnx("out of memory");
		return -1;
	}
	return 0;
}

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

	emu->inv.cur.rtdone_emitted = 1;
	bad |= json_set(m, "durationMs", json_ms(runtime_ms(&emu->inv.cur)));
	bad |= json_set(m, "producedBytes", json_object_new_int64((int64_t)emu->inv.cur.produced));
	bad |= json_set(rec, "requestId", json_object_new_string(emu->inv.cur.id));
	bad |= json_set(rec, "status", json_object_new_string(status));
	if (error_type != NULL)
		bad |= json_set(rec, "errorType", json_object_new_string(error_type));
	bad |= json_set(rec, "metrics", m);
	bad |= json_set(rec, "tracing", tracing_json(emu));
	tel_emit_checked(emu->tel, "platform.runtimeDone", rec, bad);
}

void
invoke_settle_runtime_done(struct emu *emu, int emit_now)
{
	int pending = event_pending(emu->inv.rtdone_timer, EV_TIMEOUT, NULL);

	if (pending)
		(void)evtimer_del(emu->inv.rtdone_timer);
	if (pending && emit_now && !emu->inv.cur.rtdone_emitted)
		emit_runtime_done(emu, emu->inv.cur.status, emu->inv.cur.error_type);
}

void
invoke_begin(struct emu *emu, int cold)
{
	struct json_object *rec = json_object_new_object();
	char root[25] = "000000000000000000000000", parent[17] = "0000000000000000";
	int n, bad = 0;

	free(emu->inv.cur.response);
	memset(&emu->inv.cur, 0, sizeof(emu->inv.cur));
	emu->inv.cur.status = "success";
	emu->inv.cur.cold = cold;
	if (emu_uuid4(emu->inv.cur.id) != 0 || emu_random_hex(root, 24) != 0 ||
	    emu_random_hex(parent, 16) != 0)
		emu_warnx("cannot read random bytes for the request id");
	n = snprintf(emu->inv.cur.trace, sizeof(emu->inv.cur.trace), "Root=1-%08llx-%s;Parent=%s;Sampled=0",
	    (unsigned long long)(emu_epoch_ms() / 1000), root, parent);
	if (n < 0 || (size_t)n >= sizeof(emu->inv.cur.trace))
		emu->inv.cur.trace[0] = '\0';
	emu->inv.cur.t_start = emu_mono_ms();
	emu->inv.cur.deadline_epoch_ms = emu_epoch_ms() + emu->opt.timeout_ms;
	rep_line(emu, "START RequestId: %s Version: $LATEST", emu->inv.cur.id);
	bad |= json_set(rec, "requestId", json_object_new_string(emu->inv.cur.id));
	bad |= json_set(rec, "version", json_object_new_string("$LATEST"));
	bad |= json_set(rec, "tracing", tracing_json(emu));
	tel_emit_checked(emu->tel, "platform.start", rec, bad);
}

void
invoke_release(struct emu *emu)
{
	int i;

	emu->inv.cur.t_release = emu_mono_ms();
	rt_release_invoke(emu);
	for (i = 0; i < emu->sb.nagents; i++) {
		struct agent *a = emu->sb.agents[i];
		if (a->state == AG_READY && (a->events & EMU_EV_INVOKE))
			ext_release_invoke(emu, a);
	}
	phase_arm(emu, emu->inv.cur.t_start + (double)emu->opt.timeout_ms - emu->inv.cur.t_release);
}

/* The init duration a REPORT carries: a re-init's, or the first init's on invoke 1; -1: none. */
static double
report_init_ms(const struct emu *emu, const struct invoke_rec *r)
{
	const struct init_rec *in = NULL;

	if (r->reinit > 0)
		in = &emu->init.recs[r->reinit - 1];
	else if (emu->inv.n == 1 && emu->init.n > 0)
		in = &emu->init.recs[0];
	return in != NULL && in->t_end > 0 ? in->t_end - in->t_start : -1;
}

/*
 * Post-response time: from the runtime's response to the end of the invoke
 * (the later of the runtime's next and the last extension's next), and to each
 * INVOKE subscriber's next (0 for one that called next before the response).
 */
static void
record_nexts(const struct emu *emu, struct invoke_rec *r, double now)
{
	const struct invoke_cur *c = &emu->inv.cur;
	int i;

	r->nnext = 0;
	r->post_response_ms = c->responded && now > c->t_response ? now - c->t_response : 0;
	for (i = 0; i < emu->sb.nagents; i++) {
		const struct agent *a = emu->sb.agents[i];
		double ms;

		if (!a->registered || !(a->events & EMU_EV_INVOKE) || c->t_next[i] <= 0)
			continue;
		ms = c->responded && c->t_next[i] > c->t_response ? c->t_next[i] - c->t_response : 0;
		r->next[r->nnext].agent = a;
		r->next[r->nnext].ms = ms;
		r->nnext++;
	}
}

/* Records the invoke, emits platform.report, prints END/REPORT. */
static void
end_invoke(struct emu *emu, int reset)
{
	struct invoke_cur *c = &emu->inv.cur;
	struct invoke_rec *r = &emu->inv.recs[emu->inv.n];
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
	r->reinit = c->reinit <= emu->init.n ? c->reinit : 0;
	r->cold = c->cold;
	record_nexts(emu, r, now);
	c->response = NULL;
	emu->inv.n++;
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
	bad |= json_set(m, "memorySizeMB", json_object_new_int64(emu->fn.memory_mb));
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
		    c->id, d, (long long)billed_ms(r->duration_ms), emu->fn.memory_mb, r->max_memory_mb, init, p,
		    strcmp(c->status, "success") != 0 ? "\tStatus: " : "",
		    strcmp(c->status, "success") != 0 ? c->status : "");
	}
}

void
invoke_check_done(struct emu *emu)
{
	int i;

	if (emu->ph.phase != PH_INVOKE || !emu->inv.cur.rt_done)
		return;
	for (i = 0; i < emu->sb.nagents; i++) {
		const struct agent *a = emu->sb.agents[i];
		if (a->registered && (a->events & EMU_EV_INVOKE) && a->state == AG_RUNNING)
			return;
	}
	/* A runtimeDone still delayed goes out now, before the report (its order in Lambda). */
	invoke_settle_runtime_done(emu, 1);
	end_invoke(emu, 0);
	phase_invoke_done(emu);
}

void
invoke_on_agent_next(struct emu *emu, struct agent *a)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i] == a)
			emu->inv.cur.t_next[i] = emu_mono_ms();
	}
	invoke_check_done(emu);
}

void
invoke_on_runtime_next(struct emu *emu)
{
	if (emu->ph.phase != PH_INVOKE || !emu->inv.cur.responded)
		return;
	emu->inv.cur.rt_done = 1;
	emu->inv.cur.t_rt_done = emu_mono_ms();
	if (emu->opt.runtime_done_delay_ms == 0)
		emit_runtime_done(emu, emu->inv.cur.status, emu->inv.cur.error_type);
	else if (emu->opt.runtime_done_delay_ms > 0) {
		struct timeval tv = { emu->opt.runtime_done_delay_ms / 1000,
		    (emu->opt.runtime_done_delay_ms % 1000) * 1000 };
		if (evtimer_add(emu->inv.rtdone_timer, &tv) != 0)
			emit_runtime_done(emu, emu->inv.cur.status, emu->inv.cur.error_type);
	}
	invoke_check_done(emu);
}

void
invoke_on_runtime_result(struct emu *emu, int is_error, size_t bytes, const char *error_type)
{
	emu->inv.cur.responded = 1;
	emu->inv.cur.t_response = emu_mono_ms();
	emu->inv.cur.produced = bytes;
	emu->inv.cur.status = is_error ? "error" : "success";
	emu->inv.cur.error_type = NULL;
	if (is_error && error_type != NULL) {
		/* A copy: the header dies with the request. */
		emu_msg(emu->inv.cur.error_buf, sizeof(emu->inv.cur.error_buf), "%s", error_type);
		emu->inv.cur.error_type = emu->inv.cur.error_buf;
	}
}

void
invoke_fail(struct emu *emu, const char *status, const char *error_type)
{
	char when[40];

	if (strcmp(status, "timeout") == 0) {
		emu_iso_time(emu_epoch_ms(), when, sizeof(when));
		rep_line(emu, "%s %s Task timed out after %.2f seconds", when, emu->inv.cur.id,
		    (double)emu->opt.timeout_ms / 1000.0);
	}
	/* A runtimeDone still delayed was a success; the reset's own one carries the failure. */
	invoke_settle_runtime_done(emu, 1);
	emu->inv.cur.status = status;
	emu_msg(emu->inv.cur.error_buf, sizeof(emu->inv.cur.error_buf), "%s", error_type);
	emu->inv.cur.error_type = emu->inv.cur.error_buf;
	end_invoke(emu, 1);
}

void
invoke_end(struct emu *emu)
{
	end_invoke(emu, 0);
}

void
invoke_free(struct emu *emu)
{
	int i;

	for (i = 0; emu->inv.recs != NULL && i < emu->inv.n; i++)
		free(emu->inv.recs[i].response);
	free(emu->inv.recs);
	emu->inv.recs = NULL;
	free(emu->inv.cur.response);
	emu->inv.cur.response = NULL;
	if (emu->inv.rtdone_timer != NULL)
		event_free(emu->inv.rtdone_timer);
	emu->inv.rtdone_timer = NULL;
}
