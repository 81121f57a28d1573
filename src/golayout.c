/* golayout.c -- Go time.Format reference layouts ("2006-01-02T15:04:05Z07:00") in C. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "golayout.h"

/*
 * The layout elements Go recognises. The scanner below (next_elem) follows
 * the order and the look-ahead rules of Go's time package, so a layout splits
 * into the same literal text and elements as it does in Go.
 */
enum elem {
	E_NONE,
	E_LONG_MONTH,		/* January */
	E_MONTH,		/* Jan */
	E_NUM_MONTH,		/* 1 */
	E_ZERO_MONTH,		/* 01 */
	E_LONG_WEEKDAY,		/* Monday */
	E_WEEKDAY,		/* Mon */
	E_DAY,			/* 2 */
	E_UNDER_DAY,		/* _2 */
	E_ZERO_DAY,		/* 02 */
	E_UNDER_YDAY,		/* __2 */
	E_ZERO_YDAY,		/* 002 */
	E_HOUR,			/* 15 */
	E_HOUR12,		/* 3 */
	E_ZERO_HOUR12,		/* 03 */
	E_MINUTE,		/* 4 */
	E_ZERO_MINUTE,		/* 04 */
	E_SECOND,		/* 5 */
	E_ZERO_SECOND,		/* 05 */
	E_LONG_YEAR,		/* 2006 */
	E_YEAR,			/* 06 */
	E_PM,			/* PM */
	E_LOWER_PM,		/* pm */
	E_ZONE_NAME,		/* MST */
	E_ZONE,			/* Z0700, -07:00, ...: see struct zone_style */
	E_FRAC			/* .000, ,999, ...: see struct frac_style */
};

/* How a numeric zone element prints: Z07:00 is { iso, colon, minutes }. */
struct zone_style {
	bool	 iso;		/* "Z" prefix: prints Z for a zero offset */
	bool	 colon;		/* ':' between the parts */
	bool	 minutes;	/* include minutes (all but -07 and Z07) */
	bool	 seconds;	/* include seconds */
};

/* How a fractional-second element prints. */
struct frac_style {
	char	 sep;		/* '.' or ',' */
	bool	 trim;		/* 999: trailing zeros (and a bare separator) dropped */
	unsigned digits;	/* run length, kept modulo 4096 as Go does */
};

/* One scanned element: `prefix` literal bytes come first, then `len` bytes of element. */
struct chunk {
	size_t		 prefix;
	size_t		 len;
	enum elem	 elem;
	struct zone_style zone;
	struct frac_style frac;
};

/* The zone spellings after '-' or 'Z', in the order Go tries them. */
static const struct {
	const char	*text;
	struct zone_style style;
} zone_forms[] = {
	{ "070000",	{ false, false, true,  true  } },
	{ "07:00:00",	{ false, true,  true,  true  } },
	{ "0700",	{ false, false, true,  false } },
	{ "07:00",	{ false, true,  true,  false } },
	{ "07",		{ false, false, false, false } },
};

/* "01".."06" map to these, indexed by the second digit. */
static const enum elem zero_x[] = {
	E_ZERO_MONTH, E_ZERO_DAY, E_ZERO_HOUR12, E_ZERO_MINUTE, E_ZERO_SECOND, E_YEAR
};

static const char *const month_names[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};

static const char *const day_names[] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"
};

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

/* Set the element found at offset `at` of the layout; always returns true. */
static bool
found(struct chunk *ch, size_t at, size_t len, enum elem elem)
{
	ch->prefix = at;
	ch->len = len;
	ch->elem = elem;
	return true;
}

/* '-' or 'Z' followed by one of zone_forms. */
static bool
match_zone(const char *s, size_t at, struct chunk *ch)
{
	size_t	 i;

	for (i = 0; i < sizeof(zone_forms) / sizeof(zone_forms[0]); i++) {
		if (has_prefix(s + 1, zone_forms[i].text)) {
			ch->zone = zone_forms[i].style;
			ch->zone.iso = s[0] == 'Z';
			return found(ch, at, 1 + strlen(zone_forms[i].text), E_ZONE);
		}
	}
	return false;
}

/* '.' or ',' followed by a run of one repeated '0' or '9' that no digit follows. */
static bool
match_frac(const char *s, size_t at, struct chunk *ch)
{
	size_t	 n = 1;

	if (s[1] != '0' && s[1] != '9')
		return false;
	while (s[n] == s[1])
		n++;
	if (is_digit(s[n]))
		return false;
	ch->frac.sep = s[0];
	ch->frac.trim = s[1] == '9';
	ch->frac.digits = (unsigned)((n - 1) & 0xfff);
	return found(ch, at, n, E_FRAC);
}

