/* test_mod_labels.c -- the Lambda labels module on real SDK queries: what is added, what wins, what stays byte for byte; its startup lines. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "flameql.h"
#include "log.h"
#include "modules.h"
#include "query.h"
#include "tap.h"

#define FIXTURE_DIR	"/tests/fixtures/pyroscope-nodejs/"
#define WALL_064	"nodejs-0.6.4-wall-octet-stream.http"
#define HEAP_064	"nodejs-0.6.4-heap-octet-stream-basicauth-tenant.http"
#define WALL_0413	"nodejs-0.4.13-wall-multipart-bearer.http"

/* Labels as the Lambda environment gives them ($LATEST needs URL escaping). */
#define FN	"my-function_1"
#define VER	"$LATEST"
#define REG	"eu-west-1"
#define ADDED_ESC	"function_name%3Dmy-function_1%2Cfunction_version%3D%24LATEST"

static struct relay_settings
lambda_cfg(const char *name, const char *version, const char *region)
{
	struct relay_settings cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lambda_labels = true;
	cfg.lambda_function_name = (char *)name;
	cfg.lambda_function_version = (char *)version;
	cfg.lambda_region = (char *)region;
	return cfg;
}

/* The module's init with stderr captured into *ret_log (malloc'd); its state. */
static void *
init_captured(const struct relay_settings *cfg, char **ret_log)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO), rc;
	void *state = (void *)&state;
	char *err = NULL;
	long len;

	if (tmp == NULL || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0) {
		printf("Bail out! cannot redirect stderr\n");
		exit(1);
	}
	rc = mod_labels.init(cfg, &state, &err);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (rc != 0) {
		printf("Bail out! labels init failed: %d %s\n", rc, err ? err : "");
		exit(1);
	}
	len = ftell(tmp);
	*ret_log = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	rewind(tmp);
	if (*ret_log == NULL || (len > 0 && fread(*ret_log, 1, (size_t)len, tmp) != (size_t)len)) {
		printf("Bail out! cannot read the captured log\n");
		exit(1);
	}
	fclose(tmp);
	return state;
}

static void *
init_quiet(const struct relay_settings *cfg)
{
	char *log = NULL;
	void *state = init_captured(cfg, &log);

	free(log);
	return state;
}

static int
count_lines(const char *log, const char *needle)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The request through the module alone: returns the query after it (malloc'd or NULL). */
static char *
rewrite(void *state, const char *path, const char *query)
{
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);
	char *out;

	rr->path = strdup(path);
	rr->query = query ? strdup(query) : NULL;
	if (mod_labels.on_request(rr, state) != RELAY_NEXT) {
		printf("Bail out! labels on_request failed\n");
		exit(1);
	}
	out = rr->query;
	rr->query = NULL;
	relay_req_free(rr);
	return out;
}

/* Path and query of a captured SDK request's request line (malloc'd). */
static void
fixture_target(const char *file, char **ret_path, char **ret_query)
{
	const char *top = getenv("TOP_SRCDIR");
	char fn[1024], line[4096], *sp, *q, *end;
	FILE *f;

	snprintf(fn, sizeof(fn), "%s%s%s", top ? top : "..", FIXTURE_DIR, file);
	f = fopen(fn, "rb");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL || (sp = strchr(line, ' ')) == NULL ||
	    (end = strchr(sp + 1, ' ')) == NULL) {
		printf("Bail out! cannot read the request line of %s\n", fn);
		exit(1);
	}
	fclose(f);
	*end = '\0';
	q = strchr(sp + 1, '?');
	*ret_path = strndup(sp + 1, (size_t)((q ? q : end) - (sp + 1)));
	*ret_query = q ? strdup(q + 1) : NULL;
}

/*
 * Whether `got` is `orig` with the raw value of its first `name=` replaced by
 * `want_name` (found by plain string search, independently of the module).
 */
