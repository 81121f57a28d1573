/* test_proxyenv.c -- the proxy variables' precedence, NO_PROXY matching, proxy URLs, and their settings. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyenv.h"
#include "settings.h"
#include "tap.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *
fake_getenv(const char *name)
{
	for (const char *const *p = fake_env; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

struct pick_case {
	bool		 https;
	const char	*env[9];
	const char	*want_value;	/* NULL: no proxy */
	const char	*want_name;
	const char	*desc;
};

static const struct pick_case pick_cases[] = {
	{ true, { "HTTPS_PROXY", "U", NULL }, "U", "HTTPS_PROXY", "https: HTTPS_PROXY alone" },
	{ true, { "https_proxy", "l", NULL }, "l", "https_proxy", "https: https_proxy alone" },
	{ true, { "HTTPS_PROXY", "U", "https_proxy", "l", NULL }, "l", "https_proxy",
	    "https: lower case wins over upper case (curl)" },
	{ true, { "HTTPS_PROXY", "U", "https_proxy", "", NULL }, "U", "HTTPS_PROXY",
	    "https: an empty https_proxy is unset, HTTPS_PROXY applies (curl)" },
	{ true, { "HTTP_PROXY", "h", "http_proxy", "h", NULL }, NULL, NULL,
	    "https: the http variables are not read" },
	{ true, { "ALL_PROXY", "a", "all_proxy", "a", NULL }, NULL, NULL, "https: ALL_PROXY is not read" },
	{ false, { "http_proxy", "l", NULL }, "l", "http_proxy", "http: http_proxy alone" },
	{ false, { "HTTP_PROXY", "U", NULL }, "U", "HTTP_PROXY", "http: HTTP_PROXY alone (read, unlike curl)" },
	{ false, { "HTTP_PROXY", "U", "http_proxy", "l", NULL }, "l", "http_proxy",
	    "http: lower case wins over upper case" },
	{ false, { "HTTPS_PROXY", "s", "https_proxy", "s", NULL }, NULL, NULL,
	    "http: the https variables are not read" },
	{ false, { "HTTP_PROXY", "", NULL }, NULL, NULL, "http: empty is unset" },
};

static void
test_pick(void)
{
	for (size_t i = 0; i < sizeof(pick_cases) / sizeof(pick_cases[0]); i++) {
		const struct pick_case *c = &pick_cases[i];
		const char *name = "unset", *v;

		fake_env = c->env;
		v = proxyenv_get(c->https, fake_getenv, &name);
		is_str(v, c->want_value, c->desc);
		is_str(name, c->want_name, c->desc);
	}
}

static void
test_no_proxy_pick(void)
{
	const char *const both[] = { "NO_PROXY", "upper", "no_proxy", "lower", NULL };
	const char *const upper[] = { "NO_PROXY", "upper", "no_proxy", "", NULL };
	const char *const none[] = { "NO_PROXY", "", NULL };
	const char *name = NULL;

	fake_env = both;
	is_str(proxyenv_no_proxy(fake_getenv, &name), "lower", "no_proxy wins over NO_PROXY");
	is_str(name, "no_proxy", "no_proxy named");
	fake_env = upper;
	is_str(proxyenv_no_proxy(fake_getenv, &name), "upper", "an empty no_proxy is unset: NO_PROXY applies");
	is_str(name, "NO_PROXY", "NO_PROXY named");
	fake_env = none;
	ok(proxyenv_no_proxy(fake_getenv, &name) == NULL && name == NULL, "empty NO_PROXY: no list");
}

struct bypass_case {
	const char	*list;
	const char	*host;
	int		 port;
	bool		 want;
};

