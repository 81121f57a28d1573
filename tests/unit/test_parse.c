/* test_parse.c -- parse_bool/duration/int/size and format_duration against Go's behaviour. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "parse.h"
#include "tap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define SEC		INT64_C(1000000000)
#define MIN		(60 * SEC)
#define HOUR		(60 * MIN)

struct bool_case {
	const char	*in;
	int		 rc;
	bool		 want;
};

static const struct bool_case bool_cases[] = {
	{ "1", 0, true }, { "t", 0, true }, { "T", 0, true },
	{ "TRUE", 0, true }, { "true", 0, true }, { "True", 0, true },
	{ "0", 0, false }, { "f", 0, false }, { "F", 0, false },
	{ "FALSE", 0, false }, { "false", 0, false }, { "False", 0, false },
	{ "", -EINVAL, false }, { "yes", -EINVAL, false }, { "no", -EINVAL, false },
	{ "on", -EINVAL, false }, { " true", -EINVAL, false }, { "true ", -EINVAL, false },
	{ "tRUE", -EINVAL, false }, { "TRue", -EINVAL, false }, { "2", -EINVAL, false },
	{ "01", -EINVAL, false }, { "y", -EINVAL, false },
};

struct i64_case {
	const char	*in;
	int		 rc;
	int64_t		 want;
};

static const struct i64_case duration_cases[] = {
	/* simple, and the bare zero */
	{ "0", 0, 0 }, { "+0", 0, 0 }, { "-0", 0, 0 },
	{ "5s", 0, 5 * SEC }, { "30s", 0, 30 * SEC }, { "1478s", 0, 1478 * SEC },
	{ "-5s", 0, -5 * SEC }, { "+5s", 0, 5 * SEC }, { "0s", 0, 0 }, { "-0s", 0, 0 },
	{ "300ms", 0, 300000000 }, { "10s", 0, 10 * SEC },
	/* fractions */
	{ "5.0s", 0, 5 * SEC }, { "5.6s", 0, 5600000000 }, { "5.s", 0, 5 * SEC },
	{ "1.s", 0, SEC }, { ".5s", 0, 500000000 }, { "1.0s", 0, SEC }, { "1.00s", 0, SEC },
	{ "1.004s", 0, 1004000000 }, { "1.0040s", 0, 1004000000 },
	{ "100.00100s", 0, 100 * SEC + 1000000 },
	{ "1.5h", 0, INT64_C(5400000000000) },
	{ "1.0000000001s", 0, SEC },		/* below 1 ns: truncated */
	{ "0.3333333333333333333h", 0, 20 * MIN },
	{ "0.100000000000000000000h", 0, 6 * MIN },
	{ "0.830103483285477580700h", 0, 49 * MIN + 48 * SEC + 372539827 },
	/* Go computes the fraction in float64; exact integers would give ...387 */
	{ "0.91598365645000m", 0, INT64_C(54959019386) },
	{ "0.58590963401500h", 0, INT64_C(2109274682453) },
	/* units */
	{ "10ns", 0, 10 }, { "11us", 0, 11000 },
	{ "12\xc2\xb5s", 0, 12000 }, { "12\xce\xbcs", 0, 12000 },
	{ "13ms", 0, 13000000 }, { "14s", 0, 14 * SEC }, { "15m", 0, 15 * MIN },
	{ "16h", 0, 16 * HOUR },
	/* composites */
	{ "3h30m", 0, 3 * HOUR + 30 * MIN }, { "2m30s", 0, 150 * SEC },
	{ "10.5s4m", 0, 4 * MIN + 10500000000 },
	{ "-2m3.4s", 0, -(2 * MIN + 3400000000) },
	{ "1h2m3s4ms5us6ns", 0, HOUR + 2 * MIN + 3 * SEC + 4000000 + 5000 + 6 },
	{ "39h9m14.425s", 0, 39 * HOUR + 9 * MIN + 14425000000 },
	{ "1s1s", 0, 2 * SEC },
	/* limits */
	{ "52763797000ns", 0, INT64_C(52763797000) },
	{ "9007199254740993ns", 0, INT64_C(9007199254740993) },
	{ "9223372036854775807ns", 0, INT64_MAX },
	{ "9223372036854775.807us", 0, INT64_MAX },
	{ "9223372036s854ms775us807ns", 0, INT64_MAX },
	{ "-9223372036854775808ns", 0, INT64_MIN },
	{ "-9223372036854775.808us", 0, INT64_MIN },
	{ "-9223372036s854ms775us808ns", 0, INT64_MIN },
	{ "-2562047h47m16.854775808s", 0, INT64_MIN },
	{ "2562047h47m16.854775807s", 0, INT64_MAX },
	/* syntax errors */
	{ "", -EINVAL, 0 }, { "3", -EINVAL, 0 }, { "-", -EINVAL, 0 }, { "+", -EINVAL, 0 },
	{ "s", -EINVAL, 0 }, { ".", -EINVAL, 0 }, { "-.", -EINVAL, 0 }, { ".s", -EINVAL, 0 },
	{ "+.s", -EINVAL, 0 }, { "1d", -EINVAL, 0 }, { "00", -EINVAL, 0 }, { "1", -EINVAL, 0 },
	{ "1S", -EINVAL, 0 }, { "1H", -EINVAL, 0 }, { "1 s", -EINVAL, 0 }, { " 1s", -EINVAL, 0 },
	{ "1s ", -EINVAL, 0 }, { "1h-2m", -EINVAL, 0 }, { "1.5", -EINVAL, 0 },
	{ "1s2", -EINVAL, 0 }, { "--1s", -EINVAL, 0 }, { "1e3s", -EINVAL, 0 },
	{ "1..5s", -EINVAL, 0 }, { "\x85\x85", -EINVAL, 0 }, { "\xff" "ff", -EINVAL, 0 },
	{ "\xef\xbf\xbd", -EINVAL, 0 }, { "1\xb5s", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
	{ "99999999999999999999x", -EINVAL, 0 },	/* syntax is judged first */
	/* out of range */
	{ "9223372036854775810ns", -ERANGE, 0 }, { "9223372036854775808ns", -ERANGE, 0 },
	{ "-9223372036854775809ns", -ERANGE, 0 }, { "9223372036854776us", -ERANGE, 0 },
	{ "3000000h", -ERANGE, 0 }, { "99999999999999999999s", -ERANGE, 0 },
	{ "9223372036854775807.9223372036854775807h", -ERANGE, 0 },
	{ "2562047h47m16.854775808s", -ERANGE, 0 },
	{ "9223372036854775807ns1ns", -ERANGE, 0 },
	/* Go wraps this sum to 0 and accepts it; we refuse */
	{ "9223372036854775808ns9223372036854775808ns", -ERANGE, 0 },
};