static int
only_name_changed(const char *orig, const char *got, const char *want_name)
{
	const char *v = strncmp(orig, "name=", 5) == 0 ? orig + 5 : strstr(orig, "&name=");
	size_t pre, vlen;

	if (v == NULL || got == NULL)
		return 0;
	if (v != orig + 5)
		v += 6;
	pre = (size_t)(v - orig);
	vlen = strcspn(v, "&");
	return strncmp(got, orig, pre) == 0 && strncmp(got + pre, want_name, strlen(want_name)) == 0 &&
	    strcmp(got + pre + strlen(want_name), v + vlen) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The decoded `name` of a query (malloc'd), or NULL. */
static char *
name_of(const char *query)
{
	size_t off, len;

	return query && query_find(query, "name", &off, &len) ? query_unescape(query + off, len) : NULL;
}

static void
test_fixtures(void)
{
	struct relay_settings cfg = lambda_cfg(FN, VER, REG);
	void *st = init_quiet(&cfg);
	char *path, *query, *got, *name, *esc;

	/* 0.6.4, wall: dotted keys (current Pyroscope's grammar); the SDK's region=local wins. */
	fixture_target(WALL_064, &path, &query);
	is_str(path, "/ingest", "0.6.4 wall fixture: POST /ingest");
	got = rewrite(st, path, query);
	ok(only_name_changed(query, got,
	    "relay-fixture-app%7Benv%3Dtest%2C" ADDED_ESC "%2Cotel.scope.name%3Dcom.grafana.pyroscope%2Fnodejs"
	    "%2Cotel.scope.version%3D0.6.4%2Cprocess.runtime.name%3Dnodejs%2Cprocess.runtime.version%3D20.20.2"
	    "%2Cregion%3Dlocal%7D"),
	    "0.6.4 wall: function_name and function_version added, sorted; every other query byte unchanged");
	is_str(got, "format=pprof&from=1795317716&name=relay-fixture-app%7Benv%3Dtest%2C" ADDED_ESC
	    "%2Cotel.scope.name%3Dcom.grafana.pyroscope%2Fnodejs%2Cotel.scope.version%3D0.6.4"
	    "%2Cprocess.runtime.name%3Dnodejs%2Cprocess.runtime.version%3D20.20.2%2Cregion%3Dlocal%7D"
	    "&spyName=nodespy&until=1795317721&sampleRate=17", "0.6.4 wall: the whole query");
	name = name_of(got);
	ok(name != NULL && strstr(name, ",region=local}") != NULL && strstr(name, REG) == NULL,
	    "the SDK's region=local wins over AWS_REGION");
	free(name);
	free(got);
	free(path);
	free(query);

	/* 0.6.4, heap: no sampleRate. */
	fixture_target(HEAP_064, &path, &query);
	got = rewrite(st, path, query);
	name = name_of(got);
	is_str(name, "relay-fixture-app{env=test,function_name=" FN ",function_version=" VER
	    ",otel.scope.name=com.grafana.pyroscope/nodejs,otel.scope.version=0.6.4,process.runtime.name=nodejs,"
	    "process.runtime.version=20.20.2,region=local}", "0.6.4 heap: the decoded name");
	esc = query_escape(name);
	ok(esc != NULL && only_name_changed(query, got, esc), "0.6.4 heap: every other query byte unchanged");
	ok(ends_with(got, "&spyName=nodespy&until=1795317734"), "0.6.4 heap: still no sampleRate");
	free(esc);
	free(name);
	free(got);
	free(path);
	free(query);

	/* 0.4.13, multipart: the original's grammar parses too; region=local wins again. */
	fixture_target(WALL_0413, &path, &query);
	got = rewrite(st, path, query);
	ok(only_name_changed(query, got, "relay-fixture-app%7Benv%3Dtest%2C" ADDED_ESC "%2Cregion%3Dlocal%7D"),
	    "0.4.13: labels added, every other query byte unchanged (no re-sorting of parameters)");
	is_str(got, "from=1795317743&name=relay-fixture-app%7Benv%3Dtest%2C" ADDED_ESC
	    "%2Cregion%3Dlocal%7D&spyName=nodespy&until=1795317748&sampleRate=17", "0.4.13: the whole query");
	free(got);

	/* The same queries on other paths. */
	got = rewrite(st, "/pyroscope/ingest", query);
	ok(got != NULL && strcmp(got, query) != 0 && strstr(got, ADDED_ESC) != NULL, "/pyroscope/ingest is rewritten");
	free(got);
	got = rewrite(st, "/prefix/pyroscope/ingest", query);
	ok(got != NULL && strstr(got, ADDED_ESC) != NULL, "any path ending in /ingest is rewritten");
	free(got);
	{
		static const char *const others[] = {
			"/push.v1.PusherService/Push", "/ingest/", "/ingestion", "/Ingest", "/render", "/",
			"/ingest%2F", "/v1development/profiles",
		};

		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			char desc[128];

			got = rewrite(st, others[i], query);
			snprintf(desc, sizeof(desc), "%s: query untouched, byte for byte", others[i]);
			is_str(got, query, desc);
			free(got);
		}
	}
	free(path);
	free(query);
	mod_labels.cleanup(st);
}

struct name_case {
	const char	*query;
	const char	*want;		/* NULL: the query stays as it is */
	const char	*desc;
};

#define ALL3	"function_name=f,function_version=7,region=eu-west-1"
#define ALL3_ESC	"function_name%3Df%2Cfunction_version%3D7%2Cregion%3Deu-west-1"

static const struct name_case name_cases[] = {
	{ "name=app", "name=app%7B" ALL3_ESC "%7D", "a name without labels gets a label set" },
	{ "name=app%7B%7D", "name=app%7B" ALL3_ESC "%7D", "empty label set {}" },
	{ "name=app{}", "name=app%7B" ALL3_ESC "%7D", "braces sent unescaped: the name value is re-escaped" },
	{ "name=%7B%7D", NULL, "only {} (no service name): does not parse, left as sent" },
	{ "name=", NULL, "empty name: left as sent" },
	{ "name", NULL, "name without '=': left as sent" },
	{ "from=1&until=2", NULL, "no name parameter" },
	{ "name=app%7Bregion%3Dr%7D", "name=app%7Bfunction_name%3Df%2Cfunction_version%3D7%2Cregion%3Dr%7D",
	  "the SDK's region wins" },
	{ "name=app%7Bfunction_name%3Dsdk%2Cfunction_version%3D1%2Cregion%3Dr%7D", NULL,
	  "every key set by the SDK: the query stays byte for byte (not even normalized)" },
	{ "name=app%7Bfunction_name%3D%7D", "name=app%7Bfunction_name%3D%2Cfunction_version%3D7%2Cregion%3Deu-west-1%7D",
	  "an empty value the SDK set still wins" },
	{ "name=app%7B__session_id__%3D0123456789abcdef%2Cenv%3Dx%7D",
	  "name=app%7B__session_id__%3D0123456789abcdef%2Cenv%3Dx%2C" ALL3_ESC "%7D", "with a session id" },
	{ "name=app%7Bb%3D1%2Ca%3D2%2Cb%3D3%7D", "name=app%7Ba%3D2%2Cb%3D3%2C" ALL3_ESC "%7D",
	  "normalized like the session rewrite: sorted, the last value of a key wins" },
	{ "name=+app+%7B+a+%3D+x+y+%7D", "name=app%7Ba%3Dx+y%2C" ALL3_ESC "%7D", "trimmed; inner spaces as '+'" },
	{ "name=svc%2Fsub.x-y%7Bk.v%3D1%7D",
	  "name=svc%2Fsub.x-y%7Bfunction_name%3Df%2Cfunction_version%3D7%2Ck.v%3D1%2Cregion%3Deu-west-1%7D",
	  "current grammar: '/' in the service name, '.' in keys" },
	{ "name=my+app%7B%7D", NULL, "a space in the service name: invalid, left as sent" },
	{ "name=app%7Ba-b%3D1%7D", NULL, "'-' in a key: invalid, left as sent" },
	{ "name=app%7Ba%2Cb%3D1%7D", NULL, "',' in a key: invalid, left as sent" },
	{ "name=app%7B%3D1%7D", NULL, "empty key: invalid, left as sent" },
	{ "name=app%ZZ", NULL, "a bad escape: left as sent" },
	{ "name=app%00", NULL, "an escaped NUL: left as sent" },
	{ "from=now-1h&name=app&x=%2f&y=a+b&&z", "from=now-1h&name=app%7B" ALL3_ESC "%7D&x=%2f&y=a+b&&z",
	  "lower-case escapes, '+', empty pairs elsewhere: unchanged" },
	{ "name=a&name=b", "name=a%7B" ALL3_ESC "%7D&name=b", "only the first name is rewritten" },
	{ "na%6De=app", "na%6De=app%7B" ALL3_ESC "%7D", "an escaped key is a name too (Go's Query().Get)" },
	{ "x;y=1&name=app", "x;y=1&name=app%7B" ALL3_ESC "%7D", "a pair with ';' before it stays" },
	{ "Name=app", NULL, "Name is not name" },
	{ "name=app%7Ba%3D1%7Djunk", "name=app%7Ba%3D1%2C" ALL3_ESC "%7D", "what follows the label set is dropped, as the server does" },
};

static void
test_names(void)
{
	struct relay_settings cfg = lambda_cfg("f", "7", "eu-west-1");
	void *st = init_quiet(&cfg);
	char desc[256], esc[128];

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];
		char *got = rewrite(st, "/ingest", c->query);

		snprintf(desc, sizeof(desc), "%s ('%s')", c->desc, tap_escaped(c->query, esc, sizeof(esc)));
		is_str(got, c->want ? c->want : c->query, desc);
		free(got);
	}
	{
		char *got = rewrite(st, "/ingest", NULL);

		ok(got == NULL, "no query: none added");
	}
	mod_labels.cleanup(st);
}

