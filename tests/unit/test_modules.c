/* test_modules.c -- each module driven through struct relay_req, no sockets: auth, tenant, headers, session. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "modules.h"
#include "tap.h"

/* Run the whole chain over a request that carries `client_auth` (or none) and `query`. */
static struct relay_req *
through_chain(const struct relay_settings *cfg, const char *client_auth, const char *query)
{
	struct chain *c = NULL;
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);
	char *err = NULL;

	rr->path = strdup("/ingest");
	rr->query = query ? strdup(query) : NULL;
	if (client_auth)
		relay_req_copy_client_header(rr, "authorization", client_auth);
	relay_req_copy_client_header(rr, "X-Scope-OrgID", "client-tenant");
	if (chain_new(relay_modules, cfg, &c, &err) < 0 || chain_run(c, rr) != RELAY_NEXT) {
		printf("Bail out! chain failed: %s\n", err ? err : "?");
		exit(1);
	}
	chain_free(c);
	return rr;
}

static void
auth_case(const char *desc, const char *token, const char *user, const char *pass,
    const char *url_user, const char *url_pass, const char *client, const char *want)
{
	struct relay_settings cfg;
	struct relay_req *rr;

	memset(&cfg, 0, sizeof(cfg));
	cfg.auth_token = (char *)token;
	cfg.basic_auth_user = (char *)user;
	cfg.basic_auth_password = (char *)pass;
	cfg.remote.user = (char *)url_user;
	cfg.remote.password = (char *)url_pass;
	rr = through_chain(&cfg, client, NULL);
	is_str(relay_req_header(rr, "Authorization"), want, desc);
	relay_req_free(rr);
}

static void
test_auth_precedence(void)
{
	/* Basic dXNlcjpwYXNz = user:pass; Basic dTpw = u:p */
	auth_case("token beats everything", "tok", "user", "pass", "u", "p", "Basic client", "Bearer tok");
	auth_case("basic-auth variables beat the client's header", NULL, "user", "pass", "u", "p",
	    "Bearer client", "Basic dXNlcjpwYXNz");
	auth_case("user without password is ignored", NULL, "user", NULL, NULL, NULL,
	    "Bearer client", "Bearer client");
	auth_case("client's header beats URL userinfo", NULL, NULL, NULL, "u", "p", "Bearer client",
	    "Bearer client");
	auth_case("URL userinfo when nothing else", NULL, NULL, NULL, "u", "p", NULL, "Basic dTpw");
	auth_case("URL user without password", NULL, NULL, NULL, "u", NULL, NULL, "Basic dTo=");
	auth_case("nothing configured, nothing sent", NULL, NULL, NULL, NULL, NULL, NULL, NULL);
}

static void
test_tenant_and_headers(void)
{
	struct relay_settings cfg;
	struct relay_req *rr;

	memset(&cfg, 0, sizeof(cfg));
	rr = through_chain(&cfg, NULL, NULL);
	is_str(relay_req_header(rr, "x-scope-orgid"), "client-tenant", "no tenant configured: client's passes");
	relay_req_free(rr);

	cfg.tenant_id = "acme";
	rr = through_chain(&cfg, NULL, NULL);
	is_str(relay_req_header(rr, "X-Scope-OrgID"), "acme", "configured tenant replaces the client's");
	relay_req_unset_header(rr, "X-Scope-OrgID");
	ok(relay_req_header(rr, "x-scope-orgid") == NULL, "only one tenant header was left");
	relay_req_free(rr);

	cfg.nheaders = 2;
	cfg.headers[0].name = "X-Team";
	cfg.headers[0].value = "payments";
	cfg.headers[1].name = "x-scope-orgid";
	cfg.headers[1].value = "from-headers";
	rr = through_chain(&cfg, NULL, NULL);
	is_str(relay_req_header(rr, "X-Team"), "payments", "custom header applied");
	is_str(relay_req_header(rr, "X-Scope-OrgID"), "from-headers", "custom headers are applied last");
	relay_req_free(rr);
}

