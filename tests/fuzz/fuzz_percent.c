/* fuzz_percent.c -- fuzz target: percent decoding (strutil.c), NUL bytes included. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: any bytes, decoded whole (percent_decode takes a length), with and
 * without '+' as a space. Properties:
 * - it fails exactly when a '%' is not followed by two hex digits;
 * - the length it reports is the input's less two per escape, and the
 *   result is NUL-terminated there;
 * - each escape gives its byte, '+' gives a space only when asked, every
 *   other byte is copied;
 * - percent-encoding every byte of the result decodes back to it.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "strutil.h"

static int
ref_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
check(const uint8_t *data, size_t size, bool plus)
{
	char *out = NULL, *enc, *back = NULL;
	size_t out_len = 0, back_len = 0, escapes = 0, i, w = 0;
	bool good = true;
	int rc = percent_decode((const char *)data, size, plus, &out, &out_len);

	for (i = 0; i < size; i++) {
		if (data[i] != '%')
			continue;
		if (i + 2 >= size || ref_hex(data[i + 1]) < 0 || ref_hex(data[i + 2]) < 0) {
			good = false;
			break;
		}
		escapes++;
		i += 2;
	}
	if (rc == -ENOMEM)
		return;
	FUZZ_CHECK((rc == 0) == good);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL);
		return;
	}
	FUZZ_CHECK(out_len == size - 2 * escapes);
	FUZZ_CHECK(out[out_len] == '\0');
	for (i = 0; i < size; i++, w++) {
		if (data[i] == '%') {
			FUZZ_CHECK((uint8_t)out[w] == ref_hex(data[i + 1]) * 16 + ref_hex(data[i + 2]));
			i += 2;
		} else if (data[i] == '+' && plus) {
			FUZZ_CHECK(out[w] == ' ');
		} else {
			FUZZ_CHECK((uint8_t)out[w] == data[i]);
		}
	}
	FUZZ_CHECK(w == out_len);
	enc = malloc(3 * out_len + 1);
	if (enc != NULL) {
		static const char hex[] = "0123456789abcdef";

		for (i = 0; i < out_len; i++) {
			enc[3 * i] = '%';
			enc[3 * i + 1] = hex[(uint8_t)out[i] >> 4];
			enc[3 * i + 2] = hex[(uint8_t)out[i] & 15];
		}
		FUZZ_CHECK(percent_decode(enc, 3 * out_len, plus, &back, &back_len) == 0);
		FUZZ_CHECK(back_len == out_len && memcmp(back, out, out_len) == 0);
		free(back);
		free(enc);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(data, size, false);
	check(data, size, true);
	return 0;
}
