/* mod_labels.c -- adds the Lambda function's name, version and region to the `name` labels of /ingest uploads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flameql.h"
#include "log.h"
#include "modules.h"

#define NLABELS		3
#define INGEST_SUFFIX	"/ingest"

struct labels_state {
	size_t			n;
	struct flameql_label	labels[NLABELS];	/* values borrowed: the settings outlive the chain */
};

/*
 * Off (PYROSCOPE_LAMBDA_LABELS unset or false): no state, nothing logged. On:
 * each variable that is set and valid becomes a label; one that is missing
 * (dev mode on a host) or invalid is skipped, said once here.
 */
static int
labels_init(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	const struct {
		const char	*key;
		const char	*var;
		const char	*value;
	} src[NLABELS] = {
		{ "function_name", "AWS_LAMBDA_FUNCTION_NAME", cfg->lambda_function_name },
		{ "function_version", "AWS_LAMBDA_FUNCTION_VERSION", cfg->lambda_function_version },
		{ "region", "AWS_REGION", cfg->lambda_region },
	};
	struct labels_state *st;
	char missing[128] = "", added[256] = "";
	size_t i, nmissing = 0;

	(void)reterr;
	*ret_state = NULL;
	if (!cfg->lambda_labels)
		return 0;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	for (i = 0; i < NLABELS; i++) {
		if (src[i].value == NULL) {
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			    nmissing++ > 0 ? ", " : "", src[i].var);
			continue;
		}
		if (!flameql_value_valid(src[i].value)) {
			log_warn("PYROSCOPE_LAMBDA_LABELS: %s '%s' cannot be a label value (want 1 to 2048 "
			    "visible ASCII characters other than { } , =); the label %s is not added",
			    src[i].var, src[i].value, src[i].key);
			continue;
		}
		st->labels[st->n].key = src[i].key;
		st->labels[st->n].value = src[i].value;
		st->n++;
	}
	if (nmissing > 0)
		log_info("PYROSCOPE_LAMBDA_LABELS: %s not set; %s not added", missing,
		    nmissing > 1 ? "those labels are" : "that label is");
	for (i = 0; i < st->n; i++)
		snprintf(added + strlen(added), sizeof(added) - strlen(added), "%s%s",
		    i > 0 ? ", " : "", st->labels[i].key);
	if (st->n > 0)
		log_info("PYROSCOPE_LAMBDA_LABELS: adding %s to the name of /ingest uploads", added);
	*ret_state = st;
	return 0;
}

/* /ingest, /pyroscope/ingest, any path ending in /ingest; the push API carries its labels in the body. */
static bool
is_ingest(const char *path)
{
	size_t len = path != NULL ? strlen(path) : 0, n = strlen(INGEST_SUFFIX);

	return len >= n && memcmp(path + len - n, INGEST_SUFFIX, n) == 0;
}

static int
add_labels(const char *name, void *arg, char **ret)
{
	const struct labels_state *st = arg;

	return flameql_add_labels(name, FLAMEQL_LABELSET, st->labels, st->n, ret);
}

/*
 * As mod_session: only the value of the first `name` parameter is replaced,
 * every other query byte stays. The name is read with current Pyroscope's
 * grammar (dotted keys, as modern SDKs send), so what does not parse there
 * would be refused by the server anyway and is left as sent.
 */
static enum relay_rc
labels_on_request(struct relay_req *rr, void *state)
{
	struct labels_state *st = state;

	if (st == NULL || st->n == 0 || !is_ingest(rr->path))
		return RELAY_NEXT;
	return relay_req_edit_query_value(rr, "name", add_labels, st) < 0 ?
	    RELAY_ERROR : RELAY_NEXT;
}

static void
labels_cleanup(void *state)
{
	free(state);
}

const struct relay_module mod_labels = {
	.name = "labels",
	.init = labels_init,
	.on_request = labels_on_request,
	.cleanup = labels_cleanup,
};
