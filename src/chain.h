/* chain.h -- runs the module table (modules/modules.c) over each request. */
#ifndef RELAY_CHAIN_H
#define RELAY_CHAIN_H

#include "module.h"

struct chain;

/*
 * Initialise every module of the NULL-terminated table in order. On failure
 * returns a negative errno and sets *reterr to "<module>: <reason>" (malloc'd);
 * the modules already initialised are cleaned up.
 */
int	chain_new(const struct relay_module *const *table, const struct relay_settings *cfg,
	    struct chain **ret, char **reterr);
/* Clean the modules up in reverse order; NULL-safe. */
void	chain_free(struct chain *c);
/* Run every on_request hook; RELAY_ERROR from any stops the chain (logged once here). */
enum relay_rc chain_run(struct chain *c, struct relay_req *rr);
/* Run every on_done hook. */
void	chain_done(struct chain *c, const struct relay_req *rr);

#endif
