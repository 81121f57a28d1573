/* strutil.c -- small locale-independent string helpers shared by the parsers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

bool
ascii_case_equal(const char *s, size_t len, const char *lower)
{
	if (strlen(lower) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lower[i])
			return false;
	}
	return true;
}

int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
percent_decode(const char *s, size_t len, bool plus_is_space, char **ret, size_t *ret_len)
{
	char *out = malloc(len + 1);
	size_t w = 0;

	if (out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+' && plus_is_space) {
			out[w++] = ' ';
			continue;
		}
		if (s[i] != '%') {
			out[w++] = s[i];
			continue;
		}
		hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
		lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			free(out);
			return -EINVAL;
		}
		out[w++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[w] = '\0';
	*ret = out;
	*ret_len = w;
	return 0;
}
