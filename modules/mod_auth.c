/* mod_auth.c -- the Authorization header sent upstream, with the original's precedence. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "basicauth.h"
#include "modules.h"

struct auth_state {
	char	*forced;	/* owned: replaces the client's header (token or basic-auth variables) */
	char	*fallback;	/* owned: used when the client sent none (userinfo of the remote URL) */
};

static void
auth_cleanup(void *state)
{
	struct auth_state *st = state;

	if (st == NULL)
		return;
	if (st->forced)
		OPENSSL_cleanse(st->forced, strlen(st->forced));
	if (st->fallback)
		OPENSSL_cleanse(st->fallback, strlen(st->fallback));
	free(st->forced);
	free(st->fallback);
	free(st);
}

/*
 * PYROSCOPE_AUTH_TOKEN -> Bearer; else both basic-auth variables -> Basic;
 * else the client's own Authorization passes through; else the userinfo of
 * PYROSCOPE_REMOTE_ADDRESS.
 */
static int
auth_init(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	struct auth_state *st = calloc(1, sizeof(*st));

	(void)reterr;
	if (st == NULL)
		return -ENOMEM;
	if (cfg->auth_token != NULL) {
		if (asprintf(&st->forced, "Bearer %s", cfg->auth_token) < 0)
			st->forced = NULL;
	} else if (cfg->basic_auth_user != NULL && cfg->basic_auth_password != NULL) {
		st->forced = basic_auth_value(cfg->basic_auth_user, cfg->basic_auth_password);
	} else if (cfg->remote.user != NULL) {
		st->fallback = basic_auth_value(cfg->remote.user,
		    cfg->remote.password ? cfg->remote.password : "");
	} else {
		*ret_state = st;
		return 0;
	}
	if (st->forced == NULL && st->fallback == NULL) {
		auth_cleanup(st);
		return -ENOMEM;
	}
	*ret_state = st;
	return 0;
}

static enum relay_rc
auth_on_request(struct relay_req *rr, void *state)
{
	struct auth_state *st = state;

	if (st->forced != NULL)
		return relay_req_set_header(rr, "Authorization", st->forced) == 0 ? RELAY_NEXT : RELAY_ERROR;
	if (st->fallback != NULL && relay_req_header(rr, "Authorization") == NULL)
		return relay_req_set_header(rr, "Authorization", st->fallback) == 0 ? RELAY_NEXT : RELAY_ERROR;
	return RELAY_NEXT;
}

const struct relay_module mod_auth = {
	.name = "auth",
	.init = auth_init,
	.on_request = auth_on_request,
	.cleanup = auth_cleanup,
};
