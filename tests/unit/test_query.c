/* test_query.c -- finding, unescaping, escaping and splicing raw query values (Go url rules). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct find_case {
	const char	*query;
	const char	*key;
	const char	*want;		/* raw value bytes, or NULL when not found */
};

static const struct find_case find_cases[] = {
	{ "name=app&from=1", "name", "app" },
	{ "from=1&name=app%7Benv%3Dx%7D&until=2", "name", "app%7Benv%3Dx%7D" },
	{ "spyName=gospy&name=a+b", "name", "a+b" },
	{ "a=1&a=2", "a", "1" },
	{ "n%61me=x", "name", "x" },
	{ "na+me=x", "na me", "x" },
	{ "na%20me=x", "na me", "x" },
	{ "name", "name", "" },
	{ "name=", "name", "" },
	{ "name=a=b", "name", "a=b" },
	{ "&&name=x&", "name", "x" },
	{ "=x", "", "x" },
	{ "name=x%00y", "name", "x%00y" },
	/* Go's ParseQuery skips pairs with ';' and pairs that do not unescape */
	{ "name=a;b&name=c", "name", "c" },
	{ "name=%zz&name=ok", "name", "ok" },
	{ "%zz=1&name=2", "name", "2" },
	{ "n%zzame=1&name=2", "name", "2" },
	{ "x=1;name=y", "name", NULL },
	{ "name=%4", "name", NULL },
	{ "name=%", "name", NULL },
	{ "", "name", NULL },
	{ "xname=1&namex=2", "name", NULL },
	{ "Name=1", "name", NULL },
	{ "name%00=x", "name", NULL },
	{ "a=1", "", NULL },
	{ "&&&", "", NULL },
};

struct unescape_case {
	const char	*in;
	size_t		 len;		/* (size_t)-1: strlen(in) */
	const char	*want;		/* NULL: refused */
};

#define ALL	((size_t)-1)

static const struct unescape_case unescape_cases[] = {
	{ "app%7Benv%3Dx%7D", ALL, "app{env=x}" },
	{ "a+b%20c", ALL, "a b c" },
	{ "%41%61%7e%7E", ALL, "Aa~~" },
	{ "100%25", ALL, "100%" },
	{ "%C3%A9", ALL, "\xc3\xa9" },
	{ "plain", ALL, "plain" },
	{ "", ALL, "" },
	{ "abc&x=1", 3, "abc" },
	{ "%41zz", 3, "A" },
	{ "%zz", ALL, NULL },
	{ "%4", ALL, NULL },
	{ "%", ALL, NULL },
	{ "a%", ALL, NULL },
	{ "%g0", ALL, NULL },
	{ "%0g", ALL, NULL },
	{ "%41", 2, NULL },		/* the escape is cut by len */
	{ "x%00y", ALL, NULL },		/* a NUL cannot be returned in a C string */
};

struct escape_case {
	const char	*in;
	const char	*want;
};

static const struct escape_case escape_cases[] = {
	{ "app{__session_id__=0123456789abcdef,env=x}",
	  "app%7B__session_id__%3D0123456789abcdef%2Cenv%3Dx%7D" },
	{ "a b", "a+b" },
	{ "AZaz09-_.~", "AZaz09-_.~" },
	{ "/:?#[]@!$&'()*+,;=", "%2F%3A%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D" },
	{ "%+", "%25%2B" },
	{ "\xc3\xa9", "%C3%A9" },
	{ "\x01\x7f\xff\t", "%01%7F%FF%09" },
	{ "\"<>\\^`{|}", "%22%3C%3E%5C%5E%60%7B%7C%7D" },
	{ "", "" },
};

struct splice_case {
	const char	*query;
	size_t		 off;
	size_t		 len;
	const char	*value;
	const char	*want;
};

static const struct splice_case splice_cases[] = {
	{ "a=1&name=x&b=2", 9, 1, "y%7B", "a=1&name=y%7B&b=2" },
	{ "name=", 5, 0, "v", "name=v" },
	{ "name=old", 5, 3, "", "name=" },
	{ "abc", 0, 3, "", "" },
	{ "abc", 3, 0, "d", "abcd" },
	{ "abc", 0, 0, "x", "xabc" },
	{ "", 0, 0, "", "" },
	{ "abc", 2, 2, "x", NULL },
	{ "abc", 4, 0, "x", NULL },
	{ "abc", 1, (size_t)-1, "x", NULL },
};

