/* main.c -- pyroscope-lambda-emulator: startup in order, signals, the loop, teardown in reverse. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <event2/event.h>

#include "emu.h"
#include "httpd.h"
#include "phase.h"
#include "options.h"
#include "proc.h"
#include "telemetry.h"
#include "util.h"

struct signals {
	struct event	*chld;
	struct event	*intr;
	struct event	*term;
};

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	proc_reap(arg);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	phase_interrupt(arg, (int)sig);
}

static int
add_signals(struct emu *emu, struct signals *s)
{
	s->chld = evsignal_new(emu->base, SIGCHLD, on_sigchld, emu);
	s->intr = evsignal_new(emu->base, SIGINT, on_stop_signal, emu);
	s->term = evsignal_new(emu->base, SIGTERM, on_stop_signal, emu);
	if (s->chld == NULL || s->intr == NULL || s->term == NULL ||
	    evsignal_add(s->chld, NULL) != 0 || evsignal_add(s->intr, NULL) != 0 ||
	    evsignal_add(s->term, NULL) != 0) {
		emu_warnx("cannot install the signal handlers");
		return -1;
	}
	return 0;
}

static void
free_signals(struct signals *s)
{
	if (s->chld != NULL)
		event_free(s->chld);
	if (s->intr != NULL)
		event_free(s->intr);
	if (s->term != NULL)
		event_free(s->term);
}

static int
setup(struct emu *emu, struct signals *sigs)
{
	int rc;

	/* A client gone mid-reply must not kill the emulator. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		emu_warnx("cannot ignore SIGPIPE: %s", strerror(errno));
		return 1;
	}
	/* Orphans of the process groups come back to us, so nothing stays a zombie. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		emu_warnx("cannot become a child subreaper (%s); continuing", strerror(errno));
	emu->base = event_base_new();
	if (emu->base == NULL) {
		emu_warnx("cannot create the event loop");
		return 1;
	}
	if (add_signals(emu, sigs) != 0)
		return 1;
	emu->tel = tel_new(emu);
	if (emu->tel == NULL) {
		emu_warnx("out of memory");
		return 1;
	}
	if (httpd_start(emu) != 0)
		return 1;
	rc = proc_setup_env(emu);
	if (rc != 0)
		return 2;
	if (phase_start(emu) != 0) {
		proc_kill_groups(emu);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct signals sigs = { NULL, NULL, NULL };
	struct emu emu;
	int rc;

	memset(&emu, 0, sizeof(emu));
	rc = options_parse(argc, argv, &emu.opt);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	emu.sb.rt.proc.exit_code = -1;
	rc = setup(&emu, &sigs);
	if (rc == 0) {
		if (event_base_dispatch(emu.base) < 0) {
			emu_warnx("the event loop failed");
			proc_kill_groups(&emu);
			emu.ph.exit_status = 1;
		}
		rc = emu.ph.exit_status;
	}
	/* Teardown in reverse: parked requests are answered before the server goes. */
	phase_free(&emu);
	tel_free(emu.tel);
	httpd_free(&emu);
	free_signals(&sigs);
	if (emu.base != NULL)
		event_base_free(emu.base);
	proc_free_env(&emu);
	libevent_global_shutdown();
	return rc;
}