/* Try to match an element starting exactly at s (offset `at` in the layout). */
static bool
match_at(const char *s, size_t at, struct chunk *ch)
{
	switch (s[0]) {
	case 'J':
		if (has_prefix(s, "January"))
			return found(ch, at, 7, E_LONG_MONTH);
		if (has_prefix(s, "Jan") && !is_lower(s[3]))
			return found(ch, at, 3, E_MONTH);
		return false;
	case 'M':
		if (has_prefix(s, "Monday"))
			return found(ch, at, 6, E_LONG_WEEKDAY);
		if (has_prefix(s, "Mon") && !is_lower(s[3]))
			return found(ch, at, 3, E_WEEKDAY);
		if (has_prefix(s, "MST"))
			return found(ch, at, 3, E_ZONE_NAME);
		return false;
	case '0':
		if (s[1] >= '1' && s[1] <= '6')
			return found(ch, at, 2, zero_x[s[1] - '1']);
		if (s[1] == '0' && s[2] == '2')
			return found(ch, at, 3, E_ZERO_YDAY);
		return false;
	case '1':
		if (s[1] == '5')
			return found(ch, at, 2, E_HOUR);
		return found(ch, at, 1, E_NUM_MONTH);
	case '2':
		if (has_prefix(s, "2006"))
			return found(ch, at, 4, E_LONG_YEAR);
		return found(ch, at, 1, E_DAY);
	case '_':
		/* "_2006" is a literal '_' and a year; "_2" otherwise a padded day. */
		if (has_prefix(s, "_2006"))
			return found(ch, at + 1, 4, E_LONG_YEAR);
		if (s[1] == '2')
			return found(ch, at, 2, E_UNDER_DAY);
		if (s[1] == '_' && s[2] == '2')
			return found(ch, at, 3, E_UNDER_YDAY);
		return false;
	case '3':
		return found(ch, at, 1, E_HOUR12);
	case '4':
		return found(ch, at, 1, E_MINUTE);
	case '5':
		return found(ch, at, 1, E_SECOND);
	case 'P':
		if (s[1] == 'M')
			return found(ch, at, 2, E_PM);
		return false;
	case 'p':
		if (s[1] == 'm')
			return found(ch, at, 2, E_LOWER_PM);
		return false;
	case '-':
	case 'Z':
		return match_zone(s, at, ch);
	case '.':
	case ',':
		return match_frac(s, at, ch);
	default:
		return false;
	}
}

/* Find the next element; with none, the whole rest is the literal prefix. */
static void
next_elem(const char *layout, struct chunk *ch)
{
	size_t	 i;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; layout[i] != '\0'; i++) {
		if (match_at(layout + i, i, ch))
			return;
	}
	ch->prefix = i;
	ch->elem = E_NONE;
}