/* Values the name grammar cannot carry are skipped, each with one warning at startup. */
static void
test_values(void)
{
	static const struct {
		const char	*value;
		int		 valid;
		const char	*desc;
	} values[] = {
		{ "$LATEST", 1, "$LATEST (URL-escaped in the query)" },
		{ "42", 1, "a published version" },
		{ "a~b!c*d'e(f)g;h:i@j&k+l/m?n#o%p", 1, "other visible ASCII" },
		{ "a,b", 0, "','" },
		{ "a}b", 0, "'}'" },
		{ "a{b", 0, "'{'" },
		{ "a=b", 0, "'='" },
		{ "a b", 0, "a space" },
		{ " ab", 0, "a leading space (the grammar trims it)" },
		{ "a\tb", 0, "a tab" },
		{ "a\nb", 0, "a newline" },
		{ "a\x7f", 0, "DEL" },
		{ "caf\xc3\xa9", 0, "non-ASCII" },
	};
	char *log = NULL, *got, big[2050];
	struct relay_settings cfg;
	void *st;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char desc[160];
		const char *v = values[i].value;

		snprintf(desc, sizeof(desc), "function name with %s: %s", values[i].desc,
		    values[i].valid ? "added" : "skipped, one warning; the other labels added");
		cfg = lambda_cfg(v, "1", "r");
		st = init_captured(&cfg, &log);
		got = rewrite(st, "/ingest", "name=app&until=2");
		if (values[i].valid) {
			char *e = query_escape(v), want[256];

			snprintf(want, sizeof(want), "name=app%%7Bfunction_name%%3D%s%%2Cfunction_version%%3D1%%2Cregion%%3Dr%%7D&until=2", e);
			ok(strcmp(got, want) == 0 && count_lines(log, "level=warning") == 0, desc);
			free(e);
		} else {
			ok(strcmp(got, "name=app%7Bfunction_version%3D1%2Cregion%3Dr%7D&until=2") == 0 &&
			    count_lines(log, "level=warning") == 1 && strstr(log, "AWS_LAMBDA_FUNCTION_NAME") != NULL,
			    desc);
		}
		free(got);
		free(log);
		mod_labels.cleanup(st);
	}

	/* The length limit of current Pyroscope (2048). */
	memset(big, 'v', sizeof(big) - 1);
	big[2048] = '\0';
	ok(flameql_value_valid(big), "2048 characters: valid");
	big[2048] = 'v';
	big[2049] = '\0';
	ok(!flameql_value_valid(big), "2049 characters: invalid");
	ok(!flameql_value_valid("") && !flameql_value_valid(NULL), "empty and NULL: invalid");

	/* Every value invalid: nothing to add, every query stays. */
	cfg = lambda_cfg("a,b", "{1}", "x y");
	st = init_captured(&cfg, &log);
	is_int(count_lines(log, "level=warning"), 3, "three invalid values: three warnings");
	is_int(count_lines(log, "level=info"), 0, "no info line when nothing is missing or added");
	got = rewrite(st, "/ingest", "name=app%7B%7D");
	is_str(got, "name=app%7B%7D", "three invalid values: the query stays");
	free(got);
	free(log);
	mod_labels.cleanup(st);
}

