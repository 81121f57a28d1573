/* modules.c -- the chain order, stated once. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>

#include "modules.h"

/*
 * Session id first, decided on the name as the SDK sent it (as the original
 * extension did), then the Lambda labels, which add to that name (both only
 * rewrite the `name` query value), then credentials and tenant, then the
 * user's custom headers, which are applied last and so may override what the
 * modules before them set (the original extension's intent), and the access
 * log, which sees the final request.
 */
const struct relay_module *const relay_modules[] = {
	&mod_session,
	&mod_labels,
	&mod_auth,
	&mod_tenant,
	&mod_headers,
	&mod_log,
	NULL
};
