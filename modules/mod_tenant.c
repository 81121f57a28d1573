/* mod_tenant.c -- X-Scope-OrgID from PYROSCOPE_TENANT_ID, replacing the client's value. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "modules.h"

static int
tenant_init(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	(void)reterr;
	*ret_state = cfg->tenant_id;	/* borrowed: settings outlive the chain */
	return 0;
}

static enum relay_rc
tenant_on_request(struct relay_req *rr, void *state)
{
	const char *tenant = state;

	if (tenant == NULL)
		return RELAY_NEXT;
	return relay_req_set_header(rr, "X-Scope-OrgID", tenant) == 0 ? RELAY_NEXT : RELAY_ERROR;
}

const struct relay_module mod_tenant = {
	.name = "tenant",
	.init = tenant_init,
	.on_request = tenant_on_request,
};
