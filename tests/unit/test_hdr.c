/* test_hdr.c -- header name/value validation and the hop-by-hop, relay-owned and secret lists. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "hdr.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct str_case {
	const char	*in;
	bool		 want;
};

static const struct str_case name_cases[] = {
	{ "Content-Type", true }, { "X-Scope-OrgID", true }, { "x", true }, { "1", true },
	{ "!#$%&'*+-.^_`|~", true }, { "A1b2", true },
	{ "", false }, { "X Y", false }, { "X:Y", false }, { "X-Y:", false }, { " X", false },
	{ "X\t", false }, { "X\r\nY", false }, { "X\x7f", false }, { "X\x80", false },
	{ "X\xc3\xa9", false }, { "(X)", false }, { "X\"", false }, { "X,Y", false },
	{ "X/Y", false }, { "X;Y", false }, { "X=Y", false }, { "X@Y", false },
	{ "[X]", false }, { "{X}", false }, { "X\\Y", false }, { "X?", false }, { "X<>", false },
};

static const struct str_case value_cases[] = {
	{ "", true }, { "text/plain; charset=utf-8", true }, { "a\tb", true }, { "\t", true },
	{ " lead and trail ", true }, { "caf\xc3\xa9", true }, { "\x80\xff", true },
	{ "a\rb", false }, { "a\nb", false }, { "a\r\nX-Evil: 1", false }, { "\x01", false },
	{ "a\x1f", false }, { "a\x7f", false }, { "\x0b", false }, { "\x0c", false },
};

static const struct str_case hop_cases[] = {
	{ "Connection", true }, { "connection", true }, { "CONNECTION", true },
	{ "Keep-Alive", true }, { "keep-alive", true }, { "Proxy-Connection", true },
	{ "Proxy-Authenticate", true }, { "Proxy-Authorization", true }, { "TE", true },
	{ "te", true }, { "Trailer", true }, { "Trailers", true }, { "Transfer-Encoding", true },
	{ "transfer-encoding", true }, { "Upgrade", true }, { "Expect", true },
	{ "Host", false }, { "Content-Length", false }, { "Authorization", false },
	{ "Content-Type", false }, { "Connection2", false }, { "Connectio", false },
	{ "", false }, { "T", false }, { "Keep-Alive ", false },
};

static const struct str_case owned_cases[] = {
	{ "Host", true }, { "host", true }, { "Content-Length", true }, { "CONTENT-LENGTH", true },
	{ "Connection", true }, { "Transfer-Encoding", true }, { "Expect", true },
	{ "Content-Type", false }, { "Authorization", false }, { "X-Scope-OrgID", false },
	{ "Hosts", false }, { "", false },
};

static const struct str_case secret_cases[] = {
	{ "Authorization", true }, { "authorization", true }, { "Proxy-Authorization", true },
	{ "Cookie", true }, { "Set-Cookie", true }, { "set-cookie", true },
	{ "X-Amz-Security-Token", true }, { "x-amz-security-token", true },
	{ "X-Api-Key", true }, { "X-API-KEY", true },
	{ "X-Scope-OrgID", false }, { "Content-Type", false }, { "Cookies", false },
	{ "X-Api-Keys", false }, { "Auth", false }, { "", false },
};

static void
run(const char *what, bool (*fn)(const char *), const struct str_case *cases, size_t n)
{
	char desc[160], esc[64];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(desc, sizeof(desc), "%s('%s') is %s", what,
		    tap_escaped(cases[i].in, esc, sizeof(esc)), cases[i].want ? "true" : "false");
		is_int(fn(cases[i].in), cases[i].want, desc);
	}
	snprintf(desc, sizeof(desc), "%s(NULL) is false", what);
	ok(!fn(NULL), desc);
}

int
main(void)
{
	run("hdr_name_valid", hdr_name_valid, name_cases, NELEM(name_cases));
	run("hdr_value_valid", hdr_value_valid, value_cases, NELEM(value_cases));
	run("hdr_is_hop_by_hop", hdr_is_hop_by_hop, hop_cases, NELEM(hop_cases));
	run("hdr_is_relay_owned", hdr_is_relay_owned, owned_cases, NELEM(owned_cases));
	run("hdr_is_secret", hdr_is_secret, secret_cases, NELEM(secret_cases));
	ok(hdr_list_names("keep-alive, X-Hop", "x-hop"), "Connection list: a later token, any case");
	ok(hdr_list_names(" X-Hop ,close", "X-Hop"), "Connection list: spaces around a token");
	ok(hdr_list_names("a,,\tX-Hop\t", "X-Hop"), "Connection list: empty elements and tabs");
	ok(!hdr_list_names("X-Hop2, X-Ho", "X-Hop"), "Connection list: no prefix or longer match");
	ok(!hdr_list_names("", "X-Hop"), "Connection list: empty names nothing");
	ok(!hdr_list_names(" , ", "X-Hop"), "Connection list: only separators names nothing");
	return done_testing();
}