static void
test_session(void)
{
	struct relay_settings cfg;
	struct relay_req *rr;
	const char *modern = "format=pprof&from=1&name=app%7Botel.scope.name%3Dx%7D&until=2";
	const char *old = "from=1&name=relay-fixture-app%7Benv%3Dtest%2Cregion%3Dlocal%7D&spyName=nodespy&until=2&sampleRate=17";
	const char *p;

	memset(&cfg, 0, sizeof(cfg));
	rr = through_chain(&cfg, NULL, modern);
	is_str(rr->query, modern, "dotted keys: query untouched, byte for byte");
	relay_req_free(rr);

	rr = through_chain(&cfg, NULL, old);
	p = strstr(rr->query, "name=relay-fixture-app%7B__session_id__%3D");
	ok(p != NULL, "session id added to the name labels");
	ok(strncmp(rr->query, "from=1&", 7) == 0, "bytes before name unchanged (no re-sorting)");
	ok(p != NULL && strlen(p) > 42 + 16 &&
	    strcmp(p + 42 + 16, "%2Cenv%3Dtest%2Cregion%3Dlocal%7D&spyName=nodespy&until=2&sampleRate=17") == 0,
	    "labels sorted after the id, the rest of the query unchanged");
	relay_req_free(rr);

	rr = through_chain(&cfg, NULL, NULL);
	ok(rr->query == NULL, "no query, nothing added");
	relay_req_free(rr);
}

static void
test_helpers_refuse(void)
{
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);

	is_int(relay_req_set_header(rr, "Host", "evil"), -22, "Host is the core's");
	is_int(relay_req_set_header(rr, "Transfer-Encoding", "chunked"), -22, "hop-by-hop refused");
	is_int(relay_req_set_header(rr, "X-A", "a\r\nX-B: b"), -22, "CR/LF refused");
	is_int(relay_req_set_header(rr, "Bad Name", "v"), -22, "invalid name refused");
	relay_req_copy_client_header(rr, "Connection", "keep-alive");
	relay_req_copy_client_header(rr, "Content-Length", "5");
	relay_req_copy_client_header(rr, "Content-Type", "application/octet-stream");
	ok(relay_req_header(rr, "Connection") == NULL && relay_req_header(rr, "Content-Length") == NULL,
	    "client hop-by-hop and length headers are not copied");
	is_str(relay_req_header(rr, "content-type"), "application/octet-stream", "other client headers are");
	relay_req_free(rr);
}

static int
edit_upper(const char *value, void *arg, char **ret)
{
	int *calls = arg;
	char *v;

	(*calls)++;
	if (strcmp(value, "keep") == 0)
		return 0;
	if (strcmp(value, "fail") == 0)
		return -ENOMEM;
	v = strdup(value);
	for (char *c = v; *c != '\0'; c++)
		*c = (char)toupper((unsigned char)*c);
	*ret = v;
	return 1;
}

static void
test_edit_query_value(void)
{
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);
	int calls = 0;

	relay_req_set_query(rr, strdup("a=1&name=x+y%2Fz&name=second&b"));
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), 1, "edited: 1");
	is_str(rr->query, "a=1&name=X+Y%2FZ&name=second&b",
	    "the first value decoded, edited and escaped back in place; the rest as sent");
	relay_req_set_query(rr, strdup("name=keep&z=1"));
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), 0, "left by the edit: 0");
	is_str(rr->query, "name=keep&z=1", "query unchanged");
	relay_req_set_query(rr, strdup("name=fail"));
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), -ENOMEM, "the edit's error is returned");
	is_str(rr->query, "name=fail", "query unchanged on error");
	calls = 0;
	relay_req_set_query(rr, strdup("name=%zz&other=1"));
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), 0, "undecodable value: 0");
	relay_req_set_query(rr, strdup("other=1"));
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), 0, "absent key: 0");
	relay_req_set_query(rr, NULL);
	is_int(relay_req_edit_query_value(rr, "name", edit_upper, &calls), 0, "no query: 0");
	is_int(calls, 0, "the edit is not called without a decodable value");
	relay_req_free(rr);
}

int
main(void)
{
	test_auth_precedence();
	test_tenant_and_headers();
	test_session();
	test_helpers_refuse();
	test_edit_query_value();
	return done_testing();
}
