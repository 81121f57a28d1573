/* init.h -- the Init phase: start extensions, the registration gate, start the runtime, init failure. */
#ifndef EMU_INIT_H
#define EMU_INIT_H

#include "emu.h"

/*
 * INIT_START, then the extensions (and the runtime once all registered).
 * in_invoke: a re-init inside the current invoke (phase invoke), bounded by
 * the function timeout instead of the init limit. 0, or -1 after a message.
 */
int	init_begin(struct emu *emu, int in_invoke);
/* The running (or last) init; NULL before the first. */
struct init_rec *init_cur(struct emu *emu);
/* Init failed: INIT_REPORT, then phase_init_failed. Once per init. */
void	init_fail(struct emu *emu, const char *type, const char *msg, const char *status);
/* Ends init (phase_init_done) when the runtime and every registered extension called next. */
void	init_check_done(struct emu *emu);
void	init_on_registered(struct emu *emu, struct agent *a);
/* The runtime's first next: registration closes, initRuntimeDone. */
void	init_on_runtime_next(struct emu *emu);
/* The phase timer fired: the init limit (or the function timeout) passed. */
void	init_on_timer(struct emu *emu);
/* Frees every init record. */
void	init_free(struct emu *emu);

#endif
