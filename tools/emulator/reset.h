/* reset.h -- a sandbox after a reset: its records retired, a fresh one for the next init. */
#ifndef EMU_RESET_H
#define EMU_RESET_H

#include "emu.h"

/*
 * The reset's Shutdown phase is over (every process reaped or given up on):
 * the extensions leave the table (kept for the report), the runtime record is
 * cleared, telemetry subscriptions stop and subscription opens again.
 * 0, or -1 after a message (out of memory: the run cannot go on).
 */
int	reset_renew(struct emu *emu);
/* Frees every extension record, current and retired ones. */
void	reset_free_agents(struct emu *emu);

#endif