/* Off, or on without the Lambda variables (dev mode on a host). */
static void
test_off_and_missing(void)
{
	struct relay_settings cfg = lambda_cfg(FN, VER, REG);
	char *log = NULL, *got;
	void *st;

	cfg.lambda_labels = false;
	st = init_captured(&cfg, &log);
	ok(st == NULL && log[0] == '\0', "off: no state, nothing logged");
	got = rewrite(st, "/ingest", "name=app%7B%7D");
	is_str(got, "name=app%7B%7D", "off: the query stays");
	free(got);
	free(log);

	cfg = lambda_cfg(NULL, NULL, NULL);
	st = init_captured(&cfg, &log);
	is_int(count_lines(log, "level=info"), 1, "on, no Lambda variable: one info line");
	ok(strstr(log, "AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_REGION not set") != NULL,
	    "it names the three variables");
	got = rewrite(st, "/ingest", "name=app%7B%7D");
	is_str(got, "name=app%7B%7D", "on, no Lambda variable: the query stays");
	free(got);
	free(log);
	mod_labels.cleanup(st);

	cfg = lambda_cfg(FN, NULL, REG);
	st = init_captured(&cfg, &log);
	is_int(count_lines(log, "level=info"), 2, "version missing: one info line for it, one for what is added");
	ok(strstr(log, "AWS_LAMBDA_FUNCTION_VERSION not set") != NULL &&
	    strstr(log, "adding function_name, region to") != NULL, "they name the missing variable and the labels added");
	is_int(count_lines(log, "level=warning"), 0, "a missing variable is no warning");
	got = rewrite(st, "/ingest", "name=app%7B%7D");
	is_str(got, "name=app%7Bfunction_name%3Dmy-function_1%2Cregion%3Deu-west-1%7D", "version missing: the other two added");
	free(got);
	free(log);
	mod_labels.cleanup(st);
}

