/* strutil.c -- small locale-independent string helpers shared by the parsers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool
ascii_case_equal(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len && word[i] != '\0'; i++)
		if (ascii_lower(s[i]) != ascii_lower(word[i]))
			return false;
	return i == len && word[i] == '\0';
}

int
ascii_case_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	for (size_t i = 0; i < alen && i < blen; i++) {
		int x = ascii_lower(a[i]), y = ascii_lower(b[i]);

		if (x != y)
			return x - y;
	}
	return alen < blen ? -1 : alen > blen;
}

int
ip_literal_family(const char *s, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return AF_INET6;
	return 0;
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
