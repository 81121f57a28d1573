/* test_remote.c -- remote address parsing, secret-free errors, and Go path.Join semantics. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct url_case {
	const char	*in;
	bool		 https;
	const char	*host;
	int		 port;
	const char	*authority;
	const char	*base_path;
	const char	*user;
	const char	*password;
	const char	*display;
};

static const struct url_case url_cases[] = {
	{ "https://h", true, "h", 443, "h", "", NULL, NULL, "https://h" },
	{ "http://localhost:4040", false, "localhost", 4040, "localhost:4040", "", NULL, NULL,
	  "http://localhost:4040" },
	{ "https://profiles-prod-001.grafana.net", true, "profiles-prod-001.grafana.net", 443,
	  "profiles-prod-001.grafana.net", "", NULL, NULL,
	  "https://profiles-prod-001.grafana.net" },
	{ "HTTPS://Example.COM/prefix/", true, "Example.COM", 443, "Example.COM", "/prefix/",
	  NULL, NULL, "https://Example.COM/prefix/" },
	{ "hTtP://h/", false, "h", 80, "h", "/", NULL, NULL, "http://h/" },
	{ "https://user:pa%40ss@h.example:8443/p?q=1#f", true, "h.example", 8443,
	  "h.example:8443", "/p", "user", "pa@ss", "https://h.example:8443/p" },
	{ "https://user@h", true, "h", 443, "h", "", "user", NULL, "https://h" },
	{ "https://user:@h", true, "h", 443, "h", "", "user", "", "https://h" },
	{ "https://:pw@h", true, "h", 443, "h", "", "", "pw", "https://h" },
	{ "https://@h", true, "h", 443, "h", "", "", NULL, "https://h" },
	{ "https://a@b:c@d@h", true, "h", 443, "h", "", "a@b", "c@d", "https://h" },
	{ "https://u%3Ax:p%2Fw%3a+@h", true, "h", 443, "h", "", "u:x", "p/w:+", "https://h" },
	{ "https://u:p:q@h", true, "h", 443, "h", "", "u", "p:q", "https://h" },
	{ "http://127.0.0.1:8080/x", false, "127.0.0.1", 8080, "127.0.0.1:8080", "/x", NULL,
	  NULL, "http://127.0.0.1:8080/x" },
	{ "http://[::1]:4040/", false, "::1", 4040, "[::1]:4040", "/", NULL, NULL,
	  "http://[::1]:4040/" },
	{ "https://[2001:db8::1]", true, "2001:db8::1", 443, "[2001:db8::1]", "", NULL, NULL,
	  "https://[2001:db8::1]" },
	{ "https://[::ffff:1.2.3.4]/v", true, "::ffff:1.2.3.4", 443, "[::ffff:1.2.3.4]", "/v",
	  NULL, NULL, "https://[::ffff:1.2.3.4]/v" },
	{ "https://h?x=1", true, "h", 443, "h", "", NULL, NULL, "https://h" },
	{ "https://h#frag", true, "h", 443, "h", "", NULL, NULL, "https://h" },
	{ "https://h/a?b/c#d", true, "h", 443, "h", "/a", NULL, NULL, "https://h/a" },
	{ "https://h/a/../b", true, "h", 443, "h", "/a/../b", NULL, NULL, "https://h/a/../b" },
	{ "https://h/p%20x/", true, "h", 443, "h", "/p%20x/", NULL, NULL, "https://h/p%20x/" },
	{ "http://my_host-1.internal:65535", false, "my_host-1.internal", 65535,
	  "my_host-1.internal:65535", "", NULL, NULL, "http://my_host-1.internal:65535" },
	{ "http://h:1", false, "h", 1, "h:1", "", NULL, NULL, "http://h:1" },
	{ "http://h:080", false, "h", 80, "h:080", "", NULL, NULL, "http://h:080" },
	{ "http://h:443", false, "h", 443, "h:443", "", NULL, NULL, "http://h:443" },
	{ "https://h/@x", true, "h", 443, "h", "/@x", NULL, NULL, "https://h/@x" },
};

struct err_case {
	const char	*in;
	const char	*want;		/* the message starts with this */
};

