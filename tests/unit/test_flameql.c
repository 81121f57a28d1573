/* test_flameql.c -- session-id injection with the original extension's ParseKey and Normalized. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flameql.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define ID		"0123456789abcdef"
#define SID		"__session_id__=" ID

struct inject_case {
	const char	*name;
	const char	*want;		/* NULL: left untouched (returns 0) */
};

static const struct inject_case cases[] = {
	/* reference-extension.md 2.5.3 and the SDKs of today */
	{ "simple.golang.app-new{}", "simple.golang.app-new{" SID "}" },
	{ "relay-fixture-app{env=test,region=local}",
	  "relay-fixture-app{" SID ",env=test,region=local}" },
	{ "app{otel.scope.name=com.grafana.pyroscope/nodejs,env=x}", NULL },
	{ "app{__session_id__=abc}", NULL },
	{ "app{__session_id__=}", NULL },
	{ "app{x=1,__session_id__=abc,__name__=y}", NULL },
	/* the app name */
	{ "app", "app{" SID "}" },
	{ "app {}", "app{" SID "}" },
	{ " app {a=1}", "app{" SID ",a=1}" },
	{ "\tapp\r\n\v\f{a=1}", "app{" SID ",a=1}" },
	{ "A-b_c.9", "A-b_c.9{" SID "}" },
	{ "", NULL },
	{ "   ", NULL },
	{ "{}", NULL },
	{ " {a=1}", NULL },
	{ "my app{}", NULL },
	{ "app/x{}", NULL },
	{ "app:x", NULL },
	{ "app}{", NULL },
	{ "caf\xc3\xa9{}", NULL },
	{ "app\xc2\xa0{}", NULL },		/* only ASCII space is trimmed */
	/* keys and values */
	{ "app{ a = x y ,b= 2 }", "app{" SID ",a=x y,b=2}" },
	{ "app{a=}", "app{" SID ",a=}" },
	{ "app{a={b}", "app{" SID ",a={b}" },
	{ "app{a=x=y}", "app{" SID ",a=x=y}" },
	{ "app{a=caf\xc3\xa9}", "app{" SID ",a=caf\xc3\xa9}" },
	{ "app{A_1=v}", "app{A_1=v," SID "}" },
	{ "app{=1}", NULL },
	{ "app{ =1}", NULL },
	{ "app{a-b=1}", NULL },
	{ "app{a.b=1}", NULL },
	{ "app{a b=1}", NULL },
	{ "app{a,b=1}", NULL },			/* ',' in the key state belongs to the key */
	{ "app{a=1,,b=2}", NULL },
	/* sorting (byte order) and duplicates (the last value wins) */
	{ "app{B=1,a=2}", "app{B=1," SID ",a=2}" },
	{ "app{z=3,_=1,Z=2,0=4}", "app{0=4,Z=2,_=1," SID ",z=3}" },
	{ "app{ab=1,a=2,abc=3}", "app{" SID ",a=2,ab=1,abc=3}" },
	{ "app{a=1,a=2}", "app{" SID ",a=2}" },
	{ "app{a=1,b=2,a=3}", "app{" SID ",a=3,b=2}" },
	{ "app{b=1,a=1,b=2,a=3,c=0,b=3,a=2}", "app{" SID ",a=2,b=3,c=0}" },
	{ "app{a=1,a=1,a=1}", "app{" SID ",a=1}" },
	/* __name__ replaces the app name, without validation */
	{ "app{__name__=other,x=1}", "other{" SID ",x=1}" },
	{ "app{ __name__ =x}", "x{" SID "}" },
	{ "app{__name__=my app}", "my app{" SID "}" },
	{ "app{__name__=}", "{" SID "}" },
	{ "app{__name__=a,__name__=b}", "b{" SID "}" },
	/* how the parse ends */
	{ "app{a}", "app{" SID "}" },		/* a key without '=' is dropped */
	{ "app{a=1,b}", "app{" SID ",a=1}" },
	{ "app{a=1,}", "app{" SID ",a=1}" },
	{ "app{a=1", "app{" SID "}" },		/* an unterminated label is not committed */
	{ "app{a=1,b=2", "app{" SID ",a=1}" },
	{ "app{}b=2}", "app{" SID "}" },	/* '}' in the key state ends the parse */
	{ "app{a=1}junk", "app{" SID ",a=1}" },
	{ "app{a=1}}", "app{" SID ",a=1}" },
	{ "app{a=1}\n", "app{" SID ",a=1}" },
	/* as in the original, '}' after a value goes back to the key state */
	{ "app{a=1}b=2}", "app{" SID ",a=1,b=2}" },
	{ "app{a=1}b=2", "app{" SID ",a=1}" },
	{ "app{a=1}{b=2}", NULL },		/* key "{b" is invalid */
	{ "app{a=1}.x=2}", NULL },
};

static void
test_cases(void)
{
	char desc[200], esc[96];
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		const struct inject_case *c = &cases[i];
		char *got = NULL;
		int rc = flameql_inject_session(c->name, ID, &got);

		tap_escaped(c->name, esc, sizeof(esc));
		snprintf(desc, sizeof(desc), "'%s' returns %d", esc, c->want != NULL ? 1 : 0);
		is_int(rc, c->want != NULL ? 1 : 0, desc);
		snprintf(desc, sizeof(desc), "'%s' result", esc);
		is_str(got, c->want, desc);
		free(got);
	}
}

static void
test_api(void)
{
	char *got = NULL;
	char *sentinel = (char *)"untouched";

	got = sentinel;
	is_int(flameql_inject_session("app{__session_id__=x}", ID, &got), 0, "present: 0");
	ok(got == sentinel, "*ret_name is untouched when 0 is returned");
	is_int(flameql_inject_session(NULL, ID, &got), 0, "NULL name is like an absent name");
	is_int(flameql_inject_session("app", NULL, &got), -EINVAL, "NULL session id");
	is_int(flameql_inject_session("app", "", &got), -EINVAL, "empty session id");
	is_int(flameql_inject_session("app", ID, NULL), -EINVAL, "NULL ret_name");
	got = NULL;
	is_int(flameql_inject_session("app{x=1}", "ffffffffffffffff", &got), 1, "another id");
	is_str(got, "app{__session_id__=ffffffffffffffff,x=1}", "another id: result");
	free(got);
}

/* 100,000 labels (a 1 MiB head allows that): the rewrite stays far from quadratic time. */
static void
test_many_labels(void)
{
	enum { N = 100000 };
	char *name = malloc((size_t)N * 12 + 8), *out = NULL;
	size_t w = 0;
	struct timespec t0, t1;
	double ms;

	if (name == NULL)
		return;
	w += (size_t)sprintf(name, "a{");
	for (int i = 0; i < N; i++)
		w += (size_t)snprintf(name + w, 13, "%d=,", i);
	name[w - 1] = '}';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(flameql_inject_session(name, "0123456789abcdef", &out), 1, "100,000 labels: rewritten");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("# 100,000 labels took %.1f ms\n", ms);
	ok(ms < 5000, "100,000 labels in well under 5 s (quadratic work takes far longer)");
	ok(out != NULL && strlen(out) == w + strlen(",__session_id__=0123456789abcdef"), "every label kept");
	free(out);
	free(name);
}

int
main(void)
{
	test_cases();
	test_api();
	test_many_labels();
	return done_testing();
}
