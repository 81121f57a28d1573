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
#include "phase.h"
#include "proc.h"
#include "shutdown.h"
#include "util.h"

/* lambda-api.md A.6: the runtime's share, and the window with internal extensions only. */
#define RUNTIME_SHARE_MS	300L	/* AWS reserves up to 300 ms for the runtime... */
#define INTERNAL_SHARE_MS	500L	/* ...500 ms with a registered internal extension */
#define LMI_RUNTIME_MS		600L	/* Managed Instances: SIGTERM, then up to 600 ms */
#define REAP_WAIT_MS		2000.0	/* after SIGKILL at the deadline (maxProcessExitWait) */
#define INTERRUPT_WAIT_MS	1000.0

static void stage_extensions(struct emu *emu);

/* 1 if an internal (internal 1) or external (internal 0) extension registered. */
static int
any_registered(const struct emu *emu, int internal)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		const struct agent *a = emu->sb.agents[i];
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

	if (emu->opt.managed && any_registered(emu, 0))
		return min_long(emu->opt.shutdown_ms, LMI_RUNTIME_MS);
	if (!any_registered(emu, 0))
		return window_ms(emu);
	return min_long(emu->opt.shutdown_ms / 2, share);
}

static int
terminal(enum agent_state st)
{
	return st == AG_INIT_ERROR || st == AG_EXIT_ERROR || st == AG_LAUNCH_ERROR;
}

void
shutdown_finish(struct emu *emu)
{
	if (emu->shut.t_end <= 0)
		emu->shut.t_end = emu_mono_ms();
	phase_disarm(emu);
	/* Leaders are gone; their process groups may not be. Lambda tears all down. */
	proc_kill_groups(emu);
	proc_sweep(emu);
	phase_shutdown_done(emu);
}

void
shutdown_begin(struct emu *emu, const char *reason)
{
	double now;

	emu->shut.started = 1;
	emu->shut.reason = reason;
	emu->shut.t_end = 0;
	now = emu_mono_ms();
	emu->shut.t_start = now;
	emu->shut.deadline = now + (double)window_ms(emu);
	emu->shut.deadline_epoch_ms = emu_epoch_ms() + window_ms(emu);
	emu->shut.stage = SHUT_RT;
	if (!emu->sb.rt.proc.running) {
		stage_extensions(emu);
		return;
	}
	if (!any_registered(emu, 0) && !any_registered(emu, 1)) {
		/* No extensions: Lambda gives the runtime 0 ms. */
		proc_kill(&emu->sb.rt.proc, 1);
		stage_extensions(emu);
		return;
	}
	proc_signal(&emu->sb.rt.proc, SIGTERM);
	phase_arm(emu, (double)runtime_share_ms(emu));
}

static void
stage_extensions(struct emu *emu)
{
	int i;

	if (emu->sb.rt.proc.running && !emu->sb.rt.proc.killed)
		proc_kill(&emu->sb.rt.proc, 0);	/* its share is over */
	emu->shut.stage = SHUT_EXT;
	for (i = 0; i < emu->sb.nagents; i++) {
		struct agent *a = emu->sb.agents[i];

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
		shutdown_finish(emu);
		return;
	}
	phase_arm(emu, emu->shut.deadline - emu_mono_ms());
}

void
shutdown_on_agent_next(struct emu *emu, struct agent *a)
{
	if ((emu->shut.stage == SHUT_EXT || emu->shut.stage == SHUT_REAP) && a->shutdown_pending)
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
	if (emu->ph.phase != PH_SHUTDOWN)
		return;
	switch (emu->shut.stage) {
	case SHUT_RT:
		/*
		 * The runtime's share is reserved even when it exits early, so
		 * extensions see the deadline AWS advertises (about 1.7 s of 2 s).
		 * Without external extensions nobody is left to wait for. Managed
		 * Instances go on as soon as the runtime is gone (the deadline is
		 * 2 s after the start either way).
		 */
		if (a == NULL && (!any_registered(emu, 0) || emu->opt.managed))
			stage_extensions(emu);
		break;
	case SHUT_EXT:
	case SHUT_REAP:
		if (!proc_any_running(emu))
			shutdown_finish(emu);
		break;
	default:
		break;
	}
}

static void
deadline(struct emu *emu)
{
	int i;

	emu->shut.t_end = emu_mono_ms();
	/* Those killed already (at the end of their share) are only not reaped yet. */
	if (emu->sb.rt.proc.running && !emu->sb.rt.proc.killed)
		proc_kill(&emu->sb.rt.proc, 0);
	for (i = 0; i < emu->sb.nagents; i++) {
		struct agent *a = emu->sb.agents[i];
		if (!a->proc.running || a->proc.killed)
			continue;
		emu_warnx("extension '%s' did not exit by the shutdown deadline: SIGKILL", a->name);
		proc_kill(&a->proc, 0);
		if (!terminal(a->state))
			a->state = AG_SHUTDOWN_FAILED;
	}
	emu->shut.stage = SHUT_REAP;
	phase_arm(emu, REAP_WAIT_MS);
}

void
shutdown_on_timer(struct emu *emu)
{
	switch (emu->shut.stage) {
	case SHUT_RT:
		stage_extensions(emu);
		break;
	case SHUT_EXT:
		deadline(emu);
		break;
	case SHUT_REAP:
		emu_warnx("some processes did not end after SIGKILL; giving up on them");
		shutdown_finish(emu);
		break;
	}
}

void
shutdown_interrupt(struct emu *emu)
{
	int i;

	if (!emu->shut.started) {
		emu->shut.started = 1;
		emu->shut.t_start = emu_mono_ms();
		emu->shut.t_end = 0;
	}
	proc_kill(&emu->sb.rt.proc, 0);
	for (i = 0; i < emu->sb.nagents; i++)
		proc_kill(&emu->sb.agents[i]->proc, 0);
	emu->shut.stage = SHUT_REAP;
	if (!proc_any_running(emu)) {
		shutdown_finish(emu);
		return;
	}
	phase_arm(emu, INTERRUPT_WAIT_MS);
}