static const struct bypass_case bypass_cases[] = {
	/* "*" is the whole list only, as in curl */
	{ "*", "example.com", 443, true },
	{ "*", "127.0.0.1", 443, true },
	{ "*", "::1", 443, true },
	{ "*,foo", "example.com", 443, false },
	{ " *", "example.com", 443, false },
	/* names: the host itself, and as a domain */
	{ "example.com", "example.com", 443, true },
	{ "example.com", "www.example.com", 443, true },
	{ "example.com", "a.b.example.com", 443, true },
	{ "example.com", "notexample.com", 443, false },
	{ "example.com", "example.com.evil", 443, false },
	{ ".example.com", "www.example.com", 443, true },
	{ ".example.com", "example.com", 443, true },
	{ "example.com.", "www.example.com", 443, true },
	{ "example.com", "www.example.com.", 443, true },
	{ "EXAMPLE.Com", "Www.example.COM", 443, true },
	{ "www.example.com", "example.com", 443, false },
	{ "com", "example.com", 443, true },
	{ ".", "example.com", 443, false },
	/* lists */
	{ "a.org,example.com", "example.com", 443, true },
	{ "a.org, b.org ,example.com", "x.example.com", 443, true },
	{ "a.org example.com", "example.com", 443, true },
	{ ",,,", "example.com", 443, false },
	{ "a.org,b.org", "example.com", 443, false },
	/* no implicit bypass and no resolution */
	{ "localhost", "127.0.0.1", 443, false },
	{ "127.0.0.1", "localhost", 443, false },
	{ "example.com", "127.0.0.1", 443, false },
	/* IPv4 */
	{ "127.0.0.1", "127.0.0.1", 8443, true },
	{ "127.0.0.2", "127.0.0.1", 8443, false },
	{ "127.0.0.0/8", "127.9.8.7", 8443, true },
	{ "10.0.0.0/8", "127.0.0.1", 8443, false },
	{ "192.168.0.0/16", "192.168.77.1", 80, true },
	{ "192.168.0.0/17", "192.168.128.1", 80, false },
	{ "192.168.1.1/32", "192.168.1.1", 80, true },
	{ "0.0.0.0/0", "8.8.8.8", 80, true },
	{ "1.2.3.4/33", "1.2.3.4", 80, false },
	{ "1.2.3.4/x", "1.2.3.4", 80, false },
	{ "::1", "127.0.0.1", 80, false },
	/* IPv6 */
	{ "::1", "::1", 443, true },
	{ "[::1]", "::1", 443, true },
	{ "fe80::/10", "fe80::1234", 443, true },
	{ "fe80::/10", "fec0::1", 443, false },
	{ "2001:db8::/32", "2001:db8:1::5", 443, true },
	{ "2001:db8::/33", "2001:db8:8000::5", 443, false },
	{ "127.0.0.1", "::1", 443, false },
	/* ports: honoured when written */
	{ "example.com:8443", "example.com", 8443, true },
	{ "example.com:8443", "example.com", 443, false },
	{ "example.com:8443", "www.example.com", 8443, true },
	{ "127.0.0.1:4041", "127.0.0.1", 4041, true },
	{ "127.0.0.1:4041", "127.0.0.1", 4042, false },
	{ "[::1]:8443", "::1", 8443, true },
	{ "[::1]:8443", "::1", 443, false },
	{ "example.com:", "example.com", 443, false },
	{ "example.com:99999", "example.com", 443, false },
	{ "example.com:x", "example.com", 443, false },
	{ "[::1", "::1", 443, false },
};

static void
test_bypass(void)
{
	for (size_t i = 0; i < sizeof(bypass_cases) / sizeof(bypass_cases[0]); i++) {
		const struct bypass_case *c = &bypass_cases[i];
		char desc[200], esc[80];

		snprintf(desc, sizeof(desc), "NO_PROXY '%s' %s %s port %d", tap_escaped(c->list, esc, sizeof(esc)),
		    c->want ? "names" : "does not name", c->host, c->port);
		ok(proxyenv_bypass(c->list, c->host, c->port) == c->want, desc);
	}
}

