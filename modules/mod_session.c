/* mod_session.c -- adds __session_id__ to the `name` labels, touching no other query byte. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "flameql.h"
#include "modules.h"

#define SESSION_ID_LEN 16

struct session_state {
	char	id[SESSION_ID_LEN + 1];	/* one per process, like the original */
};

static int
session_init(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	struct session_state *st;
	uint8_t raw[SESSION_ID_LEN / 2];

	(void)cfg;
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		if (asprintf(reterr, "cannot read random bytes for the session id: %s", strerror(errno)) < 0)
			*reterr = NULL;
		return -EIO;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(st->id + 2 * i, 3, "%02x", raw[i]);
	*ret_state = st;
	return 0;
}

static int
inject_session(const char *name, void *arg, char **ret)
{
	const struct session_state *st = arg;

	return flameql_inject_session(name, st->id, ret);
}

/*
 * The original re-encoded the whole query when it added the label; here only
 * the value of the first `name` parameter is replaced.
 */
static enum relay_rc
session_on_request(struct relay_req *rr, void *state)
{
	return relay_req_edit_query_value(rr, "name", inject_session, state) < 0 ?
	    RELAY_ERROR : RELAY_NEXT;
}

static void
session_cleanup(void *state)
{
	free(state);
}

const struct relay_module mod_session = {
	.name = "session",
	.init = session_init,
	.on_request = session_on_request,
	.cleanup = session_cleanup,
};
