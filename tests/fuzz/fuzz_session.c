/* fuzz_session.c -- fuzz target: the raw query through the session module (mod_session.c, query.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: a raw query string (up to the first NUL), as a client sends it
 * after the '?'. It runs through the session module's request hook
 * (mod_session.c is included to reach its state). Properties:
 * - the hook never fails on a client's query;
 * - only the bytes of the first decodable `name` value may change: all the
 *   bytes before and after it stay as sent;
 * - the new value decodes to the flameql rewrite of the old one, and is
 *   found again at the same place; a second pass changes nothing;
 * - query_escape and query_unescape round trip any string.
 */

#include "../../modules/mod_session.c"

#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "query.h"

static void	*session_state;

static void
check_escape(const char *s)
{
	char *e = query_escape(s), *u;

	if (e == NULL)
		return;
	FUZZ_CHECK(strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+%") == strlen(e));
	u = query_unescape(e, strlen(e));
	FUZZ_CHECK(u != NULL && strcmp(u, s) == 0);
	free(u);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_state *st;
	struct relay_req *rr;
	char *q = fuzz_cstring(data, size), *name = NULL, *want = NULL, *after = NULL;
	size_t off = 0, len = 0, off2 = 0, len2 = 0, qlen;
	bool found;
	int r = 0;

	if (session_state == NULL) {
		char *err = NULL;

		FUZZ_CHECK(mod_session.init(NULL, &session_state, &err) == 0);
	}
	st = session_state;
	if (q == NULL)
		return 0;
	check_escape(q);
	qlen = strlen(q);
	rr = relay_req_new(1, EVHTTP_REQ_POST);
	if (rr == NULL) {
		free(q);
		return 0;
	}
	rr->query = strdup(q);
	if (rr->query == NULL)
		goto out;

	/* What the module should do, from its parts. */
	found = query_find(q, "name", &off, &len);
	if (found) {
		FUZZ_CHECK(off <= qlen && len <= qlen - off);
		FUZZ_CHECK(off + len == qlen || q[off + len] == '&');
		name = query_unescape(q + off, len);
	}
	if (name != NULL)
		r = flameql_inject_session(name, st->id, &want);
	if (r < 0)
		goto out;	/* out of memory */

	FUZZ_CHECK(mod_session.on_request(rr, st) == RELAY_NEXT);
	if (r == 0) {
		FUZZ_CHECK(strcmp(rr->query, q) == 0);
		goto out;
	}
	/* Rewritten: the bytes around the value are those sent. */
	FUZZ_CHECK(strncmp(rr->query, q, off) == 0);
	FUZZ_CHECK(strlen(rr->query) >= qlen - len - off);
	FUZZ_CHECK(strcmp(rr->query + strlen(rr->query) - (qlen - off - len), q + off + len) == 0);
	FUZZ_CHECK(query_find(rr->query, "name", &off2, &len2) && off2 == off);
	after = query_unescape(rr->query + off2, len2);
	FUZZ_CHECK(after != NULL && strcmp(after, want) == 0);
	/* A second pass finds the session label and changes nothing (the app name permitting). */
	free(q);
	q = strdup(rr->query);
	if (q == NULL)
		goto out;
	FUZZ_CHECK(mod_session.on_request(rr, st) == RELAY_NEXT);
	free(want);
	want = NULL;
	if (flameql_inject_session(after, st->id, &want) == 0)
		FUZZ_CHECK(strcmp(rr->query, q) == 0);
out:
	free(after);
	free(want);
	free(name);
	free(q);
	relay_req_free(rr);
	return 0;
}
