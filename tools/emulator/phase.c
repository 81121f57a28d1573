/* phase.c -- the phase dispatcher: every transition of the run, the phase timer, event routing. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "init.h"
#include "invoke.h"
#include "lmi.h"
#include "phase.h"
#include "proc.h"
#include "report.h"
#include "reset.h"
#include "shutdown.h"
#include "telemetry.h"
#include "util.h"

#define FINAL_WAIT_MS	1000.0	/* children left once the run is over */
#define FINAL_POLL_MS	20.0

static void enter_shutdown(struct emu *emu, const char *reason);

void
phase_arm(struct emu *emu, double ms)
{
	struct timeval tv;
	long long us;

	if (ms < 0)
		ms = 0;
	us = (long long)(ms * 1000.0);
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	if (evtimer_add(emu->ph.timer, &tv) != 0)
		emu_warnx("cannot arm the phase timer");
}

void
phase_disarm(struct emu *emu)
{
	if (emu->ph.timer != NULL)
		(void)evtimer_del(emu->ph.timer);
}

/* The time before the next invoke: --gap-ms, or a random one in its range. */
static double
gap_ms(const struct emu *emu)
{
	return (double)emu_random_between(emu->opt.gap_ms, emu->opt.gap_max_ms);
}

/* Records the instant of a freeze (on 1) or of the thaw that ends it, for the report. */
static void
note_freeze(struct emu *emu, int on)
{
	struct freeze_rec *v;

	if (!on) {
		if (emu->ph.nfreezes > 0 && emu->ph.freezes[emu->ph.nfreezes - 1].thawed_at == 0)
			emu->ph.freezes[emu->ph.nfreezes - 1].thawed_at = emu_epoch_ms_f();
		return;
	}
	v = realloc(emu->ph.freezes, (size_t)(emu->ph.nfreezes + 1) * sizeof(*v));
	if (v == NULL) {
		emu_warnx("out of memory: freeze %d is not in the report", emu->ph.nfreezes + 1);
		return;
	}
	emu->ph.freezes = v;
	v[emu->ph.nfreezes].frozen_at = emu_epoch_ms_f();
	v[emu->ph.nfreezes].thawed_at = 0;
	emu->ph.nfreezes++;
}

/* Freeze (1) or thaw (0) the sandbox: its process groups and telemetry delivery. */
static void
freeze(struct emu *emu, int on)
{
	/* Managed Instances never freeze. */
	if (on && (emu->opt.freeze == FREEZE_NONE || emu->opt.managed))
		return;
	tel_pause(emu->tel, on);
	if (emu->sb.frozen == on)
		return;
	/* The instants bracket the signals: frozen_at before SIGSTOP, thawed_at after SIGCONT. */
	if (on)
		note_freeze(emu, 1);
	proc_freeze(emu, on);
	if (!on)
		note_freeze(emu, 0);
}

/* Answers every parked event/next and invocation/next long poll with an abort. */
static void
abort_polls(struct emu *emu)
{
	int i;

	if (emu->sb.rt.next_req != NULL)
		http_reply_abort(emu->sb.rt.next_req);
	emu->sb.rt.next_req = NULL;
	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->next_req != NULL)
			http_reply_abort(emu->sb.agents[i]->next_req);
		emu->sb.agents[i]->next_req = NULL;
	}
	lmi_abort_polls(emu);
}

/* ---- transitions ---- */

/* A reset: the Shutdown phase with a failure reason, counted; then maybe a new sandbox. */
static void
reset(struct emu *emu, const char *reason)
{
	if (emu->ph.phase == PH_SHUTDOWN || emu->ph.phase == PH_DONE)
		return;
	emu->ph.resets++;
	emu->ph.resetting = 1;
	enter_shutdown(emu, reason);
}

/* The invoke failed (timeout, failure or error): recorded and reported, then a reset. */
static void
fail_invoke(struct emu *emu, const char *status, const char *error_type, const char *reason)
{
	phase_disarm(emu);
	invoke_fail(emu, status, error_type);
	reset(emu, reason);
}

/* START, then either the release or (after a reset) a re-init inside the invoke. */
static void
start_invoke(struct emu *emu)
{
	freeze(emu, 0);
	invoke_begin(emu, emu->ph.need_init || emu->ph.warm == 0);
	if (!emu->ph.need_init) {
		emu->ph.phase = PH_INVOKE;
		invoke_release(emu);
		return;
	}
	/* After a reset, the invoke first re-runs the whole init (a suppressed init). */
	emu->ph.need_init = 0;
	emu->inv.cur.reinit = emu->init.n + 1;
	emu->ph.phase = PH_INIT;
	if (init_begin(emu, 1) != 0)
		fail_invoke(emu, "failure", "Sandbox.Failure", "failure");
}

