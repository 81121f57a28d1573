/* test_golayout.c -- golayout_format against what Go's time.Format prints. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golayout.h"
#include "tap.h"

#define T0	1738231205LL	/* 2025-01-30T10:00:05Z, a Thursday */

/* A broken-down time as localtime_r would give it in a zone `off` seconds east of UTC. */
static struct tm
at(long long utc, long off, const char *zone)
{
	time_t		 t = (time_t)(utc + off);
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	gmtime_r(&t, &tm);
	tm.tm_gmtoff = off;
	tm.tm_zone = zone;
	return tm;
}

struct layout_case {
	const char	*layout;
	long long	 utc;
	long		 off;
	const char	*zone;
	long		 nsec;
	const char	*want;		/* printed by Go 1.22 time.Format */
};

static const struct layout_case cases[] = {
	{ GOLAYOUT_RFC3339, T0, 0, "UTC", 123456789, "2025-01-30T10:00:05Z" },
	{ "2006-01-02T15:04:05.000Z07:00", T0, 0, "UTC", 123456789, "2025-01-30T10:00:05.123Z" },
	{ "Jan _2 15:04:05.999", T0, 0, "UTC", 123456789, "Jan 30 10:00:05.123" },
	{ "Mon, 02 Jan 2006 15:04:05 MST", T0, 0, "UTC", 123456789, "Thu, 30 Jan 2025 10:00:05 UTC" },
	{ "03:04PM", T0, 0, "UTC", 0, "10:00AM" },
	{ "2006-01-02T15:04:05.999999999Z07:00", T0, 19800, "IST", 123456789,
	  "2025-01-30T15:30:05.123456789+05:30" },
	{ GOLAYOUT_RFC3339, T0, -28800, "PST", 0, "2025-01-30T02:00:05-08:00" },
	{ "Z0700", T0, -28800, "PST", 0, "-0800" },
	{ ".999", T0, 0, "UTC", 100000000, ".1" },
	{ ".999", T0, 0, "UTC", 0, "" },
	{ "05.999", T0, 0, "UTC", 0, "05" },
	{ ".9 .99 .000000 ,999999", T0, 0, "UTC", 50000000, " .05 .050000 ,05" },
	{ "05,000 05.0000000000 15.000", T0, 0, "UTC", 123456789, "05,123 05.123456789 10.123" },
	{ ".0003", T0, 0, "UTC", 0, ".0010" },
	{ "Monday January 2 __2 002 3 4 5 06 pm", T0, 0, "UTC", 0,
	  "Thursday January 30  30 030 10 0 5 25 am" },
	{ "Z07|Z07:00:00|Z070000|-07|-070000|-07:00:00|-0700|-07:00", T0, 0, "UTC", 0,
	  "Z|Z|Z|+00|+000000|+00:00:00|+0000|+00:00" },
	{ "Z07|Z07:00:00|Z070000|-07|-070000|-07:00:00|-0700|-07:00", T0, 19800, "IST", 0,
	  "+05|+05:30:00|+053000|+05|+053000|+05:30:00|+0530|+05:30" },
	{ "Z07|Z07:00:00|Z070000|-07|-070000|-07:00:00|-0700|-07:00", T0, -28800, "PST", 0,
	  "-08|-08:00:00|-080000|-08|-080000|-08:00:00|-0800|-08:00" },
	{ "Janet Month JanX MST", T0, 0, "UTC", 0, "Janet Month JanX UTC" },
	{ "1/2 01/02/06 _2006 200 15", T0, 0, "UTC", 0, "1/30 01/30/25 _2025 3000 10" },
	{ "3PM 03pm 15", 1738238400LL, 0, "UTC", 0, "12PM 12pm 12" },
	{ "3PM 03pm 15", 1738195200LL, 0, "UTC", 0, "12AM 12am 00" },
	{ "MST", T0, 19800, "", 0, "+0530" },
	{ "MST", T0, -28800, NULL, 0, "-0800" },
	{ "MST", T0, 0, "", 0, "+0000" },
	{ "_2 __2 002 Jan", 1736294400LL, 0, "UTC", 0, " 8   8 008 Jan" },
	{ "__2 002", 1739750400LL, 0, "UTC", 0, " 48 048" },
	{ "Mon Monday Jan January", 1738454400LL, 0, "UTC", 0, "Sun Sunday Feb February" },
	{ "2006 06", -62293478400LL, 0, "UTC", 0, "-0005 05" },
	{ "", T0, 0, "UTC", 0, "" },
};

static void
test_cases(void)
{
	char		 buf[128], desc[160];
	struct tm	 tm;
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tm = at(cases[i].utc, cases[i].off, cases[i].zone);
		n = golayout_format(buf, sizeof(buf), cases[i].layout, &tm, cases[i].nsec);
		snprintf(desc, sizeof(desc), "layout '%s' (offset %ld, %ld ns)",
		    cases[i].layout, cases[i].off, cases[i].nsec);
		is_str(buf, cases[i].want, desc);
		is_int(n, strlen(cases[i].want), "  and the returned length");
	}
}

/* snprintf contract: full length returned, output truncated and terminated. */
static void
test_truncation(void)
{
	struct tm	 tm = at(T0, 0, "UTC");
	char		 buf[5];

	memset(buf, 'x', sizeof(buf));
	is_int(golayout_format(buf, sizeof(buf), GOLAYOUT_RFC3339, &tm, 0), 20,
	    "a short buffer still reports the full length");
	is_str(buf, "2025", "and holds a terminated prefix");
	is_int(golayout_format(NULL, 0, GOLAYOUT_RFC3339, &tm, 0), 20, "size 0 measures");
	buf[0] = 'x';
	is_int(golayout_format(buf, 1, "Monday", &tm, 0), 8, "size 1 measures");
	is_int(buf[0], '\0', "and writes only the terminator");
}

static void
test_bad_arguments(void)
{
	struct tm	 tm = at(T0, 0, "UTC");
	char		 buf[32];

	is_int(golayout_format(buf, sizeof(buf), NULL, &tm, 0), -1, "NULL layout");
	is_int(golayout_format(buf, sizeof(buf), "15", NULL, 0), -1, "NULL tm");
	is_int(golayout_format(NULL, sizeof(buf), "15", &tm, 0), -1, "NULL buffer with a size");
	is_int(golayout_format(buf, sizeof(buf), "15", &tm, 1000000000L), -1, "nsec too large");
	is_int(golayout_format(buf, sizeof(buf), "15", &tm, -1), -1, "negative nsec");
	tm.tm_mon = 12;
	is_int(golayout_format(buf, sizeof(buf), "Jan", &tm, 0), -1, "month out of range");
}

/* Go keeps the digit count modulo 4096, so a 4096-zero run prints only the separator. */
static void
test_long_fraction(void)
{
	struct tm	 tm = at(T0, 0, "UTC");
	char		*layout, buf[32];

	layout = malloc(4098);
	if (!ok(layout != NULL, "allocate a long layout"))
		return;
	layout[0] = '.';
	memset(layout + 1, '0', 4096);
	layout[4097] = '\0';
	golayout_format(buf, sizeof(buf), layout, &tm, 123456789);
	is_str(buf, ".", "a fraction of 4096 zeros prints as '.'");
	layout[4096] = '\0';
	golayout_format(buf, sizeof(buf), layout, &tm, 123456789);
	is_str(buf, ".123456789", "4095 zeros print nine digits");
	free(layout);
}

int
main(void)
{
	test_cases();
	test_truncation();
	test_bad_arguments();
	test_long_fraction();
	return done_testing();
}
