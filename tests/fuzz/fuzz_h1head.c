/* fuzz_h1head.c -- fuzz target: request heads and chunk-size lines as the relay receives them (h1parse.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: a request head, as bytes. Properties of an accepted head:
 * - it ends with its first CRLF CRLF, holds no NUL, and every CR and LF in
 *   it belongs to a CRLF pair (nothing two parsers could split differently);
 * - it announces one framing only: never both chunked and a length, no
 *   body on a method without one;
 * - every proper prefix of it is refused.
 * A refused head gets 400, 501 or 505 with a reason. The input is also read
 * as a chunk-size line: an accepted size is made of hexadecimal digits only
 * and prints back to the same value.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "h1parse.h"

static void
check_head(const char *p, size_t n)
{
	struct h1_head h;
	const char *reason = NULL;
	int status = h1_parse_head(p, n, &h, &reason);

	if (status != 0) {
		FUZZ_CHECK(status == 400 || status == 501 || status == 505);
		FUZZ_CHECK(reason != NULL);
		return;
	}
	FUZZ_CHECK(n >= 4 && memcmp(p + n - 4, "\r\n\r\n", 4) == 0);
	FUZZ_CHECK(memmem(p, n, "\r\n\r\n", 4) == p + n - 4);
	FUZZ_CHECK(memchr(p, '\0', n) == NULL);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r')
			FUZZ_CHECK(i + 1 < n && p[i + 1] == '\n');
		if (p[i] == '\n')
			FUZZ_CHECK(i > 0 && p[i - 1] == '\r');
	}
	FUZZ_CHECK(!(h.chunked && h.has_length));
	FUZZ_CHECK(h.body_allowed || (!h.chunked && h.length == 0));
	FUZZ_CHECK(h.minor == 0 || h.minor == 1);
	for (size_t k = 0; k < n; k += 1 + n / 16) {
		struct h1_head g;
		const char *r2;

		FUZZ_CHECK(h1_parse_head(p, k, &g, &r2) != 0);
	}
}

static void
check_chunk_size(const char *p, size_t n)
{
	uint64_t v, again;
	char buf[32];
	int rc = h1_parse_chunk_size(p, n, &v);

	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -ERANGE);
		return;
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F'));
	snprintf(buf, sizeof(buf), "%" PRIx64, v);
	FUZZ_CHECK(h1_parse_chunk_size(buf, strlen(buf), &again) == 0 && again == v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_head((const char *)data, size);
	check_chunk_size((const char *)data, size);
	(void)h1_field_line_valid((const char *)data, size);
	return 0;
}