#define SECRET	"hunter2"	/* must never appear in an error message */

static const struct err_case err_cases[] = {
	{ "", "empty address" },
	{ "ftp://h", "unsupported scheme 'ftp' (want http or https)" },
	{ "ftp://user:" SECRET "@h", "unsupported scheme 'ftp' (want http or https)" },
	{ "HTTPX://h", "unsupported scheme 'HTTPX' (want http or https)" },
	{ "h:4040", "missing scheme (want http:// or https://)" },
	{ "localhost", "missing scheme" },
	{ "user:" SECRET "@h", "missing scheme" },
	{ "http:/h", "missing scheme" },
	{ "http:h", "missing scheme" },
	{ "://h", "missing scheme" },
	{ "1http://h", "missing scheme" },
	{ "https://", "missing host" },
	{ "https:///path", "missing host" },
	{ "https://:443", "missing host" },
	{ "https://?x", "missing host" },
	{ "https://user:" SECRET "@", "missing host" },
	{ "https://user:" SECRET "@:80", "missing host" },
	{ "https://user:" SECRET "@/p", "missing host" },
	{ "https://h:99999", "invalid port '99999'" },
	{ "https://h:0", "invalid port '0'" },
	{ "https://h:", "invalid port ''" },
	{ "https://h:abc", "invalid port 'abc'" },
	{ "https://h:-1", "invalid port '-1'" },
	{ "https://h:65536", "invalid port '65536'" },
	{ "https://h:1:2", "invalid host (an IPv6 address needs [brackets]) 'h:1:2'" },
	{ "https://user:" SECRET "@h:99999", "invalid port '99999'" },
	{ "https://exa mple.com", "the address contains a space or a control character" },
	{ "https://h/a b", "the address contains a space" },
	{ "https://h\r\nX: y", "the address contains a space" },
	{ "https://h\t", "the address contains a space" },
	{ "https://h\x7f", "the address contains a space" },
	{ " https://h", "the address contains a space" },
	{ "https://user:hun ter2@h", "the address contains a space" },
	{ "https://ex%41mple.com", "invalid host 'ex%41mple.com'" },
	{ "https://h\xc3\xa9.com", "invalid host 'h\xc3\xa9.com'" },
	{ "https://bad!host", "invalid host 'bad!host'" },
	{ "https://user:" SECRET "@bad!host", "invalid host 'bad!host'" },
	{ "https://[::1", "missing ']' in IPv6 host '[::1'" },
	{ "https://[zz::1]", "invalid IPv6 address 'zz::1'" },
	{ "https://[]", "invalid IPv6 address ''" },
	{ "https://[1.2.3.4]", "invalid IPv6 address '1.2.3.4'" },
	{ "https://[fe80::1%25eth0]", "invalid IPv6 address 'fe80::1%25eth0'" },
	{ "https://[::1]x", "unexpected text after the IPv6 address 'x'" },
	{ "https://[::1]:0", "invalid port '0'" },
	{ "https://::1", "invalid host (an IPv6 address needs [brackets])" },
	{ "https://999.1.1.1", "invalid IPv4 address '999.1.1.1'" },
	{ "https://1.2.3", "invalid IPv4 address '1.2.3'" },
	/* an unencoded '/', '?' or '#' in the password: nothing after "//" is quoted */
	{ "https://user:hun/ter2@h", "invalid port (not shown: '@' after the host" },
	{ "https://user:" SECRET "#x@h", "invalid port (not shown" },
	{ "https://user:" SECRET "?x@h", "invalid port (not shown" },
	{ "https://" SECRET "!/x@h", "invalid host (not shown" },
	{ "https://user:hun@ter2/x@h", "'@' both in the userinfo and after the host (not shown)" },
	{ "https://user:" SECRET "@h/p@q", "'@' both in the userinfo and after the host (not shown)" },
	{ "https://u@" SECRET "?x@h", "'@' both in the userinfo and after the host (not shown)" },
	{ "https://us{er:" SECRET "@h", "invalid character in the userinfo" },
	{ "https://us\xc3\xa9r:" SECRET "@h", "invalid character in the userinfo" },
	{ "https://user:" SECRET "%zz@h", "invalid percent-encoding in the userinfo" },
	{ "https://user:" SECRET "%4@h", "invalid percent-encoding in the userinfo" },
	{ "https://user:" SECRET "%@h", "invalid percent-encoding in the userinfo" },
	{ "https://user:" SECRET "%00@h", "invalid percent-encoding in the userinfo" },
	{ "https://us%zzer:" SECRET "@h", "invalid percent-encoding in the userinfo" },
};

