/* shutdown.h -- the Shutdown phase: runtime share, SHUTDOWN events, deadline kills, finishing. */
#ifndef EMU_SHUTDOWN_H
#define EMU_SHUTDOWN_H

#include "emu.h"

/*
 * Starts the Shutdown phase with reason (static or long-lived) on a thawed
 * sandbox: SIGTERM to the runtime, then SHUTDOWN to the extensions, SIGKILL at
 * the deadline. Reports phase_shutdown_done when every process is gone.
 */
void	shutdown_begin(struct emu *emu, const char *reason);
/* An extension called next during shutdown. */
void	shutdown_on_agent_next(struct emu *emu, struct agent *a);
/* A process ended during shutdown or after it (a NULL: the runtime). */
void	shutdown_on_child_exit(struct emu *emu, struct agent *a);
/* The phase timer fired during shutdown. */
void	shutdown_on_timer(struct emu *emu);
/* SIGINT/SIGTERM: kill everything, wait briefly for the exits, then finish. */
void	shutdown_interrupt(struct emu *emu);
/* Ends the phase now: kills what is left, then phase_shutdown_done. */
void	shutdown_finish(struct emu *emu);

#endif