static void
next_invoke(struct emu *emu)
{
	if (emu->inv.n < emu->opt.invokes)
		start_invoke(emu);
	else
		enter_shutdown(emu, emu->opt.shutdown_reason);
}

static void
enter_shutdown(struct emu *emu, const char *reason)
{
	if (emu->ph.phase == PH_SHUTDOWN || emu->ph.phase == PH_DONE)
		return;
	phase_disarm(emu);
	invoke_settle_runtime_done(emu, 0);
	/* An idle sandbox is thawed to run its Shutdown phase. */
	freeze(emu, 0);
	emu->ph.phase = PH_SHUTDOWN;
	shutdown_begin(emu, reason);
}

void
phase_init_done(struct emu *emu)
{
	emu->ph.warm = 0;
	if (emu->opt.managed) {
		/* Managed Instances: the invokes run concurrently, each slot on its own. */
		emu->ph.phase = PH_INVOKE;
		lmi_begin(emu);
	} else if (init_cur(emu)->in_invoke) {
		/* The re-init ran inside this invoke: release it now. */
		emu->ph.phase = PH_INVOKE;
		invoke_release(emu);
	} else if (emu->opt.invokes == 0) {
		enter_shutdown(emu, emu->opt.shutdown_reason);
	} else {
		start_invoke(emu);
	}
}

void
phase_init_failed(struct emu *emu, const char *type, const char *status)
{
	int timeout = strcmp(status, "timeout") == 0;

	if (!init_cur(emu)->in_invoke) {
		reset(emu, "failure");
		return;
	}
	/* A failed re-init fails its invoke: timeout, failure (platform) or error (runtime). */
	fail_invoke(emu, timeout ? "timeout" : strncmp(type, "Runtime.", 8) == 0 ? "error" :
	    "failure", type, timeout ? "timeout" : "failure");
}

void
phase_invoke_done(struct emu *emu)
{
	phase_disarm(emu);
	emu->ph.warm++;
	/* Everyone called next: freeze until the next event. */
	emu->ph.phase = PH_GAP;
	freeze(emu, 1);
	phase_arm(emu, gap_ms(emu));
}

void
phase_invokes_done(struct emu *emu)
{
	if (emu->ph.phase == PH_INVOKE)
		enter_shutdown(emu, emu->opt.shutdown_reason);
}

void
phase_lmi_failed(struct emu *emu, const char *reason)
{
	if (emu->ph.phase != PH_INVOKE)
		return;
	lmi_fail_all(emu, "failure", "Sandbox.Failure");
	reset(emu, reason);
}

void
phase_shutdown_done(struct emu *emu)
{
	if (emu->ph.phase == PH_DONE)
		return;
	phase_disarm(emu);
	/* Long polls that will never get an event are answered while the loop still runs. */
	abort_polls(emu);
	invoke_settle_runtime_done(emu, 0);
	/* Managed Instances: no re-init in this emulator; the run ends. */
	if (emu->ph.resetting && !emu->ph.interrupted && emu->inv.n < emu->opt.invokes &&
	    !emu->opt.managed && reset_renew(emu) == 0) {
		/* The next invoke comes as usual, and runs init first. */
		emu->ph.resetting = 0;
		emu->ph.need_init = 1;
		emu->shut.started = 0;
		emu->ph.phase = PH_GAP;
		phase_arm(emu, gap_ms(emu));
		return;
	}
	emu->ph.phase = PH_DONE;
	emu->ph.exit_status = rep_exit_status(emu);
	rep_summary(emu);
	if (rep_write_json(emu) != 0)
		emu->ph.exit_status = 1;
	emu->ph.done_at = emu_mono_ms();
	phase_arm(emu, 0);
}

/* ---- the end of the run ---- */

static void
stop_loop(struct emu *emu)
{
	if (emu->sb.strays.killed > 0)
		emu_warnx("killed %d process(es) that left their process group",
		    emu->sb.strays.killed);
	if (event_base_loopexit(emu->base, NULL) != 0)
		emu_warnx("cannot stop the event loop");
}

