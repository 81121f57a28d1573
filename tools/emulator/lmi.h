/* lmi.h -- the Invoke phase on Lambda Managed Instances: concurrent invokes, no freeze, no runtimeDone. */
#ifndef EMU_LMI_H
#define EMU_LMI_H

#include <stddef.h>

#include "emu.h"

struct evhttp_request;

/* Allocates the slots (--concurrency). 0, or -1 after a message. */
int	lmi_setup(struct emu *emu);
void	lmi_free(struct emu *emu);
/*
 * Starts the invokes: up to --concurrency at once, each slot starting its
 * next one a gap after its last ended. phase_invokes_done when all ended.
 */
void	lmi_begin(struct emu *emu);
/* The runtime (any of its workers) called invocation/next: parked until an invoke comes. */
void	lmi_on_runtime_next(struct emu *emu, struct evhttp_request *req);
/* 1 if id is an invoke released and not yet answered. */
int	lmi_known(const struct emu *emu, const char *id);
/* The runtime answered invoke id; body (owned, may be NULL) is kept for the report. */
void	lmi_on_result(struct emu *emu, const char *id, int is_error, size_t bytes,
	    const char *error_type, char *body);
/* Every invoke still running fails with status and error_type (recorded), timers stop. */
void	lmi_fail_all(struct emu *emu, const char *status, const char *error_type);
/* Answers the parked invocation/next calls (teardown). */
void	lmi_abort_polls(struct emu *emu);

#endif
