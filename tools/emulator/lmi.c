/* lmi.c -- the Invoke phase on Lambda Managed Instances: concurrent invokes, no freeze, no runtimeDone. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "emu.h"
#include "httpd.h"
#include "invoke.h"
#include "lmi.h"
#include "phase.h"
#include "report.h"
#include "rtapi.h"
#include "util.h"

#define MAX_PARKED	256	/* invocation/next calls held at once */

/* One concurrency slot: an invoke running in it, or the gap before its next one. */
struct slot {
	struct emu	*emu;
	struct invoke_cur cur;		/* the invoke, as invoke.c keeps the on-demand one */
	int		 busy;		/* an invoke started and not ended */
	int		 released;	/* ...and handed to a runtime worker */
	struct event	*timer;		/* the invoke's timeout, or the gap */
};

struct lmi {
	struct slot	*slots;
	int		 nslots;
	struct evhttp_request *parked[MAX_PARKED];
	int		 nparked;
	int		 started;	/* invokes started so far */
	int		 running;	/* released and not ended */
};

static struct lmi *
L(const struct emu *emu)
{
	return emu->lmi;
}

/* Runs fn on slot s as if its invoke were the current one (invoke.c works on inv.cur). */
static void
with_cur(struct emu *emu, struct slot *s, void (*fn)(struct emu *))
{
	struct invoke_cur saved = emu->inv.cur;

	emu->inv.cur = s->cur;
	fn(emu);
	s->cur = emu->inv.cur;
	emu->inv.cur = saved;
}

static void
arm(struct event *ev, double ms)
{
	struct timeval tv;
	long long us = (long long)((ms < 0 ? 0 : ms) * 1000.0);

	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	if (evtimer_add(ev, &tv) != 0)
		emu_warnx("cannot arm an invoke timer");
}

static void start_invoke(struct emu *emu, struct slot *s);

static void
begin(struct emu *emu)
{
	invoke_begin(emu, 0);
}

static void
check_all_done(struct emu *emu)
{
	struct lmi *l = L(emu);
	int i;

	if (l->started < emu->opt.invokes)
		return;
	for (i = 0; i < l->nslots; i++) {
		if (l->slots[i].busy)
			return;
	}
	phase_invokes_done(emu);
}

/* The invoke in s ended (answered or failed): recorded; the slot rests, then goes on. */
static void
end_slot(struct emu *emu, struct slot *s)
{
	struct lmi *l = L(emu);

	(void)evtimer_del(s->timer);
	if (s->released)
		l->running--;
	with_cur(emu, s, invoke_end);
	free(s->cur.response);
	s->cur.response = NULL;
	s->busy = s->released = 0;
	if (l->started < emu->opt.invokes && emu->ph.phase == PH_INVOKE) {
		arm(s->timer, (double)emu_random_between(emu->opt.gap_ms, emu->opt.gap_max_ms));
		return;
	}
	check_all_done(emu);
}

/* Hands s's invoke to a parked runtime worker, if one waits. */
static void
release(struct emu *emu, struct slot *s)
{
	struct lmi *l = L(emu);
	struct evhttp_request *req;

	if (l->nparked == 0 || s->released)
		return;
	req = l->parked[0];
	memmove(&l->parked[0], &l->parked[1], (size_t)(--l->nparked) * sizeof(l->parked[0]));
	s->released = 1;
	s->cur.t_release = emu_mono_ms();
	l->running++;
	if (l->running > emu->inv.max_concurrent)
		emu->inv.max_concurrent = l->running;
	emu->sb.rt.next_req = req;
	with_cur(emu, s, rt_release_invoke);
}

static void
on_slot_timer(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;
	struct emu *emu = s->emu;
	char when[40];

	(void)fd;
	(void)what;
	if (!s->busy) {
		start_invoke(emu, s);	/* the gap is over */
		return;
	}
	emu_iso_time(emu_epoch_ms(), when, sizeof(when));
	rep_line(emu, "%s %s Task timed out after %.2f seconds", when, s->cur.id,
	    (double)emu->opt.timeout_ms / 1000.0);
	s->cur.status = "timeout";
	emu_msg(s->cur.error_buf, sizeof(s->cur.error_buf), "Sandbox.Timedout");
	s->cur.error_type = s->cur.error_buf;
	end_slot(emu, s);
	phase_lmi_failed(emu, "timeout");
}

static void
start_invoke(struct emu *emu, struct slot *s)
{
	struct lmi *l = L(emu);

	if (l->started >= emu->opt.invokes || emu->ph.phase != PH_INVOKE)
		return;
	l->started++;
	with_cur(emu, s, begin);
	s->cur.cold = l->started == 1;
	s->cur.rtdone_emitted = 1;	/* Managed Instances have no platform.runtimeDone */
	s->busy = 1;
	arm(s->timer, (double)emu->opt.timeout_ms);
	release(emu, s);
}