/* After the run: wait (bounded) until every child is reaped. */
static void
done_tick(struct emu *emu)
{
	proc_sweep(emu);
	if (!proc_children_left()) {
		stop_loop(emu);
	} else if (emu_mono_ms() - emu->ph.done_at > FINAL_WAIT_MS) {
		emu_warnx("some child processes did not end within %.0f ms of SIGKILL; leaving them",
		    FINAL_WAIT_MS);
		stop_loop(emu);
	} else {
		phase_arm(emu, FINAL_POLL_MS);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct emu *emu = arg;

	(void)fd;
	(void)what;
	switch (emu->ph.phase) {
	case PH_INIT:
		init_on_timer(emu);
		break;
	case PH_INVOKE:
		if (!emu->opt.managed)
			fail_invoke(emu, "timeout", "Sandbox.Timedout", "timeout");
		break;
	case PH_GAP:
		next_invoke(emu);
		break;
	case PH_SHUTDOWN:
		shutdown_on_timer(emu);
		break;
	case PH_DONE:
		done_tick(emu);
		break;
	default:
		break;
	}
}

int
phase_start(struct emu *emu)
{
	emu->ph.timer = evtimer_new(emu->base, on_timer, emu);
	if (emu->ph.timer == NULL || invoke_setup(emu) != 0 ||
	    (emu->opt.managed && lmi_setup(emu) != 0)) {
		emu_warnx("out of memory");
		return -1;
	}
	emu->ph.phase = PH_INIT;
	return init_begin(emu, 0);
}

/* ---- events, routed to the running phase ---- */

void
phase_on_registered(struct emu *emu, struct agent *a)
{
	if (emu->ph.phase == PH_INIT)
		init_on_registered(emu, a);
}

void
phase_on_agent_next(struct emu *emu, struct agent *a)
{
	switch (emu->ph.phase) {
	case PH_INIT:
		init_check_done(emu);
		break;
	case PH_INVOKE:
		invoke_on_agent_next(emu, a);
		break;
	case PH_SHUTDOWN:
		shutdown_on_agent_next(emu, a);
		break;
	default:
		break;
	}
}

void
phase_on_agent_error(struct emu *emu, struct agent *a, int exit_error)
{
	char msg[512];

	emu_msg(msg, sizeof(msg), "extension '%s' called %s with '%s'", a->name,
	    exit_error ? "exit/error" : "init/error", a->errors[a->nerrors > 0 ? a->nerrors - 1 : 0].type);
	if (emu->ph.phase == PH_INIT) {
		init_fail(emu, exit_error ? "Extension.ExitError" : "Extension.InitError", msg, "error");
		return;
	}
	emu_warnx("%s", msg);
	invoke_check_done(emu);
}

void
phase_on_runtime_next(struct emu *emu)
{
	if (emu->ph.phase == PH_INIT)
		init_on_runtime_next(emu);
	else if (emu->ph.phase == PH_INVOKE)
		invoke_on_runtime_next(emu);
}

void
phase_on_runtime_result(struct emu *emu, int is_error, size_t bytes, const char *error_type)
{
	invoke_on_runtime_result(emu, is_error, bytes, error_type);
}

void
phase_on_runtime_init_error(struct emu *emu, const char *type)
{
	if (emu->ph.phase == PH_INIT)
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
phase_on_child_exit(struct emu *emu, struct agent *a)
{
	const struct child *c = a != NULL ? &a->proc : &emu->sb.rt.proc;
	char how[64], msg[256];
	const char *type;

	if (a != NULL)
		tel_agent_gone(emu->tel, a);
	if (emu->ph.phase == PH_SHUTDOWN || emu->ph.phase == PH_DONE) {
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
	if (emu->ph.phase == PH_INIT) {
		init_fail(emu, type, msg, "error");
		return;
	}
	emu_warnx("%s: resetting the sandbox", msg);
	if (emu->ph.phase == PH_INVOKE && emu->opt.managed) {
		lmi_fail_all(emu, a != NULL ? "failure" : "error", type);
		reset(emu, "failure");
	} else if (emu->ph.phase == PH_INVOKE)
		fail_invoke(emu, a != NULL ? "failure" : "error", type, "failure");
	else
		reset(emu, "failure");
}

void
phase_interrupt(struct emu *emu, int sig)
{
	emu_warnx("received signal %d: killing every process", sig);
	if (emu->ph.phase == PH_DONE) {
		proc_sweep(emu);
		stop_loop(emu);
		return;
	}
	if (emu->ph.interrupted > 0) {
		/* A second signal: stop waiting for the kills. */
		emu->ph.interrupted++;
		shutdown_finish(emu);
		return;
	}
	emu->ph.interrupted = 1;
	phase_disarm(emu);
	invoke_settle_runtime_done(emu, 0);
	emu->ph.phase = PH_SHUTDOWN;
	shutdown_interrupt(emu);
}

void
phase_free(struct emu *emu)
{
	abort_polls(emu);
	reset_free_agents(emu);
	lmi_free(emu);
	invoke_free(emu);
	init_free(emu);
	free(emu->ph.freezes);
	emu->ph.freezes = NULL;
	if (emu->ph.timer != NULL)
		event_free(emu->ph.timer);
	emu->ph.timer = NULL;
}