struct join_case {
	const char	*base;
	const char	*path;
	const char	*want;
};

static const struct join_case join_cases[] = {
	/* reference-extension.md 2.5.1 */
	{ "", "/ingest", "/ingest" },
	{ "/", "/ingest", "/ingest" },
	{ "/prefix", "/ingest", "/prefix/ingest" },
	{ "/prefix/", "/ingest", "/prefix/ingest" },
	{ "/prefix", "/", "/prefix" },
	{ "", "/ingest/", "/ingest" },
	{ "/a/../b", "/x", "/b/x" },
	/* path.Clean details */
	{ "", "", "/" },
	{ "", "/", "/" },
	{ "/", "/", "/" },
	{ "/a", "/../../x", "/x" },
	{ "/..", "..", "/" },
	{ "/a/b", "..", "/a" },
	{ "/a/b", "../..", "/" },
	{ "/a/./b//c/", "./d/", "/a/b/c/d" },
	{ "//a//", "//b//", "/a/b" },
	{ "/a", "b", "/a/b" },
	{ "a", "b", "/a/b" },
	{ "/.../x", "/..a/.b.", "/.../x/..a/.b." },
	{ "/p%20x", "/ingest", "/p%20x/ingest" },
	{ "/a", "/push.v1.PusherService/Push", "/a/push.v1.PusherService/Push" },
	{ "/a/b/c", "/../../../../d", "/d" },
	{ "/.", "/.", "/" },
	{ "/./", "./.", "/" },
	{ NULL, NULL, "/" },
	{ NULL, "/x", "/x" },
};

static void
check_field(const char *got, const char *want, const char *in, const char *field)
{
	char desc[192];

	snprintf(desc, sizeof(desc), "'%s' %s", in, field);
	is_str(got, want, desc);
}

static void
test_parse_ok(void)
{
	char desc[192];
	size_t i;

	for (i = 0; i < NELEM(url_cases); i++) {
		const struct url_case *c = &url_cases[i];
		struct remote_url u;
		char *err = NULL;
		int rc = remote_url_parse(c->in, &u, &err);

		snprintf(desc, sizeof(desc), "'%s' parses", c->in);
		if (!ok(rc == 0 && err == NULL, desc)) {
			printf("#   rc %d, error '%s'\n", rc, err ? err : "(null)");
			free(err);
			continue;
		}
		snprintf(desc, sizeof(desc), "'%s' https", c->in);
		is_int(u.https, c->https, desc);
		snprintf(desc, sizeof(desc), "'%s' port", c->in);
		is_int(u.port, c->port, desc);
		check_field(u.host, c->host, c->in, "host");
		check_field(u.authority, c->authority, c->in, "authority");
		check_field(u.base_path, c->base_path, c->in, "base_path");
		check_field(u.user, c->user, c->in, "user");
		check_field(u.password, c->password, c->in, "password");
		check_field(u.display, c->display, c->in, "display");
		remote_url_clear(&u);
	}
}

