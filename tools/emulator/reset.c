/* reset.c -- resets: the Shutdown phase after a failure, then a fresh sandbox for the next invoke. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "extapi.h"
#include "lifecycle.h"
#include "reset.h"
#include "shutdown.h"
#include "telemetry.h"
#include "util.h"

void
reset_begin(struct emu *emu, const char *reason)
{
	if (emu->shutdown_started)
		return;
	emu->resets++;
	emu->resetting = 1;
	shutdown_begin(emu, reason);
}

/* The extensions of a reset sandbox leave the table but stay in the report. */
static int
retire_agents(struct emu *emu)
{
	struct agent **v;
	int i;

	if (emu->nagents == 0)
		return 0;
	v = realloc(emu->retired, (size_t)(emu->nretired + emu->nagents) * sizeof(*v));
	if (v == NULL)
		return -1;
	emu->retired = v;
	for (i = 0; i < emu->nagents; i++) {
		v[emu->nretired++] = emu->agents[i];
		emu->agents[i] = NULL;
	}
	emu->nagents = 0;
	return 0;
}

int
reset_continue(struct emu *emu)
{
	if (!emu->resetting || emu->interrupted || emu->ninvokes >= emu->opt.invokes)
		return 0;
	if (retire_agents(emu) != 0) {
		emu_warnx("out of memory: cannot re-initialise the sandbox; ending the run");
		return 0;
	}
	/* The parked requests were answered and the processes are gone: start afresh. */
	tel_reset(emu->tel);
	memset(&emu->rt, 0, sizeof(emu->rt));
	emu->rt.proc.exit_code = -1;
	emu->registration_closed = 0;
	emu->shutdown_started = 0;
	emu->resetting = 0;
	emu->t_shut_end = 0;
	/* The next invoke comes as usual, and runs init first. */
	emu->need_init = 1;
	emu->phase = PH_GAP;
	lifecycle_arm(emu, (double)emu->opt.gap_ms);
	return 1;
}

void
reset_free_agents(struct emu *emu)
{
	int i;

	for (i = 0; i < emu->nagents; i++) {
		ext_agent_free(emu->agents[i]);
		emu->agents[i] = NULL;
	}
	emu->nagents = 0;
	for (i = 0; i < emu->nretired; i++)
		ext_agent_free(emu->retired[i]);
	free(emu->retired);
	emu->retired = NULL;
	emu->nretired = 0;
}