/* The whole chain: the session id (0.4.13 names parse in the original's grammar) and the labels. */
static void
test_chain_with_session(void)
{
	struct relay_settings cfg = lambda_cfg(FN, VER, REG);
	struct chain *c = NULL;
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);
	char *err = NULL, *path, *query, *name = NULL, *esc;
	const char *id;
	size_t n;

	fixture_target(WALL_0413, &path, &query);
	rr->path = path;
	rr->query = strdup(query);
	if (chain_new(relay_modules, &cfg, &c, &err) < 0) {
		printf("Bail out! chain_new: %s\n", err ? err : "?");
		exit(1);
	}
	is_int(chain_run(c, rr), RELAY_NEXT, "the chain runs");
	name = name_of(rr->query);
	id = name ? strstr(name, "{__session_id__=") : NULL;
	n = id ? strspn(id + 16, "0123456789abcdef") : 0;
	ok(id != NULL && n == 16, "the session id is there (16 hex)");
	ok(id != NULL && n == 16 && strcmp(id + 32, ",env=test,function_name=" FN ",function_version=" VER
	    ",region=local}") == 0, "then the SDK's labels and the Lambda labels, sorted; region=local wins");
	esc = name ? query_escape(name) : NULL;
	ok(esc != NULL && only_name_changed(query, rr->query, esc), "every other query byte is the SDK's");
	free(esc);
	free(name);
	free(query);
	chain_free(c);
	relay_req_free(rr);
}

/* The grammar function's contract. */
static void
test_api(void)
{
	const struct flameql_label good[] = { { "function_name", "f" } };
	const struct flameql_label dotted[] = { { "a.b", "1" } };
	const struct flameql_label bad_key[] = { { "a-b", "1" } };
	const struct flameql_label reserved[] = { { "__name__", "x" } };
	const struct flameql_label bad_value[] = { { "k", "a,b" } };
	const struct flameql_label twice[] = { { "k", "1" }, { "k", "2" } };
	char *got = NULL;

	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, bad_key, 1, &got), -EINVAL, "an invalid key: -EINVAL");
	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, reserved, 1, &got), -EINVAL, "__name__: -EINVAL");
	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, bad_value, 1, &got), -EINVAL, "an invalid value: -EINVAL");
	is_int(flameql_add_labels("app", FLAMEQL_ORIGINAL, dotted, 1, &got), -EINVAL, "a dotted key in the original grammar: -EINVAL");
	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, good, 1, NULL), -EINVAL, "NULL ret_name: -EINVAL");
	is_int(flameql_add_labels("app", (enum flameql_grammar)7, good, 1, &got), -EINVAL, "unknown grammar: -EINVAL");
	is_int(flameql_add_labels(NULL, FLAMEQL_LABELSET, good, 1, &got), 0, "NULL name: unchanged");
	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, good, 0, &got), 0, "nothing to add: unchanged");
	ok(got == NULL, "*ret_name untouched when unchanged");
	is_int(flameql_add_labels("app{otel.x=1}", FLAMEQL_ORIGINAL, good, 1, &got), 0,
	    "a dotted SDK key does not parse in the original grammar");
	is_int(flameql_add_labels("app{otel.x=1}", FLAMEQL_LABELSET, dotted, 1, &got), 1, "it does in current Pyroscope's");
	is_str(got, "app{a.b=1,otel.x=1}", "dotted keys sorted");
	free(got);
	got = NULL;
	is_int(flameql_add_labels("app", FLAMEQL_LABELSET, twice, 2, &got), 1, "the same key twice in add");
	is_str(got, "app{k=1}", "the first entry wins");
	free(got);
}

int
main(void)
{
	struct log_config lc = { .level = LOG_INFO, .format = LOG_FORMAT_TEXT, .timestamp_disable = true };

	if (log_configure(&lc) < 0) {
		printf("Bail out! log_configure failed\n");
		return 1;
	}
	test_fixtures();
	test_names();
	test_values();
	test_off_and_missing();
	test_chain_with_session();
	test_api();
	log_reset();
	return done_testing();
}