static void
test_parse_errors(void)
{
	char desc[192], esc[96];
	size_t i;

	for (i = 0; i < NELEM(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		struct remote_url u = { .port = 4242 };
		char *err = NULL;
		int rc = remote_url_parse(c->in, &u, &err);
		const char *e = err != NULL ? err : "";

		tap_escaped(c->in, esc, sizeof(esc));
		snprintf(desc, sizeof(desc), "'%s' is refused with -EINVAL", esc);
		is_int(rc, -EINVAL, desc);
		snprintf(desc, sizeof(desc), "'%s' message", esc);
		if (!ok(strncmp(e, c->want, strlen(c->want)) == 0, desc))
			printf("#   got:  '%s'\n#   want: '%s...'\n", e, c->want);
		snprintf(desc, sizeof(desc), "'%s' message holds no secret", esc);
		ok(strstr(e, SECRET) == NULL && strstr(e, "hun") == NULL, desc);
		snprintf(desc, sizeof(desc), "'%s' leaves *ret untouched", esc);
		ok(u.port == 4242 && u.host == NULL && u.display == NULL, desc);
		free(err);
	}
}

static void
test_parse_misc(void)
{
	struct remote_url u = { 0 };
	char *err = NULL, longs[200];

	ok(remote_url_parse(NULL, &u, &err) == -EINVAL && err != NULL, "NULL address is refused");
	free(err);
	ok(remote_url_parse("ftp://h", &u, NULL) == -EINVAL, "reterr may be NULL");
	memset(longs, 'a', sizeof(longs));
	memcpy(longs + 150, "://h", 5);
	err = NULL;
	ok(remote_url_parse(longs, &u, &err) == -EINVAL && err != NULL && strlen(err) < 160,
	    "a long scheme is quoted shortened");
	free(err);
	ok(remote_url_parse("https://u:p@h:1/x", &u, NULL) == 0, "parse for clear");
	remote_url_clear(&u);
	ok(u.host == NULL && u.user == NULL && u.password == NULL && u.port == 0,
	    "remote_url_clear zeroes the struct");
	remote_url_clear(&u);
	remote_url_clear(NULL);
	ok(1, "remote_url_clear is idempotent and NULL-safe");
}

static void
test_path_join(void)
{
	char desc[192];
	size_t i;

	for (i = 0; i < NELEM(join_cases); i++) {
		const struct join_case *c = &join_cases[i];
		char *got = path_join(c->base, c->path);

		snprintf(desc, sizeof(desc), "path_join('%s', '%s')",
		    c->base ? c->base : "(null)", c->path ? c->path : "(null)");
		is_str(got, c->want, desc);
		free(got);
	}
}

/* reference-extension.md 2.5.1 end to end: address, then the joined request path. */
static void
test_remote_paths(void)
{
	static const struct join_case cases[] = {
		{ "https://h", "/ingest", "/ingest" },
		{ "https://h/", "/ingest", "/ingest" },
		{ "https://h/prefix", "/ingest", "/prefix/ingest" },
		{ "https://h/prefix/", "/ingest", "/prefix/ingest" },
		{ "https://h/prefix", "/", "/prefix" },
		{ "https://h", "/ingest/", "/ingest" },
		{ "https://h/a/../b", "/x", "/b/x" },
	};
	char desc[192];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		struct remote_url u;
		char *got = NULL;

		if (remote_url_parse(cases[i].base, &u, NULL) == 0) {
			got = path_join(u.base_path, cases[i].path);
			remote_url_clear(&u);
		}
		snprintf(desc, sizeof(desc), "remote '%s' + '%s'", cases[i].base, cases[i].path);
		is_str(got, cases[i].want, desc);
		free(got);
	}
}

int
main(void)
{
	test_parse_ok();
	test_parse_errors();
	test_parse_misc();
	test_path_join();
	test_remote_paths();
	return done_testing();
}
