/* shutdown.c -- the Shutdown phase: runtime share, SHUTDOWN events, deadline kills, finishing. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "lifecycle.h"
#include "proc.h"
#include "report.h"
#include "reset.h"
#include "shutdown.h"
#include "telemetry.h"
#include "util.h"

/* lambda-api.md A.6: the runtime's share, and the window with internal extensions only. */
#define RUNTIME_SHARE_MS	300L	/* AWS reserves up to 300 ms for the runtime... */
#define INTERNAL_SHARE_MS	500L	/* ...500 ms with a registered internal extension */
#define REAP_WAIT_MS		2000.0	/* after SIGKILL at the deadline (maxProcessExitWait) */
#define INTERRUPT_WAIT_MS	1000.0
#define FINAL_WAIT_MS		1000.0	/* children left once the run is over */
#define FINAL_POLL_MS		20.0

static void stage_extensions(struct emu *emu);

/* 1 if an internal (internal 1) or external (internal 0) extension registered. */
static int
any_registered(const struct emu *emu, int internal)
{
	int i;

	for (i = 0; i < emu->nagents; i++) {
		const struct agent *a = emu->agents[i];
		if (a->registered && (a->path == NULL) == internal)
			return 1;
	}
	return 0;
}

static long
min_long(long a, long b)
{
	return a < b ? a : b;
}

/*
 * The whole Shutdown phase: --shutdown-ms (2,000 ms) with external extensions,
 * 500 ms with internal ones only, 0 ms with none.
 */
static long
window_ms(const struct emu *emu)
{
	if (any_registered(emu, 0))
		return emu->opt.shutdown_ms;
	if (any_registered(emu, 1))
		return min_long(emu->opt.shutdown_ms, INTERNAL_SHARE_MS);
	return 0;
}

/* The runtime's share; without external extensions it is the whole window. */
static long
runtime_share_ms(const struct emu *emu)
{
	long share = any_registered(emu, 1) ? INTERNAL_SHARE_MS : RUNTIME_SHARE_MS;

	if (!any_registered(emu, 0))
		return window_ms(emu);
	return min_long(emu->opt.shutdown_ms / 2, share);
}

static int
terminal(enum agent_state st)
{
	return st == AG_INIT_ERROR || st == AG_EXIT_ERROR || st == AG_LAUNCH_ERROR;
}

/*
 * Kills every child left, including those that left their process group:
 * Lambda tears the whole sandbox down. Orphans reach us (the subreaper) as
 * their parents die, so this runs on every tick until no child is left.
 */
static void
sweep(struct emu *emu)
{
	if (emu->strays.unlisted || proc_kill_strays(emu) == 0)
		return;
	emu->strays.unlisted = 1;
	emu_warnx("cannot list child processes in /proc (%s): processes that left their "
	    "process group may outlive the run", strerror(errno));
}

/*
 * Everything ended (or was given up on): after a reset with invokes left, a
 * fresh sandbox; else the summary, the report, then exit the loop.
 */
static void
finish(struct emu *emu)
{
	if (emu->phase == PH_DONE)
		return;
	if (emu->t_shut_end <= 0)
		emu->t_shut_end = emu_mono_ms();
	lifecycle_disarm(emu);
	/* Long polls that will never get an event are answered while the loop still runs. */
	lifecycle_abort_polls(emu);
	lifecycle_settle_runtime_done(emu, 0);
	/* Leaders are gone; their process groups may not be. Lambda tears all down. */
	proc_kill_groups(emu);
	sweep(emu);
	if (reset_continue(emu))
		return;
	emu->phase = PH_DONE;
	emu->exit_status = rep_exit_status(emu);
	rep_summary(emu);
	if (rep_write_json(emu) != 0)
		emu->exit_status = 1;
	emu->done_at = emu_mono_ms();
	lifecycle_arm(emu, 0);
}

void
shutdown_begin(struct emu *emu, const char *reason)
{
	double now;

	if (emu->shutdown_started)
		return;
	emu->shutdown_started = 1;
	emu->shutdown_reason = reason;
	lifecycle_disarm(emu);
	lifecycle_settle_runtime_done(emu, 0);
	/* An idle sandbox is thawed to run its Shutdown phase. */
	proc_freeze(emu, 0);
	tel_pause(emu->tel, 0);
	now = emu_mono_ms();
	emu->t_shut_start = now;
	emu->shut_deadline = now + (double)window_ms(emu);
	emu->shut_deadline_epoch_ms = emu_epoch_ms() + window_ms(emu);
	emu->phase = PH_SHUTDOWN_RT;
	if (!emu->rt.proc.running) {
		stage_extensions(emu);
		return;
	}
	if (!any_registered(emu, 0) && !any_registered(emu, 1)) {
		/* No extensions: Lambda gives the runtime 0 ms. */
		proc_kill(&emu->rt.proc, 1);
		stage_extensions(emu);
		return;
	}
	proc_signal(&emu->rt.proc, SIGTERM);
	lifecycle_arm(emu, (double)runtime_share_ms(emu));
}

