/* parse.c -- strict parsers for configuration values, with Go's vocabularies. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "strutil.h"

#define DUR_LIMIT	((uint64_t)1 << 63)	/* |INT64_MIN|: Go's bound while parsing */
#define NS_PER_US	UINT64_C(1000)
#define NS_PER_MS	UINT64_C(1000000)
#define NS_PER_S	UINT64_C(1000000000)
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct named_value {
	const char	*name;
	uint64_t	 value;
};

/* strconv.ParseBool's vocabulary. */
static const struct named_value bools[] = {
	{ "1", 1 }, { "t", 1 }, { "T", 1 }, { "TRUE", 1 }, { "true", 1 }, { "True", 1 },
	{ "0", 0 }, { "f", 0 }, { "F", 0 }, { "FALSE", 0 }, { "false", 0 }, { "False", 0 },
};

/* time.ParseDuration's units, matched exactly (case-sensitive). */
static const struct named_value duration_units[] = {
	{ "ns", 1 },
	{ "us", NS_PER_US },
	{ "\xc2\xb5s", NS_PER_US },	/* U+00B5 MICRO SIGN */
	{ "\xce\xbcs", NS_PER_US },	/* U+03BC GREEK SMALL LETTER MU */
	{ "ms", NS_PER_MS },
	{ "s", NS_PER_S },
	{ "m", 60 * NS_PER_S },
	{ "h", 3600 * NS_PER_S },
};

/* parse_size's units (lower case here), matched ASCII case-insensitively. */
static const struct named_value size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", UINT64_C(1000) }, { "kb", UINT64_C(1000) }, { "kib", UINT64_C(1) << 10 },
	{ "m", UINT64_C(1000000) }, { "mb", UINT64_C(1000000) }, { "mib", UINT64_C(1) << 20 },
	{ "g", UINT64_C(1000000000) }, { "gb", UINT64_C(1000000000) }, { "gib", UINT64_C(1) << 30 },
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Consume [0-9]* at *sp into *ret, and return how many digits there were.
 * A value above `max` sets *overflow; the digits are consumed all the same.
 */
static size_t
scan_digits(const char **sp, uint64_t max, uint64_t *ret, bool *overflow)
{
	const char *start = *sp, *p = *sp;
	uint64_t v = 0;

	for (; is_digit(*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (*overflow || v > (max - d) / 10)
			*overflow = true;
		else
			v = v * 10 + d;
	}
	*ret = v;
	*sp = p;
	return (size_t)(p - start);
}

/*
 * Go's leadingFraction: consume [0-9]* at *sp; digits that would overflow
 * are consumed but no longer add precision. Returns how many there were.
 */
static size_t
scan_fraction(const char **sp, uint64_t *ret, double *ret_scale)
{
	const char *start = *sp, *p = *sp;
	uint64_t x = 0;
	double scale = 1;
	bool full = false;

	for (; is_digit(*p); p++) {
		uint64_t y;

		if (full)
			continue;
		if (x > (uint64_t)INT64_MAX / 10) {
			full = true;
			continue;
		}
		y = x * 10 + (uint64_t)(*p - '0');
		if (y > DUR_LIMIT) {
			full = true;
			continue;
		}
		x = y;
		scale *= 10;
	}
	*ret = x;
	*ret_scale = scale;
	*sp = p;
	return (size_t)(p - start);
}

/* The nanoseconds of the duration unit s[0..len), or 0 when unknown. */
static uint64_t
duration_unit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < NELEM(duration_units); i++)
		if (strlen(duration_units[i].name) == len &&
		    memcmp(duration_units[i].name, s, len) == 0)
			return duration_units[i].value;
	return 0;
}

/* -v for 0 <= v <= 2^63, without overflowing int64. */
static int64_t
negate(uint64_t v)
{
	if (v == 0)
		return 0;
	return -(int64_t)(v - 1) - 1;
}

