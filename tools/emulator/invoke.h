/* invoke.h -- the Invoke phase: START, release, the runtime and extension gates, runtimeDone, END/REPORT. */
#ifndef EMU_INVOKE_H
#define EMU_INVOKE_H

#include <stddef.h>

#include "emu.h"

/* Allocates the records and the runtimeDone timer. 0, or -1 after a message. */
int	invoke_setup(struct emu *emu);
void	invoke_free(struct emu *emu);
/* START: a new request, its clock, deadline and platform.start; cold: first of its sandbox. */
void	invoke_begin(struct emu *emu, int cold);
/*
 * Releases the runtime and every INVOKE subscriber together and arms the
 * phase timer for what is left of the function timeout.
 */
void	invoke_release(struct emu *emu);
/*
 * Ends the invoke when the runtime and every INVOKE subscriber called next:
 * END/REPORT, then phase_invoke_done.
 */
void	invoke_check_done(struct emu *emu);
/* An INVOKE subscriber called next: its time is kept, then invoke_check_done. */
void	invoke_on_agent_next(struct emu *emu, struct agent *a);
/* The runtime's next after its response: platform.runtimeDone (maybe delayed). */
void	invoke_on_runtime_next(struct emu *emu);
/* The runtime answered: a response (is_error 0) or an error. */
void	invoke_on_runtime_result(struct emu *emu, int is_error, size_t bytes,
	    const char *error_type);
/* The invoke failed (status timeout, failure or error): recorded, END/REPORT. */
void	invoke_fail(struct emu *emu, const char *status, const char *error_type);
/* Records the current invoke as it stands: END/REPORT, platform.report (Managed Instances). */
void	invoke_end(struct emu *emu);
/* Emits a still-pending platform.runtimeDone now, or cancels it (emit 0). */
void	invoke_settle_runtime_done(struct emu *emu, int emit);

#endif