static void
test_parse_ok(void)
{
	struct proxy_config p = { 0 };
	char *err = NULL;

	is_int(proxyenv_parse("http://127.0.0.1:3128", &p, &err), 0, "http://127.0.0.1:3128 parses");
	is_str(p.host, "127.0.0.1", "host");
	is_int(p.port, 3128, "port");
	is_str(p.authority, "127.0.0.1:3128", "authority");
	is_str(p.display, "http://127.0.0.1:3128", "display");
	ok(p.authorization == NULL && p.password == NULL, "no credentials");
	proxy_config_clear(&p);

	is_int(proxyenv_parse("proxy.corp:8080", &p, &err), 0, "no scheme means http:// (curl)");
	is_str(p.display, "http://proxy.corp:8080", "display without a scheme");
	proxy_config_clear(&p);

	is_int(proxyenv_parse("HTTP://Proxy.Corp/", &p, &err), 0, "scheme case-insensitive, path ignored");
	is_int(p.port, PROXY_DEFAULT_PORT, "no port: 1080, as curl");
	is_str(p.authority, "Proxy.Corp:1080", "authority with the default port");
	proxy_config_clear(&p);

	is_int(proxyenv_parse("http://u:p%40ss@[::1]:8080", &p, &err), 0, "credentials and IPv6");
	is_str(p.host, "::1", "IPv6 host without brackets");
	is_str(p.authority, "[::1]:8080", "IPv6 authority in brackets");
	is_str(p.display, "http://[::1]:8080", "display without the credentials");
	is_str(p.authorization, "Basic dTpwQHNz", "Basic of the decoded u:p@ss");
	is_str(p.password, "p@ss", "decoded password kept for redaction");
	proxy_config_clear(&p);

	is_int(proxyenv_parse("alice@h:1", &p, &err), 0, "user without a password");
	is_str(p.authorization, "Basic YWxpY2U6", "Basic of 'alice:'");
	proxy_config_clear(&p);

	is_int(proxyenv_parse("http://al%20ice:s3:cret@h:1", &p, &err), 0, "a ':' in the password");
	is_str(p.authorization, "Basic YWwgaWNlOnMzOmNyZXQ=", "Basic of 'al ice:s3:cret'");
	proxy_config_clear(&p);
	ok(p.host == NULL && p.display == NULL, "clear zeroes");
	proxy_config_clear(&p);
	proxy_config_clear(NULL);
	ok(1, "clear is idempotent and NULL-safe");
}

struct bad_case {
	const char	*value;
	const char	*want_in_err;
	const char	*secret;	/* must not appear in the error */
};

static const struct bad_case bad_cases[] = {
	{ "https://proxy:3128", "https:// proxy", NULL },
	{ "HTTPS://u:hunter2@proxy:3128", "https:// proxy", "hunter2" },
	{ "socks5://proxy:1080", "unsupported proxy scheme 'socks5'", NULL },
	{ "socks5h://u:hunter2@proxy:1080", "scheme", "hunter2" },
	{ "http://", "missing host", NULL },
	{ "http://proxy:0", "invalid port", NULL },
	{ "http://proxy:99999", "invalid port", NULL },
	{ "http://pro xy:1", "space", NULL },
	{ "http://u:hunter2@", "missing host", "hunter2" },
	{ "http://u:hun/ter2@proxy:1", "not shown", "ter2" },
	{ "u:hun/ter2@proxy:1", "not shown", "ter2" },
	{ "http://u:p%zz@proxy:1", "percent", NULL },
	{ "http://[::1:3128", "IPv6", NULL },
};

static void
test_parse_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct proxy_config p = { 0 };
		char desc[200], *err = NULL;
		int rc = proxyenv_parse(c->value, &p, &err);

		snprintf(desc, sizeof(desc), "'%s' is refused: %s", c->value, err ? err : "(no reason)");
		ok(rc < 0 && p.host == NULL && err != NULL && strstr(err, c->want_in_err) != NULL, desc);
		if (c->secret != NULL) {
			snprintf(desc, sizeof(desc), "'%s': the reason does not show the secret", c->value);
			ok(err != NULL && strstr(err, c->secret) == NULL, desc);
		}
		free(err);
	}
}

static void
load(struct relay_settings *s, const char *const *env)
{
	fake_env = env;
	if (settings_load(s, fake_getenv) < 0) {
		printf("Bail out! settings_load failed\n");
		exit(1);
	}
}

static bool
has_problem(const struct relay_settings *s, const char *needle)
{
	for (size_t i = 0; i < s->nproblems; i++)
		if (strstr(s->problems[i].text, needle) != NULL)
			return true;
	return false;
}

static bool
problems_contain(const struct relay_settings *s, const char *secret)
{
	return has_problem(s, secret) || (s->unsendable != NULL && strstr(s->unsendable, secret) != NULL);
}