int
parse_bool(const char *s, bool *ret)
{
	size_t i;

	if (s == NULL)
		return -EINVAL;
	for (i = 0; i < NELEM(bools); i++) {
		if (strcmp(s, bools[i].name) == 0) {
			*ret = bools[i].value != 0;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or a bare "0".
 * Syntax is checked to the end before a range error is reported.
 */
int
parse_duration(const char *s, int64_t *ret_ns)
{
	const char *p = s;
	uint64_t d = 0;
	bool neg = false, overflow = false;

	if (s == NULL)
		return -EINVAL;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	if (strcmp(p, "0") == 0) {
		*ret_ns = 0;
		return 0;
	}
	if (*p == '\0')
		return -EINVAL;
	while (*p != '\0') {
		uint64_t v, f = 0, unit;
		double scale = 1;
		size_t pre, post = 0, ulen;

		if (*p != '.' && !is_digit(*p))
			return -EINVAL;
		pre = scan_digits(&p, DUR_LIMIT, &v, &overflow);
		if (*p == '.') {
			p++;
			post = scan_fraction(&p, &f, &scale);
		}
		if (pre == 0 && post == 0)
			return -EINVAL;		/* ".s", "-.s" */
		ulen = strcspn(p, ".0123456789");
		unit = duration_unit(p, ulen);
		if (unit == 0)
			return -EINVAL;		/* missing or unknown unit */
		p += ulen;
		if (overflow)
			continue;
		if (v > DUR_LIMIT / unit) {
			overflow = true;
			continue;
		}
		v *= unit;
		if (f > 0) {
			/* Go uses float64 here; keep its exact rounding. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > DUR_LIMIT) {
				overflow = true;
				continue;
			}
		}
		if (v > DUR_LIMIT - d) {
			overflow = true;
			continue;
		}
		d += v;
	}
	if (overflow || (!neg && d > (uint64_t)INT64_MAX))
		return -ERANGE;
	*ret_ns = neg ? negate(d) : (int64_t)d;
	return 0;
}

int
parse_int(const char *s, int64_t *ret)
{
	const char *p = s;
	uint64_t v, max;
	bool neg = false, overflow = false;

	if (s == NULL)
		return -EINVAL;
	if (*p == '-' || *p == '+') {
		neg = *p == '-';
		p++;
	}
	max = neg ? DUR_LIMIT : (uint64_t)INT64_MAX;
	if (scan_digits(&p, max, &v, &overflow) == 0 || *p != '\0')
		return -EINVAL;
	if (overflow)
		return -ERANGE;
	*ret = neg ? negate(v) : (int64_t)v;
	return 0;
}

int
parse_size(const char *s, uint64_t *ret)
{
	const char *p = s;
	uint64_t v;
	bool overflow = false;
	size_t i, len;

	if (s == NULL)
		return -EINVAL;
	if (scan_digits(&p, UINT64_MAX, &v, &overflow) == 0)
		return -EINVAL;
	len = strlen(p);
	for (i = 0; i < NELEM(size_units); i++) {
		if (!ascii_case_equal(p, len, size_units[i].name))
			continue;
		if (overflow || v > UINT64_MAX / size_units[i].value)
			return -ERANGE;
		*ret = v * size_units[i].value;
		return 0;
	}
	return -EINVAL;
}

/*
 * Go's fmtFrac: write the `prec` low decimal digits of *v backwards ending
 * at buf[w], without trailing zeros (and without the '.' when all are zero);
 * leaves the integer part in *v. Returns the new start index.
 */
static size_t
fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool print = false;
	int i;

	for (i = 0; i < prec; i++) {
		uint64_t digit = *v % 10;

		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

/* Go's fmtInt: write v in decimal backwards ending at buf[w]. */
static size_t
fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0) {
		buf[--w] = '0';
		return w;
	}
	while (v > 0) {
		buf[--w] = (char)('0' + v % 10);
		v /= 10;
	}
	return w;
}

/* Go's Duration.String(). The longest result, for INT64_MIN, is 25 bytes. */
void
format_duration(int64_t ns, char *buf, size_t size)
{
	char tmp[32];
	size_t w = sizeof(tmp), len;
	uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;

	if (buf == NULL || size == 0)
		return;
	if (u == 0) {
		w -= 2;
		memcpy(tmp + w, "0s", 2);
	} else if (u < NS_PER_S) {
		int prec;

		tmp[--w] = 's';
		if (u < NS_PER_US) {
			prec = 0;
			tmp[--w] = 'n';
		} else if (u < NS_PER_MS) {
			prec = 3;
			w -= 2;
			memcpy(tmp + w, "\xc2\xb5", 2);	/* Go prints U+00B5 */
		} else {
			prec = 6;
			tmp[--w] = 'm';
		}
		w = fmt_frac(tmp, w, &u, prec);
		w = fmt_int(tmp, w, u);
	} else {
		tmp[--w] = 's';
		w = fmt_frac(tmp, w, &u, 9);
		w = fmt_int(tmp, w, u % 60);	/* seconds */
		u /= 60;
		if (u > 0) {
			tmp[--w] = 'm';
			w = fmt_int(tmp, w, u % 60);
			u /= 60;
			if (u > 0) {
				tmp[--w] = 'h';
				w = fmt_int(tmp, w, u);
			}
		}
	}
	if (ns < 0)
		tmp[--w] = '-';
	len = sizeof(tmp) - w;
	if (len > size - 1)
		len = size - 1;
	memcpy(buf, tmp + w, len);
	buf[len] = '\0';
}
