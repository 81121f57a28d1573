/* strutil.h -- small locale-independent string helpers shared by the parsers. */
#ifndef RELAY_STRUTIL_H
#define RELAY_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* ASCII case-insensitive equality of s[0..len) and the NUL-terminated word. */
bool	ascii_case_equal(const char *s, size_t len, const char *word);
/* ASCII case-insensitive ordering of a[0..alen) and b[0..blen): <0, 0 or >0. */
int	ascii_case_compare(const char *a, size_t alen, const char *b, size_t blen);
/* AF_INET or AF_INET6 when s[0..len) is an IP address literal (no brackets), else 0. */
int	ip_literal_family(const char *s, size_t len);
/* The value of a hexadecimal digit, or -1. */
int	hex_value(char c);
/*
 * Percent-decode s[0..len) ('+' becomes a space when plus_is_space) into a
 * new NUL-terminated string that may itself hold NUL bytes: *ret_len is its
 * real length. 0, -EINVAL for a '%' not followed by two hex digits, -ENOMEM.
 */
int	percent_decode(const char *s, size_t len, bool plus_is_space, char **ret, size_t *ret_len);

#endif
