/* phase.h -- the phase dispatcher: owns every transition and routes events to the running phase. */
#ifndef EMU_PHASE_H
#define EMU_PHASE_H

#include <stddef.h>

#include "emu.h"

/*
 * The run: init -> invoke (-> gap, frozen -> invoke)... -> shutdown -> done.
 * A failure anywhere becomes a reset: a Shutdown phase (reason timeout or
 * failure), then, with invokes left, a gap and an invoke that re-runs init
 * first. Only this file changes emu->ph.phase; the phase files (init.c,
 * invoke.c, shutdown.c, reset.c) do their phase's work and report back here.
 */

/* Starts the run with the Init phase. 0, or -1 after a message. */
int	phase_start(struct emu *emu);
/* Releases the timers and every record; answers parked long polls. */
void	phase_free(struct emu *emu);

/* Events from the APIs and the process supervisor, routed to the running phase. */
void	phase_on_registered(struct emu *emu, struct agent *a);
void	phase_on_agent_next(struct emu *emu, struct agent *a);
void	phase_on_agent_error(struct emu *emu, struct agent *a, int exit_error);
void	phase_on_runtime_next(struct emu *emu);
/* The runtime answered the invoke: a response (is_error 0) or an error. */
void	phase_on_runtime_result(struct emu *emu, int is_error, size_t bytes,
	    const char *error_type);
void	phase_on_runtime_init_error(struct emu *emu, const char *type);
/* A supervised process ended (a NULL: the runtime). */
void	phase_on_child_exit(struct emu *emu, struct agent *a);
/* The emulator got SIGINT/SIGTERM: kill everything and finish (a second one: at once). */
void	phase_interrupt(struct emu *emu, int sig);

/* The phase timer, for the phase files: (re)armed to fire ms from now, or cancelled. */
void	phase_arm(struct emu *emu, double ms);
void	phase_disarm(struct emu *emu);

/* Reports from the phase files. */
/* Init succeeded (everyone called next). */
void	phase_init_done(struct emu *emu);
/* Init failed (INIT_REPORT emitted) with the error type and status (error, timeout). */
void	phase_init_failed(struct emu *emu, const char *type, const char *status);
/* The invoke ended: the runtime and every INVOKE subscriber called next. */
void	phase_invoke_done(struct emu *emu);
/* Managed Instances: every invoke ended; the Shutdown phase follows. */
void	phase_invokes_done(struct emu *emu);
/* Managed Instances: an invoke failed (reason timeout or failure): the others fail, a reset. */
void	phase_lmi_failed(struct emu *emu, const char *reason);
/* The Shutdown phase is over: every process reaped, or given up on. */
void	phase_shutdown_done(struct emu *emu);

#endif
