/* fuzz_flameql.c -- fuzz target: the `name` label grammar and the session-id rewrite (flameql.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: a decoded `name` value (up to the first NUL). flameql.c is
 * included to reach its parser. Properties:
 * - a name is rewritten exactly when it parses and has no __session_id__;
 * - the rewrite is canonical: labels sorted by key, each key once, the
 *   session label holding the id; when its app name is valid (a __name__
 *   label can set any), it parses again to itself (Normalized() is a fixed
 *   point) and a second rewrite leaves it alone.
 */

#include "../../src/flameql.c"

#include <stdint.h>

#include "fuzz.h"

#define ID	"0123456789abcdef"
#define ID2	"fedcba9876543210"

/* ParseKey plus unique keys, as flameql_inject_session does it; k->labels is malloc'd. */
static int
parse_unique(const char *s, struct key *k)
{
	size_t n_eq = 0;

	memset(k, 0, sizeof(*k));
	for (size_t i = 0; s[i] != '\0'; i++)
		n_eq += s[i] == '=';
	k->labels = calloc(n_eq + 1, sizeof(*k->labels));
	if (k->labels == NULL)
		return -ENOMEM;
	if (parse_key(s, &charsets[FLAMEQL_ORIGINAL], k) < 0)
		return -EINVAL;
	unique_labels(k);
	return 0;
}

static bool
has_session(const struct key *k)
{
	for (size_t i = 0; i < k->n; i++)
		if (span_is(k->labels[i].key, SESSION_KEY))
			return true;
	return false;
}

/* Does the rewritten name hold the label "k=v" whole, after '{' or ',' and before ',' or '}'? */
static bool
has_label(const char *name, const char *kv)
{
	size_t len = strlen(kv);

	for (const char *p = strstr(name, kv); p != NULL; p = strstr(p + 1, kv))
		if (p > name && (p[-1] == '{' || p[-1] == ',') && (p[len] == ',' || p[len] == '}'))
			return true;
	return false;
}

/* The rewrite of a name whose app name (maybe set by a __name__ label) is valid. */
static void
check_rewrite(const char *out)
{
	struct key k;
	char *norm, *again = NULL;
	int rc = parse_unique(out, &k);

	if (rc == -ENOMEM)
		goto done;
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(has_session(&k));
	for (size_t i = 1; i < k.n; i++)
		FUZZ_CHECK(span_cmp(k.labels[i - 1].key, k.labels[i].key) < 0);
	norm = normalized(&k);
	FUZZ_CHECK(norm == NULL || strcmp(norm, out) == 0);
	free(norm);
	FUZZ_CHECK(flameql_inject_session(out, ID2, &again) == 0 && again == NULL);
done:
	free(k.labels);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_cstring(data, size), *out = NULL;
	struct key k;
	int rc, prc;

	if (name == NULL)
		return 0;
	prc = parse_unique(name, &k);
	rc = flameql_inject_session(name, ID, &out);
	if (prc == -ENOMEM || rc == -ENOMEM)
		goto done;
	FUZZ_CHECK(rc == 0 || rc == 1);
	FUZZ_CHECK(rc == (prc == 0 && !has_session(&k)));
	FUZZ_CHECK((out != NULL) == (rc == 1));
	if (rc == 1) {
		FUZZ_CHECK(has_label(out, SESSION_KEY "=" ID));
		FUZZ_CHECK(out[strlen(out) - 1] == '}');
		/* A __name__ label may set an app name the grammar refuses: kept, as the original does. */
		if (all_chars(k.app, app_char))
			check_rewrite(out);
	}
done:
	free(k.labels);
	free(out);
	free(name);
	return 0;
}
