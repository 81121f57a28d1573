/* lifecycle.h -- the lifecycle's entry points: API and process events, the phase timer, invokes. */
#ifndef EMU_LIFECYCLE_H
#define EMU_LIFECYCLE_H

#include <stddef.h>

#include "emu.h"

/* Starts init: extensions, then (once all registered) the runtime. 0 or -1. */
int	lifecycle_start(struct emu *emu);

/*
 * Init is complete: run the invokes (or shut down when there are none); after
 * a re-init, release the invoke that ran it.
 */
void	lifecycle_begin_invokes(struct emu *emu);
/*
 * The current invoke failed (status timeout, failure or error): it is
 * recorded and reported, then the sandbox is reset with reason.
 */
void	lifecycle_fail_invoke(struct emu *emu, const char *status, const char *error_type,
	    const char *reason);

/* Events from the APIs. */
void	lifecycle_on_registered(struct emu *emu, struct agent *a);
void	lifecycle_on_agent_next(struct emu *emu, struct agent *a);
void	lifecycle_on_agent_error(struct emu *emu, struct agent *a, int exit_error);
void	lifecycle_on_runtime_next(struct emu *emu);
/* The runtime answered the invoke: a response (is_error 0) or an error. */
void	lifecycle_on_runtime_result(struct emu *emu, int is_error, size_t bytes,
	    const char *error_type);
void	lifecycle_on_runtime_init_error(struct emu *emu, const char *type);

/* A supervised process ended (a NULL: the runtime). */
void	lifecycle_on_child_exit(struct emu *emu, struct agent *a);
/* The emulator got SIGINT/SIGTERM: kill everything and finish. */
void	lifecycle_interrupt(struct emu *emu, int sig);
/* (Re)arms the phase timer, whose meaning follows emu->phase; disarm cancels it. */
void	lifecycle_arm(struct emu *emu, double ms);
void	lifecycle_disarm(struct emu *emu);
/* Emits a still-pending platform.runtimeDone now, or cancels it (emit 0). */
void	lifecycle_settle_runtime_done(struct emu *emu, int emit);
/* Answers every parked event/next and invocation/next long poll with an abort. */
void	lifecycle_abort_polls(struct emu *emu);
/* Releases everything the lifecycle holds (timers, parked requests). */
void	lifecycle_free(struct emu *emu);

#endif
