/* reset.c -- a sandbox after a reset: its records retired, a fresh one for the next init. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "extapi.h"
#include "reset.h"
#include "telemetry.h"
#include "util.h"

/* The extensions of a reset sandbox leave the table but stay in the report. */
static int
retire_agents(struct emu *emu)
{
	struct agent **v;
	int i;

	if (emu->sb.nagents == 0)
		return 0;
	v = realloc(emu->sb.retired, (size_t)(emu->sb.nretired + emu->sb.nagents) * sizeof(*v));
	if (v == NULL)
		return -1;
	emu->sb.retired = v;
	for (i = 0; i < emu->sb.nagents; i++) {
		v[emu->sb.nretired++] = emu->sb.agents[i];
		emu->sb.agents[i] = NULL;
	}
	emu->sb.nagents = 0;
	return 0;
}

int
reset_renew(struct emu *emu)
{
	if (retire_agents(emu) != 0) {
		emu_warnx("out of memory: cannot re-initialise the sandbox; ending the run");
		return -1;
	}
	/* The parked requests were answered and the processes are gone: start afresh. */
	tel_reset(emu->tel);
	memset(&emu->sb.rt, 0, sizeof(emu->sb.rt));
	emu->sb.rt.proc.exit_code = -1;
	emu->sb.registration_closed = 0;
	return 0;
}

void
reset_free_agents(struct emu *emu)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		ext_agent_free(emu->sb.agents[i]);
		emu->sb.agents[i] = NULL;
	}
	emu->sb.nagents = 0;
	for (i = 0; i < emu->sb.nretired; i++)
		ext_agent_free(emu->sb.retired[i]);
	free(emu->sb.retired);
	emu->sb.retired = NULL;
	emu->sb.nretired = 0;
}