static void
test_settings(void)
{
	struct relay_settings s;
	const char *const https_env[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example:8443",
		"HTTPS_PROXY", "http://u:hunter2@127.0.0.1:3128", "HTTP_PROXY", "http://other:1", NULL };
	const char *const http_env[] = { "PYROSCOPE_REMOTE_ADDRESS", "http://h.example",
		"HTTPS_PROXY", "http://127.0.0.1:3128", "HTTP_PROXY", "10.1.1.1:3128", NULL };
	const char *const bypassed[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example",
		"HTTPS_PROXY", "https://u:hunter2@bad", "NO_PROXY", "other.org,.example", NULL };
	const char *const wildcard[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example",
		"https_proxy", "http://p:1", "no_proxy", "*", NULL };
	const char *const bad[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example",
		"https_proxy", "https://u:hunter2@p:1", "NO_PROXY", "h.example", "no_proxy", "x.org", NULL };
	const char *const default_remote[] = { "HTTPS_PROXY", "proxy.corp:3128", NULL };
	const char *const bad_remote[] = { "PYROSCOPE_REMOTE_ADDRESS", "ftp://x", "HTTPS_PROXY", "https://p", NULL };
	const char *const adhoc[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example", "PYROSCOPE_SELF_PROFILING", "true",
		"PYROSCOPE_ADHOC_SERVER_ADDRESS", "http://self.internal:4040", "HTTPS_PROXY", "http://p:1",
		"HTTP_PROXY", "http://q:2", "NO_PROXY", ".internal", NULL };
	const char *const adhoc_bad[] = { "PYROSCOPE_REMOTE_ADDRESS", "https://h.example", "PYROSCOPE_SELF_PROFILING", "true",
		"PYROSCOPE_ADHOC_SERVER_ADDRESS", "http://self.example", "HTTP_PROXY", "ftp://u:hunter2@q", NULL };

	load(&s, https_env);
	is_str(s.proxy.host, "127.0.0.1", "https remote: HTTPS_PROXY applies");
	is_str(s.proxy.var, "HTTPS_PROXY", "https remote: named HTTPS_PROXY");
	is_str(s.proxy.authorization, "Basic dTpodW50ZXIy", "https remote: proxy credentials");
	ok(s.nproblems == 0 && s.unsendable == NULL, "https remote through a proxy: no problem");
	settings_clear(&s);

	load(&s, http_env);
	is_str(s.proxy.display, "http://10.1.1.1:3128", "http remote: HTTP_PROXY applies, not HTTPS_PROXY");
	settings_clear(&s);

	load(&s, default_remote);
	is_str(s.proxy.display, "http://proxy.corp:3128", "the default remote (https) goes through HTTPS_PROXY");
	settings_clear(&s);

	load(&s, bypassed);
	ok(s.proxy.host == NULL, "NO_PROXY names the remote: direct");
	is_str(s.proxy.no_proxy_var, "NO_PROXY", "the bypass names NO_PROXY");
	is_str(s.proxy.var, "HTTPS_PROXY", "and the proxy variable it overrides");
	ok(s.nproblems == 0 && s.unsendable == NULL, "a bypassed proxy variable is not even parsed (curl)");
	settings_clear(&s);

	load(&s, wildcard);
	ok(s.proxy.host == NULL && s.proxy.no_proxy_var != NULL, "no_proxy=*: direct");
	settings_clear(&s);

	load(&s, bad);
	ok(s.proxy.host == NULL, "unusable proxy URL: no proxy");
	ok(has_problem(&s, "https_proxy: unusable proxy URL"), "unusable proxy URL: a problem naming https_proxy");
	ok(s.unsendable != NULL && strstr(s.unsendable, "https_proxy") != NULL,
	    "unusable proxy URL: nothing is sent (no silent direct connection)");
	ok(!problems_contain(&s, "hunter2"), "unusable proxy URL: the password is not shown");
	settings_clear(&s);

	load(&s, bad_remote);
	ok(s.proxy.host == NULL && !has_problem(&s, "HTTPS_PROXY"), "unusable remote: the proxy is not looked at");
	settings_clear(&s);

	load(&s, adhoc);
	is_str(s.proxy.display, "http://p:1", "ad-hoc address set: the remote keeps its own proxy");
	ok(s.adhoc_proxy.host == NULL && s.adhoc_proxy.no_proxy_var != NULL,
	    "the ad-hoc address follows NO_PROXY on its own (direct)");
	settings_clear(&s);

	load(&s, adhoc_bad);
	ok(s.adhoc_remote.host == NULL && has_problem(&s, "HTTP_PROXY: unusable proxy URL"),
	    "ad-hoc address behind an unusable proxy: unusable, with a problem");
	ok(s.unsendable == NULL, "ad-hoc address behind an unusable proxy: the remote still sends");
	ok(!problems_contain(&s, "hunter2"), "ad-hoc address behind an unusable proxy: the password is not shown");
	settings_clear(&s);
}

int
main(void)
{
	test_pick();
	test_no_proxy_pick();
	test_bypass();
	test_parse_ok();
	test_parse_bad();
	test_settings();
	return done_testing();
}
