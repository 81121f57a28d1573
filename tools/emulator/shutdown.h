/* shutdown.h -- the Shutdown phase: runtime share, SHUTDOWN events, deadline kills, finishing. */
#ifndef EMU_SHUTDOWN_H
#define EMU_SHUTDOWN_H

#include "emu.h"

/* Starts the Shutdown phase with reason (static or long-lived). Idempotent. */
void	shutdown_begin(struct emu *emu, const char *reason);
/* An extension called next during shutdown. */
void	shutdown_on_agent_next(struct emu *emu, struct agent *a);
/* A process ended during shutdown (a NULL: the runtime). */
void	shutdown_on_child_exit(struct emu *emu, struct agent *a);
/* The phase timer fired in a shutdown phase. */
void	shutdown_on_timer(struct emu *emu);
/* SIGINT/SIGTERM: kill everything, wait briefly for the exits, finish. */
void	shutdown_interrupt(struct emu *emu);

#endif
