/* init.h -- the Init phase: start extensions, the registration gate, start the runtime, init failure. */
#ifndef EMU_INIT_H
#define EMU_INIT_H

#include "emu.h"

/* INIT_START, then the extensions (and the runtime once all registered). 0 or -1. */
int	init_begin(struct emu *emu);
/* Init failed: INIT_REPORT, then the Shutdown phase with reason failure. Once. */
void	init_fail(struct emu *emu, const char *type, const char *msg, const char *status);
/* Ends init when the runtime and every registered extension called next. */
void	init_check_done(struct emu *emu);
void	init_on_registered(struct emu *emu, struct agent *a);
/* The runtime's first next: registration closes, initRuntimeDone. */
void	init_on_runtime_next(struct emu *emu);

#endif
