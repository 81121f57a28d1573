/* fuzz_parse.c -- fuzz target: durations, sizes, booleans and integers (parse.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The input up to its first NUL goes to each of the four parsers. Its first
 * eight bytes are also a nanosecond count for format_duration. Properties:
 * - parse_int agrees with strtoll on the same digits, range errors included;
 * - parse_size round trips through plain digits and through KiB, ignores
 *   the unit's letter case, and is digits times the unit;
 * - a parsed duration round trips through Go's Duration.String()
 *   (format_duration), and a sign in front negates it;
 * - every int64 round trips through format_duration and parse_duration,
 *   and a short buffer gets a prefix of the full text;
 * - parse_bool accepts only Go's spellings and reads the first letter.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"

static bool
all_digits(const char *s)
{
	return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char
upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static void
check_bool(const char *s)
{
	static const char *const lowers[] = { "1", "t", "true", "0", "f", "false" };
	bool b = false, known = false;
	size_t len = strlen(s), i;
	char low[8];

	if (parse_bool(s, &b) < 0)
		return;
	FUZZ_CHECK(len >= 1 && len <= 5);
	for (i = 0; i <= len; i++)
		low[i] = lower(s[i]);
	for (i = 0; i < sizeof(lowers) / sizeof(lowers[0]); i++)
		known = known || strcmp(low, lowers[i]) == 0;
	FUZZ_CHECK(known);
	FUZZ_CHECK(b == (s[0] == '1' || s[0] == 't' || s[0] == 'T'));
	/* Go takes true, True and TRUE, never tRUE or TrUe. */
	for (i = 1; i < len; i++)
		FUZZ_CHECK(s[i] == lower(s[i]) || strspn(s, "TRUEFALS") == len);
}

static void
check_int(const char *s)
{
	const char *digits = (s[0] == '+' || s[0] == '-') ? s + 1 : s;
	int64_t v = 0, again = 0;
	int rc = parse_int(s, &v);
	char buf[32];
	long long ref;
	char *end;

	if (!all_digits(digits)) {
		FUZZ_CHECK(rc == -EINVAL);
		return;
	}
	errno = 0;
	ref = strtoll(s, &end, 10);
	FUZZ_CHECK(*end == '\0');
	if (errno == ERANGE) {
		FUZZ_CHECK(rc == -ERANGE);
		return;
	}
	FUZZ_CHECK(rc == 0 && v == ref);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	FUZZ_CHECK(parse_int(buf, &again) == 0 && again == v);
}

/* The unit the text after the digits names, or 0 when it is none (reference for parse_size). */
static uint64_t
size_unit(const char *u)
{
	static const struct { const char *name; uint64_t mult; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1000 }, { "kb", 1000 }, { "kib", 1024 },
		{ "m", 1000000 }, { "mb", 1000000 }, { "mib", 1048576 },
		{ "g", 1000000000 }, { "gb", 1000000000 }, { "gib", 1073741824 },
	};
	char low[4];
	size_t len = strlen(u), i;

	if (len > 3)
		return 0;
	for (i = 0; i <= len; i++)
		low[i] = lower(u[i]);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(low, units[i].name) == 0)
			return units[i].mult;
	return 0;
}

static void
check_size(const char *s)
{
	size_t ndigits = strspn(s, "0123456789"), len = strlen(s), i;
	uint64_t v = 0, again = 0, mult = size_unit(s + ndigits);
	int rc = parse_size(s, &v);
	char buf[48], *cased;
	unsigned __int128 want = 0;

	if (ndigits == 0 || mult == 0) {
		FUZZ_CHECK(rc == -EINVAL);
		return;
	}
	for (i = 0; i < ndigits && want <= UINT64_MAX; i++)
		want = want * 10 + (unsigned)(s[i] - '0');
	if (want <= UINT64_MAX)
		want *= mult;
	if (want > UINT64_MAX) {
		FUZZ_CHECK(rc == -ERANGE);
		return;
	}
	FUZZ_CHECK(rc == 0 && v == (uint64_t)want);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	FUZZ_CHECK(parse_size(buf, &again) == 0 && again == v);
	if (v % 1024 == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64 "KiB", v / 1024);
		FUZZ_CHECK(parse_size(buf, &again) == 0 && again == v);
	}
	cased = strdup(s);
	if (cased == NULL)
		return;
	for (i = 0; i < len; i++)
		cased[i] = i % 2 ? upper(s[i]) : lower(s[i]);
	FUZZ_CHECK(parse_size(cased, &again) == 0 && again == v);
	free(cased);
}

/* Duration.String() of ns parses back to ns; a short buffer holds a prefix of it. */
static void
check_format(int64_t ns)
{
	char full[32], part[8];
	int64_t again = 0;

	format_duration(ns, full, sizeof(full));
	FUZZ_CHECK(strlen(full) > 0 && strlen(full) < sizeof(full));
	FUZZ_CHECK(parse_duration(full, &again) == 0 && again == ns);
	format_duration(ns, part, sizeof(part));
	FUZZ_CHECK(strncmp(full, part, strlen(part)) == 0);
	FUZZ_CHECK(strlen(part) == (strlen(full) < sizeof(part) ? strlen(full) : sizeof(part) - 1));
}

static void
check_duration(const char *s)
{
	int64_t ns = 0, again = 0;
	size_t len = strlen(s);
	char *signed_s;

	if (parse_duration(s, &ns) < 0)
		return;
	check_format(ns);
	if (s[0] == '+' || s[0] == '-')
		return;
	signed_s = malloc(len + 2);
	if (signed_s == NULL)
		return;
	signed_s[0] = '-';
	memcpy(signed_s + 1, s, len + 1);
	FUZZ_CHECK(parse_duration(signed_s, &again) == 0 && again == -ns);
	signed_s[0] = '+';
	FUZZ_CHECK(parse_duration(signed_s, &again) == 0 && again == ns);
	free(signed_s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);
	int64_t ns;

	if (s == NULL)
		return 0;
	check_bool(s);
	check_int(s);
	check_size(s);
	check_duration(s);
	free(s);
	if (size >= sizeof(ns)) {
		memcpy(&ns, data, sizeof(ns));
		check_format(ns);
	}
	return 0;
}
