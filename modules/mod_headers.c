/* mod_headers.c -- the custom headers of PYROSCOPE_HTTP_HEADERS, set on every upload. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "modules.h"

/* Names and values were validated when the settings were read. */
static int
headers_init(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	(void)reterr;
	*ret_state = (void *)cfg;	/* borrowed: settings outlive the chain */
	return 0;
}

static enum relay_rc
headers_on_request(struct relay_req *rr, void *state)
{
	const struct relay_settings *cfg = state;

	for (size_t i = 0; i < cfg->nheaders; i++)
		if (relay_req_set_header(rr, cfg->headers[i].name, cfg->headers[i].value) < 0)
			return RELAY_ERROR;
	return RELAY_NEXT;
}

const struct relay_module mod_headers = {
	.name = "headers",
	.init = headers_init,
	.on_request = headers_on_request,
};