int
lmi_setup(struct emu *emu)
{
	struct lmi *l = calloc(1, sizeof(*l));
	int i;

	emu->lmi = l;
	if (l == NULL)
		goto oom;
	l->nslots = (int)emu->opt.concurrency;
	l->slots = calloc((size_t)l->nslots, sizeof(*l->slots));
	if (l->slots == NULL)
		goto oom;
	for (i = 0; i < l->nslots; i++) {
		l->slots[i].emu = emu;
		l->slots[i].timer = evtimer_new(emu->base, on_slot_timer, &l->slots[i]);
		if (l->slots[i].timer == NULL)
			goto oom;
	}
	return 0;
oom:
	emu_warnx("out of memory");
	return -1;
}

void
lmi_begin(struct emu *emu)
{
	struct lmi *l = L(emu);
	int i;

	if (emu->opt.invokes == 0) {
		phase_invokes_done(emu);
		return;
	}
	for (i = 0; i < l->nslots && emu->ph.phase == PH_INVOKE; i++)
		start_invoke(emu, &l->slots[i]);
}

void
lmi_on_runtime_next(struct emu *emu, struct evhttp_request *req)
{
	struct lmi *l = L(emu);
	int i;

	if (l->nparked >= MAX_PARKED) {
		http_reply_error(req, 403, "InvalidStateTransition",
		    "Too many concurrent invocation/next calls (%d)", MAX_PARKED);
		return;
	}
	l->parked[l->nparked++] = req;
	if (emu->ph.phase != PH_INVOKE)
		return;
	for (i = 0; i < l->nslots && l->nparked > 0; i++) {
		if (l->slots[i].busy && !l->slots[i].released)
			release(emu, &l->slots[i]);
	}
}

static struct slot *
find(const struct emu *emu, const char *id)
{
	struct lmi *l = L(emu);
	int i;

	for (i = 0; l != NULL && i < l->nslots; i++) {
		struct slot *s = &l->slots[i];
		if (s->busy && s->released && !s->cur.responded && strcmp(s->cur.id, id) == 0)
			return s;
	}
	return NULL;
}

int
lmi_known(const struct emu *emu, const char *id)
{
	return emu->ph.phase == PH_INVOKE && find(emu, id) != NULL;
}

void
lmi_on_result(struct emu *emu, const char *id, int is_error, size_t bytes,
    const char *error_type, char *body)
{
	struct slot *s = find(emu, id);

	if (s == NULL) {
		free(body);
		return;
	}
	s->cur.responded = 1;
	s->cur.t_response = emu_mono_ms();
	s->cur.produced = bytes;
	s->cur.status = is_error ? "error" : "success";
	s->cur.error_type = NULL;
	if (is_error && error_type != NULL) {
		emu_msg(s->cur.error_buf, sizeof(s->cur.error_buf), "%s", error_type);
		s->cur.error_type = s->cur.error_buf;
	}
	free(s->cur.response);
	s->cur.response = body;
	/* No runtimeDone and no extension gate: the invoke ends with its response. */
	end_slot(emu, s);
}

void
lmi_fail_all(struct emu *emu, const char *status, const char *error_type)
{
	struct lmi *l = L(emu);
	int i;

	if (l == NULL)
		return;
	l->started = (int)emu->opt.invokes;	/* no more */
	for (i = 0; i < l->nslots; i++) {
		struct slot *s = &l->slots[i];
		(void)evtimer_del(s->timer);
		if (!s->busy)
			continue;
		s->cur.status = status;
		emu_msg(s->cur.error_buf, sizeof(s->cur.error_buf), "%s", error_type);
		s->cur.error_type = s->cur.error_buf;
		if (s->released)
			l->running--;
		with_cur(emu, s, invoke_end);
		free(s->cur.response);
		s->cur.response = NULL;
		s->busy = s->released = 0;
	}
}

void
lmi_abort_polls(struct emu *emu)
{
	struct lmi *l = L(emu);

	while (l != NULL && l->nparked > 0)
		http_reply_abort(l->parked[--l->nparked]);
}

void
lmi_free(struct emu *emu)
{
	struct lmi *l = L(emu);
	int i;

	if (l == NULL)
		return;
	lmi_abort_polls(emu);
	for (i = 0; l->slots != NULL && i < l->nslots; i++) {
		if (l->slots[i].timer != NULL)
			event_free(l->slots[i].timer);
		free(l->slots[i].cur.response);
	}
	free(l->slots);
	free(l);
	emu->lmi = NULL;
}