/* snprintf-style output: counts everything, stores what fits. */
struct out {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
put_bytes(struct out *o, const char *s, size_t n)
{
	size_t	 room;

	if (o->size > 0 && o->len < o->size - 1) {
		room = o->size - 1 - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void
put_str(struct out *o, const char *s)
{
	put_bytes(o, s, strlen(s));
}

static void
put_char(struct out *o, char c)
{
	put_bytes(o, &c, 1);
}

/* Go's appendInt: a '-' for negatives, then the digits zero-padded to `width`. */
static void
put_int(struct out *o, long long v, int width)
{
	char			 digits[24];
	unsigned long long	 u;
	int			 n = 0;

	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	if (v < 0)
		put_char(o, '-');
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	for (; n < width; width--)
		put_char(o, '0');
	while (n > 0)
		put_char(o, digits[--n]);
}

/* Twelve-hour clock: noon is 12PM, midnight is 12AM. */
static int
hour12(int hour)
{
	return hour % 12 == 0 ? 12 : hour % 12;
}

static void
put_zone(struct out *o, const struct zone_style *z, long offset)
{
	long	 minutes = offset / 60;
	long	 secs = offset;

	if (z->iso && offset == 0) {
		put_char(o, 'Z');
		return;
	}
	if (minutes < 0) {
		put_char(o, '-');
		minutes = -minutes;
		secs = -secs;
	} else
		put_char(o, '+');
	put_int(o, minutes / 60, 2);
	if (z->colon)
		put_char(o, ':');
	if (z->minutes)
		put_int(o, minutes % 60, 2);
	if (z->seconds) {
		if (z->colon)
			put_char(o, ':');
		put_int(o, secs % 60, 2);
	}
}

/* MST: the abbreviation, or -0700 style digits when there is none. */
static void
put_zone_name(struct out *o, const struct tm *tm)
{
	static const struct zone_style numeric = { false, false, true, false };

	if (tm->tm_zone != NULL && tm->tm_zone[0] != '\0')
		put_str(o, tm->tm_zone);
	else
		put_zone(o, &numeric, tm->tm_gmtoff);
}

static void
put_frac(struct out *o, const struct frac_style *f, long nsec)
{
	char		 digits[9];
	unsigned	 n = f->digits < 9 ? f->digits : 9;
	long		 v = nsec;
	int		 i;

	if (f->trim && (f->digits == 0 || nsec == 0))
		return;
	for (i = 8; i >= 0; i--) {
		digits[i] = (char)('0' + v % 10);
		v /= 10;
	}
	if (f->trim) {
		while (n > 0 && digits[n - 1] == '0')
			n--;
		if (n == 0)
			return;
	}
	put_char(o, f->sep);
	put_bytes(o, digits, n);
}

static void
put_elem(struct out *o, const struct chunk *ch, const struct tm *tm, long nsec)
{
	long long	 year = (long long)tm->tm_year + 1900;

	switch (ch->elem) {
	case E_LONG_MONTH:	put_str(o, month_names[tm->tm_mon]); break;
	case E_MONTH:		put_bytes(o, month_names[tm->tm_mon], 3); break;
	case E_NUM_MONTH:	put_int(o, tm->tm_mon + 1, 0); break;
	case E_ZERO_MONTH:	put_int(o, tm->tm_mon + 1, 2); break;
	case E_LONG_WEEKDAY:	put_str(o, day_names[tm->tm_wday]); break;
	case E_WEEKDAY:		put_bytes(o, day_names[tm->tm_wday], 3); break;
	case E_DAY:		put_int(o, tm->tm_mday, 0); break;
	case E_UNDER_DAY:
		if (tm->tm_mday < 10)
			put_char(o, ' ');
		put_int(o, tm->tm_mday, 0);
		break;
	case E_ZERO_DAY:	put_int(o, tm->tm_mday, 2); break;
	case E_UNDER_YDAY:
		if (tm->tm_yday + 1 < 100)
			put_char(o, ' ');
		if (tm->tm_yday + 1 < 10)
			put_char(o, ' ');
		put_int(o, tm->tm_yday + 1, 0);
		break;
	case E_ZERO_YDAY:	put_int(o, tm->tm_yday + 1, 3); break;
	case E_HOUR:		put_int(o, tm->tm_hour, 2); break;
	case E_HOUR12:		put_int(o, hour12(tm->tm_hour), 0); break;
	case E_ZERO_HOUR12:	put_int(o, hour12(tm->tm_hour), 2); break;
	case E_MINUTE:		put_int(o, tm->tm_min, 0); break;
	case E_ZERO_MINUTE:	put_int(o, tm->tm_min, 2); break;
	case E_SECOND:		put_int(o, tm->tm_sec, 0); break;
	case E_ZERO_SECOND:	put_int(o, tm->tm_sec, 2); break;
	case E_LONG_YEAR:	put_int(o, year, 4); break;
	case E_YEAR:		put_int(o, (year < 0 ? -year : year) % 100, 2); break;
	case E_PM:		put_str(o, tm->tm_hour >= 12 ? "PM" : "AM"); break;
	case E_LOWER_PM:	put_str(o, tm->tm_hour >= 12 ? "pm" : "am"); break;
	case E_ZONE_NAME:	put_zone_name(o, tm); break;
	case E_ZONE:		put_zone(o, &ch->zone, tm->tm_gmtoff); break;
	case E_FRAC:		put_frac(o, &ch->frac, nsec); break;
	case E_NONE:		break;
	}
}

int
golayout_format(char *buf, size_t size, const char *layout, const struct tm *tm, long nsec)
{
	struct out	 o = { buf, size, 0 };
	struct chunk	 ch;

	if ((buf == NULL && size > 0) || layout == NULL || tm == NULL)
		return -1;
	if (nsec < 0 || nsec > 999999999L)
		return -1;
	if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_wday < 0 || tm->tm_wday > 6)
		return -1;
	while (*layout != '\0') {
		next_elem(layout, &ch);
		put_bytes(&o, layout, ch.prefix);
		if (ch.elem == E_NONE)
			break;
		put_elem(&o, &ch, tm, nsec);
		layout += ch.prefix + ch.len;
	}
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	if (o.len > INT_MAX)
		return -1;
	return (int)o.len;
}