static void
stage_extensions(struct emu *emu)
{
	int i;

	if (emu->rt.proc.running && !emu->rt.proc.killed)
		proc_kill(&emu->rt.proc, 0);	/* its share is over */
	emu->phase = PH_SHUTDOWN_EXT;
	for (i = 0; i < emu->nagents; i++) {
		struct agent *a = emu->agents[i];

		if (a->path == NULL || !a->proc.running)
			continue;
		if (a->registered && (a->events & EMU_EV_SHUTDOWN)) {
			a->shutdown_pending = 1;
			if (a->next_req != NULL && a->state == AG_READY)
				ext_release_shutdown(emu, a);
		} else {
			/* Not subscribed to SHUTDOWN: Lambda kills it at once. */
			proc_kill(&a->proc, 1);
		}
	}
	if (!proc_any_running(emu)) {
		finish(emu);
		return;
	}
	lifecycle_arm(emu, emu->shut_deadline - emu_mono_ms());
}

void
shutdown_on_agent_next(struct emu *emu, struct agent *a)
{
	if ((emu->phase == PH_SHUTDOWN_EXT || emu->phase == PH_REAP) && a->shutdown_pending)
		ext_release_shutdown(emu, a);
	/* Otherwise the call stays parked: a second next after SHUTDOWN waits for the kill. */
}

void
shutdown_on_child_exit(struct emu *emu, struct agent *a)
{
	if (a != NULL && !terminal(a->state)) {
		const struct child *c = &a->proc;
		int clean = (c->killed && c->kill_expected) ||
		    (!c->killed && c->term_signal == 0 && c->exit_code == 0);
		a->state = clean ? AG_EXITED : AG_SHUTDOWN_FAILED;
	}
	switch (emu->phase) {
	case PH_SHUTDOWN_RT:
		/*
		 * The runtime's share is reserved even when it exits early, so
		 * extensions see the deadline AWS advertises (about 1.7 s of 2 s).
		 * Without external extensions nobody is left to wait for.
		 */
		if (a == NULL && !any_registered(emu, 0))
			stage_extensions(emu);
		break;
	case PH_SHUTDOWN_EXT:
	case PH_REAP:
		if (!proc_any_running(emu))
			finish(emu);
		break;
	default:
		break;
	}
}

static void
deadline(struct emu *emu)
{
	int i;

	emu->t_shut_end = emu_mono_ms();
	/* Those killed already (at the end of their share) are only not reaped yet. */
	if (emu->rt.proc.running && !emu->rt.proc.killed)
		proc_kill(&emu->rt.proc, 0);
	for (i = 0; i < emu->nagents; i++) {
		struct agent *a = emu->agents[i];
		if (!a->proc.running || a->proc.killed)
			continue;
		emu_warnx("extension '%s' did not exit by the shutdown deadline: SIGKILL", a->name);
		proc_kill(&a->proc, 0);
		if (!terminal(a->state))
			a->state = AG_SHUTDOWN_FAILED;
	}
	emu->phase = PH_REAP;
	lifecycle_arm(emu, REAP_WAIT_MS);
}

static void
stop_loop(struct emu *emu)
{
	if (emu->strays.killed > 0)
		emu_warnx("killed %d process(es) that left their process group",
		    emu->strays.killed);
	if (event_base_loopexit(emu->base, NULL) != 0)
		emu_warnx("cannot stop the event loop");
}

/* After finish: wait (bounded) until every child is reaped. */
static void
done_tick(struct emu *emu)
{
	sweep(emu);
	if (!proc_children_left()) {
		stop_loop(emu);
	} else if (emu_mono_ms() - emu->done_at > FINAL_WAIT_MS) {
		emu_warnx("some child processes did not end within %.0f ms of SIGKILL; leaving them",
		    FINAL_WAIT_MS);
		stop_loop(emu);
	} else {
		lifecycle_arm(emu, FINAL_POLL_MS);
	}
}

void
shutdown_on_timer(struct emu *emu)
{
	switch (emu->phase) {
	case PH_SHUTDOWN_RT:
		stage_extensions(emu);
		break;
	case PH_SHUTDOWN_EXT:
		deadline(emu);
		break;
	case PH_REAP:
		emu_warnx("some processes did not end after SIGKILL; giving up on them");
		finish(emu);
		break;
	case PH_DONE:
		done_tick(emu);
		break;
	default:
		break;
	}
}

void
shutdown_interrupt(struct emu *emu)
{
	int i;

	if (emu->phase == PH_DONE) {
		sweep(emu);
		stop_loop(emu);
		return;
	}
	if (emu->interrupted > 0) {
		/* A second signal: stop waiting for the kills. */
		emu->interrupted++;
		finish(emu);
		return;
	}
	emu->interrupted = 1;
	lifecycle_disarm(emu);
	lifecycle_settle_runtime_done(emu, 0);
	if (!emu->shutdown_started) {
		emu->shutdown_started = 1;
		emu->t_shut_start = emu_mono_ms();
	}
	proc_kill(&emu->rt.proc, 0);
	for (i = 0; i < emu->nagents; i++)
		proc_kill(&emu->agents[i]->proc, 0);
	emu->phase = PH_REAP;
	if (!proc_any_running(emu)) {
		finish(emu);
		return;
	}
	lifecycle_arm(emu, INTERRUPT_WAIT_MS);
}
