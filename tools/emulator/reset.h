/* reset.h -- resets: the Shutdown phase after a failure, then a fresh sandbox for the next invoke. */
#ifndef EMU_RESET_H
#define EMU_RESET_H

#include "emu.h"

/* Starts a reset: the Shutdown phase with reason (timeout, failure), counted. */
void	reset_begin(struct emu *emu, const char *reason);
/*
 * The Shutdown phase is over (every process reaped or given up on). After a
 * reset with invokes left, clears the sandbox's state and schedules the next
 * invoke, which re-runs init: returns 1. Otherwise 0: the run ends.
 */
int	reset_continue(struct emu *emu);
/* Frees every extension record, current and reset ones. */
void	reset_free_agents(struct emu *emu);

#endif
