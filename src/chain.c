/* chain.c -- runs the module table over each request (lighttpd-style hook loop). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "chain.h"
#include "log.h"

struct chain {
	size_t				 n;
	const struct relay_module	*const *mods;	/* borrowed: static table */
	void				**state;	/* owned array; each entry owned by its module */
};

int
chain_new(const struct relay_module *const *table, const struct relay_settings *cfg,
    struct chain **ret, char **reterr)
{
	struct chain *c = calloc(1, sizeof(*c));
	size_t n = 0;

	while (table[n] != NULL)
		n++;
	if (c == NULL || (c->state = calloc(n + 1, sizeof(*c->state))) == NULL) {
		free(c);
		return -ENOMEM;
	}
	c->mods = table;
	for (c->n = 0; c->n < n; c->n++) {
		const struct relay_module *m = table[c->n];
		char *err = NULL;
		int rc;

		if (m->init == NULL)
			continue;
		rc = m->init(cfg, &c->state[c->n], &err);
		if (rc < 0) {
			if (reterr != NULL && asprintf(reterr, "%s: %s", m->name,
			    err ? err : "initialisation failed") < 0)
				*reterr = NULL;
			free(err);
			chain_free(c);
			return rc;
		}
	}
	*ret = c;
	return 0;
}

void
chain_free(struct chain *c)
{
	if (c == NULL)
		return;
	while (c->n > 0) {
		c->n--;
		if (c->mods[c->n]->cleanup != NULL)
			c->mods[c->n]->cleanup(c->state[c->n]);
	}
	free(c->state);
	free(c);
}

enum relay_rc
chain_run(struct chain *c, struct relay_req *rr)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct relay_module *m = c->mods[i];

		if (m->on_request == NULL)
			continue;
		if (m->on_request(rr, c->state[i]) != RELAY_NEXT) {
			const struct log_field f[] = { { "module", m->name }, { "path", rr->path } };

			log_f(LOG_ERROR, f, 2, "Module failed on request %llu; the profile is dropped",
			    (unsigned long long)rr->id);
			return RELAY_ERROR;
		}
	}
	return RELAY_NEXT;
}

void
chain_done(struct chain *c, const struct relay_req *rr)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->mods[i]->on_done != NULL)
			c->mods[i]->on_done(rr, c->state[i]);
}
