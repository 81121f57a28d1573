/* module.h -- the interface every request-transforming module implements. */
#ifndef RELAY_MODULE_H
#define RELAY_MODULE_H

#include "request.h"
#include "settings.h"

enum relay_rc {
	RELAY_NEXT = 0,		/* done with this request: run the next module */
	RELAY_ERROR = -1	/* internal failure: the core logs once and drops the request */
};

struct relay_module {
	const char	*name;	/* short, for logs: "auth", "tenant" */
	/*
	 * Startup: check what the module needs in `cfg` and build its state.
	 * Return 0 and set *ret_state, or a negative errno with *reterr set to
	 * a malloc'd message (the caller logs it). Optional.
	 */
	int		(*init)(const struct relay_settings *cfg, void **ret_state, char **reterr);
	/* Per accepted request, in chain order, before it is queued. Must not block. Optional. */
	enum relay_rc	(*on_request)(struct relay_req *rr, void *state);
	/* Once per request, after it was delivered or dropped (rr->outcome). Optional. */
	void		(*on_done)(const struct relay_req *rr, void *state);
	/* Undo init; NULL-safe. Optional. */
	void		(*cleanup)(void *state);
};

#endif