static void
test_find(void)
{
	char desc[160];
	size_t i;

	for (i = 0; i < NELEM(find_cases); i++) {
		const struct find_case *c = &find_cases[i];
		size_t off = 99, len = 99;
		bool found = query_find(c->query, c->key, &off, &len);

		snprintf(desc, sizeof(desc), "query_find('%s', '%s') %s", c->query, c->key,
		    c->want != NULL ? "finds it" : "finds nothing");
		if (!ok(found == (c->want != NULL), desc) || !found)
			continue;
		snprintf(desc, sizeof(desc), "query_find('%s', '%s') value", c->query, c->key);
		ok(len == strlen(c->want) && off + len <= strlen(c->query) &&
		    memcmp(c->query + off, c->want, len) == 0, desc);
	}
	{
		size_t off = 0, len = 0;

		ok(query_find("from=1&name=app", "name", &off, &len) && off == 12 && len == 3,
		    "query_find offsets are byte offsets into the raw query");
		ok(query_find("name", "name", &off, &len) && off == 4 && len == 0,
		    "a pair without '=' has an empty value at its end");
		ok(!query_find(NULL, "name", &off, &len), "query_find(NULL query)");
		ok(!query_find("name=x", NULL, &off, &len), "query_find(NULL key)");
	}
}

static void
test_unescape(void)
{
	char desc[160];
	size_t i;

	for (i = 0; i < NELEM(unescape_cases); i++) {
		const struct unescape_case *c = &unescape_cases[i];
		size_t len = c->len == ALL ? strlen(c->in) : c->len;
		char *got = query_unescape(c->in, len);

		snprintf(desc, sizeof(desc), "query_unescape('%s', %zu)", c->in, len);
		is_str(got, c->want, desc);
		free(got);
	}
	ok(query_unescape(NULL, 0) == NULL, "query_unescape(NULL)");
}

static void
test_escape(void)
{
	char desc[160];
	size_t i;

	for (i = 0; i < NELEM(escape_cases); i++) {
		char *got = query_escape(escape_cases[i].in);
		char *back = got != NULL ? query_unescape(got, strlen(got)) : NULL;

		snprintf(desc, sizeof(desc), "query_escape(case %zu) = '%s'", i,
		    escape_cases[i].want);
		is_str(got, escape_cases[i].want, desc);
		snprintf(desc, sizeof(desc), "query_unescape(query_escape(case %zu)) round trip", i);
		is_str(back, escape_cases[i].in, desc);
		free(got);
		free(back);
	}
	ok(query_escape(NULL) == NULL, "query_escape(NULL)");
}

static void
test_splice(void)
{
	char desc[160];
	size_t i;

	for (i = 0; i < NELEM(splice_cases); i++) {
		const struct splice_case *c = &splice_cases[i];
		char *got = query_splice(c->query, c->off, c->len, c->value);

		snprintf(desc, sizeof(desc), "query_splice('%s', %zu, %zu, '%s')", c->query,
		    c->off, c->len, c->value);
		is_str(got, c->want, desc);
		free(got);
	}
	ok(query_splice(NULL, 0, 0, "x") == NULL, "query_splice(NULL query)");
	ok(query_splice("x", 0, 0, NULL) == NULL, "query_splice(NULL value)");
}

/* What mod_session does: find name, decode it, re-encode a new value, splice it in. */
static void
test_rewrite(void)
{
	const char *q = "spyName=gospy&name=app%7Benv%3Dx%7D&sampleRate=100&name=second";
	size_t off = 0, len = 0;
	char *name = NULL, *enc = NULL, *out = NULL;

	ok(query_find(q, "name", &off, &len), "rewrite: name found");
	name = query_unescape(q + off, len);
	is_str(name, "app{env=x}", "rewrite: name decoded");
	enc = query_escape("app{__session_id__=00ff,env=x}");
	out = query_splice(q, off, len, enc);
	is_str(out, "spyName=gospy&name=app%7B__session_id__%3D00ff%2Cenv%3Dx%7D"
	    "&sampleRate=100&name=second", "rewrite: only the first name value changes");
	free(name);
	free(enc);
	free(out);
}

int
main(void)
{
	test_find();
	test_unescape();
	test_escape();
	test_splice();
	test_rewrite();
	return done_testing();
}