static const struct i64_case int_cases[] = {
	{ "0", 0, 0 }, { "1", 0, 1 }, { "-1", 0, -1 }, { "+1", 0, 1 }, { "-0", 0, 0 },
	{ "00012", 0, 12 }, { "12345", 0, 12345 }, { "-987654321", 0, -987654321 },
	{ "9223372036854775807", 0, INT64_MAX }, { "-9223372036854775808", 0, INT64_MIN },
	{ "9223372036854775808", -ERANGE, 0 }, { "-9223372036854775809", -ERANGE, 0 },
	{ "18446744073709551616", -ERANGE, 0 }, { "99999999999999999999999", -ERANGE, 0 },
	{ "", -EINVAL, 0 }, { "+", -EINVAL, 0 }, { "-", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "1_000", -EINVAL, 0 },
	{ "1.0", -EINVAL, 0 }, { "+-1", -EINVAL, 0 }, { "--1", -EINVAL, 0 }, { "1e3", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 }, { "12a", -EINVAL, 0 },
};

struct u64_case {
	const char	*in;
	int		 rc;
	uint64_t	 want;
};

static const struct u64_case size_cases[] = {
	{ "0", 0, 0 }, { "1", 0, 1 }, { "1024", 0, 1024 }, { "10B", 0, 10 }, { "10b", 0, 10 },
	{ "1K", 0, 1000 }, { "1k", 0, 1000 }, { "1KB", 0, 1000 }, { "1kb", 0, 1000 },
	{ "1Kb", 0, 1000 }, { "1KiB", 0, 1024 }, { "1kib", 0, 1024 }, { "1KIB", 0, 1024 },
	{ "5M", 0, 5000000 }, { "5MB", 0, 5000000 }, { "5MiB", 0, 5242880 },
	{ "2G", 0, 2000000000 }, { "2GB", 0, 2000000000 }, { "2GiB", 0, UINT64_C(2147483648) },
	{ "18446744073709551615", 0, UINT64_MAX }, { "0GiB", 0, 0 },
	{ "18446744073709551616", -ERANGE, 0 }, { "18446744073709552K", -ERANGE, 0 },
	{ "17179869184GiB", -ERANGE, 0 }, { "99999999999999999999999B", -ERANGE, 0 },
	{ "", -EINVAL, 0 }, { "K", -EINVAL, 0 }, { "KiB", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 }, { "1.5K", -EINVAL, 0 }, { "1 K", -EINVAL, 0 }, { " 1K", -EINVAL, 0 },
	{ "1K ", -EINVAL, 0 }, { "1T", -EINVAL, 0 }, { "1KiBB", -EINVAL, 0 },
	{ "1kibi", -EINVAL, 0 }, { "1Ki", -EINVAL, 0 }, { "1BB", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 }, { "99999999999999999999999X", -EINVAL, 0 },
};

struct fmt_case {
	int64_t		 ns;
	const char	*want;
};

