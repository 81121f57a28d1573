/* fuzz_golayout.c -- fuzz target: Go reference layouts (golayout.c), as PYROSCOPE_LOG_TIMESTAMP_FORMAT gives them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: a broken-down time (ten big-endian 32-bit fields, each brought into
 * the range localtime_r() gives; years and zone offsets of any size), a byte
 * choosing the zone abbreviation ("", "C", "CE", "CES", else "CEST"), then
 * the layout up to the next NUL. Properties:
 * - the result has the length the sizing call returned, with no NUL inside;
 * - every shorter buffer gets a prefix of it, NUL-terminated (snprintf);
 * - a layout with none of the bytes an element can start with is copied as it is;
 * - the same call twice gives the same text.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "golayout.h"

#define TIME_BYTES	41	/* the ten fields and the zone byte */

struct reader {
	const uint8_t	*p;
	size_t		 left;
};

static uint32_t
take32(struct reader *r)
{
	uint32_t v = 0;

	for (int i = 0; i < 4 && r->left > 0; i++, r->left--)
		v = v << 8 | *r->p++;
	return v;
}

/* The bytes an element can start with (golayout.c match_at). */
static const char element_starts[] = "JM0123456789_PpZ-.,";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size < TIME_BYTES ? size : TIME_BYTES };
	char zone[8] = "CEST", *layout, *full, *part;
	struct tm tm = { 0 };
	long nsec;
	int n, again;
	size_t cuts[4], i;

	tm.tm_year = (int)take32(&r);			/* any year: Go prints them all */
	tm.tm_mon = (int)(take32(&r) % 12);
	tm.tm_mday = 1 + (int)(take32(&r) % 31);
	tm.tm_hour = (int)(take32(&r) % 24);
	tm.tm_min = (int)(take32(&r) % 60);
	tm.tm_sec = (int)(take32(&r) % 61);		/* a leap second */
	tm.tm_wday = (int)(take32(&r) % 7);
	tm.tm_yday = (int)(take32(&r) % 366);
	tm.tm_gmtoff = (long)(int32_t)take32(&r);	/* any offset a 32-bit value gives */
	nsec = (long)(take32(&r) % 1000000000u);
	/* An abbreviation, or none (then MST prints the numeric offset). */
	if (r.left > 0 && *r.p < 4)
		zone[*r.p] = '\0';
	tm.tm_zone = zone;
	layout = fuzz_cstring(data + (size < TIME_BYTES ? size : TIME_BYTES),
	    size < TIME_BYTES ? 0 : size - TIME_BYTES);
	if (layout == NULL)
		return 0;

	n = golayout_format(NULL, 0, layout, &tm, nsec);
	FUZZ_CHECK(n >= 0);
	full = malloc((size_t)n + 1);
	part = malloc((size_t)n + 1);
	if (full == NULL || part == NULL)
		goto out;
	FUZZ_CHECK(golayout_format(full, (size_t)n + 1, layout, &tm, nsec) == n);
	FUZZ_CHECK(strlen(full) == (size_t)n);
	if (strcspn(layout, element_starts) == strlen(layout))
		FUZZ_CHECK(strcmp(full, layout) == 0);
	/* Buffers too short by all but 0, 1 and half the bytes, and by one. */
	cuts[0] = 1;
	cuts[1] = 2;
	cuts[2] = (size_t)n / 2 + 1;
	cuts[3] = (size_t)n;
	for (i = 0; i < 4; i++) {
		if (cuts[i] == 0 || cuts[i] > (size_t)n)
			continue;
		memset(part, 'x', (size_t)n + 1);
		again = golayout_format(part, cuts[i], layout, &tm, nsec);
		FUZZ_CHECK(again == n);
		FUZZ_CHECK(part[cuts[i] - 1] == '\0' && strlen(part) == cuts[i] - 1);
		FUZZ_CHECK(memcmp(part, full, cuts[i] - 1) == 0);
	}
	FUZZ_CHECK(golayout_format(part, (size_t)n + 1, layout, &tm, nsec) == n);
	FUZZ_CHECK(strcmp(part, full) == 0);
out:
	free(full);
	free(part);
	free(layout);
	return 0;
}