static const struct fmt_case fmt_cases[] = {
	{ 0, "0s" }, { 1, "1ns" }, { 999, "999ns" }, { 1000, "1\xc2\xb5s" },
	{ 1100, "1.1\xc2\xb5s" }, { 1500, "1.5\xc2\xb5s" }, { 2200000, "2.2ms" },
	{ 300000000, "300ms" }, { 3300000000, "3.3s" }, { 10 * SEC, "10s" },
	{ 90 * SEC, "1m30s" }, { 4 * MIN + 5 * SEC, "4m5s" }, { 4 * MIN + 5001000000, "4m5.001s" },
	{ 5 * HOUR + 6 * MIN + 7001000000, "5h6m7.001s" }, { 8 * MIN + 1, "8m0.000000001s" },
	{ 2 * HOUR, "2h0m0s" }, { HOUR + 500000000, "1h0m0.5s" }, { -1500000000, "-1.5s" },
	{ -1, "-1ns" }, { -1000, "-1\xc2\xb5s" }, { 999999999, "999.999999ms" },
	{ INT64_MAX, "2562047h47m16.854775807s" }, { INT64_MIN, "-2562047h47m16.854775808s" },
};

static void
test_bool(void)
{
	char desc[96];
	size_t i;

	for (i = 0; i < NELEM(bool_cases); i++) {
		const struct bool_case *c = &bool_cases[i];
		bool got = !c->want;
		int rc = parse_bool(c->in, &got);

		snprintf(desc, sizeof(desc), "parse_bool('%s') rc", c->in);
		is_int(rc, c->rc, desc);
		if (c->rc == 0) {
			snprintf(desc, sizeof(desc), "parse_bool('%s') value", c->in);
			is_int(got, c->want, desc);
		}
	}
	ok(parse_bool(NULL, &(bool){ false }) == -EINVAL, "parse_bool(NULL) is -EINVAL");
}

static void
test_i64(const char *what, int (*fn)(const char *, int64_t *),
    const struct i64_case *cases, size_t n)
{
	char desc[160];
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t got = 12345;
		int rc = fn(cases[i].in, &got);

		snprintf(desc, sizeof(desc), "%s('%s') rc", what, cases[i].in);
		is_int(rc, cases[i].rc, desc);
		snprintf(desc, sizeof(desc), "%s('%s') value", what, cases[i].in);
		if (cases[i].rc == 0)
			is_int(got, cases[i].want, desc);
		else
			is_int(got, 12345, "result untouched on error");
	}
}

static void
test_size(void)
{
	char desc[128];
	size_t i;

	for (i = 0; i < NELEM(size_cases); i++) {
		const struct u64_case *c = &size_cases[i];
		uint64_t got = 777;
		int rc = parse_size(c->in, &got);

		snprintf(desc, sizeof(desc), "parse_size('%s') rc", c->in);
		is_int(rc, c->rc, desc);
		snprintf(desc, sizeof(desc), "parse_size('%s') value", c->in);
		ok(got == (c->rc == 0 ? c->want : 777), desc);
	}
}

static void
test_format(void)
{
	char buf[32], small[4], desc[96];
	size_t i;

	for (i = 0; i < NELEM(fmt_cases); i++) {
		format_duration(fmt_cases[i].ns, buf, sizeof(buf));
		snprintf(desc, sizeof(desc), "format_duration(%lld)", (long long)fmt_cases[i].ns);
		is_str(buf, fmt_cases[i].want, desc);
	}
	format_duration(90 * SEC, small, sizeof(small));
	is_str(small, "1m3", "format_duration truncates to the buffer");
	small[0] = 'x';
	format_duration(SEC, small, 0);
	ok(small[0] == 'x', "format_duration with size 0 writes nothing");
}

/* Every formatted duration parses back to itself (Go's round-trip property). */
static void
test_round_trip(void)
{
	static const int64_t values[] = {
		1, 999, 1000, 1001, 123456789, SEC, 61 * SEC, 3 * HOUR + 1, -7 * MIN - 1,
		INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	char buf[32], desc[96];
	size_t i;

	for (i = 0; i < NELEM(values); i++) {
		int64_t got = 0;

		format_duration(values[i], buf, sizeof(buf));
		snprintf(desc, sizeof(desc), "round trip of %lld via '%s'",
		    (long long)values[i], buf);
		ok(parse_duration(buf, &got) == 0 && got == values[i], desc);
	}
}

int
main(void)
{
	test_bool();
	test_i64("parse_duration", parse_duration, duration_cases, NELEM(duration_cases));
	test_i64("parse_int", parse_int, int_cases, NELEM(int_cases));
	test_size();
	test_format();
	test_round_trip();
	ok(parse_duration(NULL, &(int64_t){ 0 }) == -EINVAL, "parse_duration(NULL)");
	ok(parse_int(NULL, &(int64_t){ 0 }) == -EINVAL, "parse_int(NULL)");
	ok(parse_size(NULL, &(uint64_t){ 0 }) == -EINVAL, "parse_size(NULL)");
	return done_testing();
}
