/* query.c -- raw URL query strings: find a parameter, escape and unescape values. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "strutil.h"

/* Go's unescape in query-component mode; NULL on a bad escape or OOM. */
static char *
unescape(const char *s, size_t len, size_t *ret_len)
{
	char *out = NULL;

	return percent_decode(s, len, true, &out, ret_len) == 0 ? out : NULL;
}

/* Whether s[0..len) unescapes, and (when key is not NULL) to exactly key. */
static bool
unescapes_to(const char *s, size_t len, const char *key)
{
	size_t n;
	char *u = unescape(s, len, &n);
	bool match;

	if (u == NULL)
		return false;
	match = key == NULL || (n == strlen(key) && memcmp(u, key, n) == 0);
	free(u);
	return match;
}

/*
 * Go's url.ParseQuery, as Query().Get() sees it: pairs are split on '&';
 * empty pairs, pairs holding a ';' and pairs whose key or value does not
 * unescape are skipped.
 */
bool
query_find(const char *query, const char *key, size_t *ret_off, size_t *ret_len)
{
	size_t pos = 0;

	if (query == NULL || key == NULL)
		return false;
	while (query[pos] != '\0') {
		const char *pair = query + pos;
		size_t plen = strcspn(pair, "&");
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
		size_t voff = eq != NULL ? klen + 1 : plen;

		if (plen > 0 && memchr(pair, ';', plen) == NULL &&
		    unescapes_to(pair, klen, key) &&
		    unescapes_to(pair + voff, plen - voff, NULL)) {
			*ret_off = pos + voff;
			*ret_len = plen - voff;
			return true;
		}
		pos += plen;
		if (query[pos] == '&')
			pos++;
	}
	return false;
}

/* A decoded NUL cannot be returned in a C string: treated as a bad escape. */
char *
query_unescape(const char *s, size_t len)
{
	size_t n;
	char *u;

	if (s == NULL)
		return NULL;
	u = unescape(s, len, &n);
	if (u != NULL && memchr(u, '\0', n) != NULL) {
		free(u);
		return NULL;
	}
	return u;
}

char *
query_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len, w = 0;
	char *out;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
			out[w++] = (char)c;
		} else if (c == ' ') {
			out[w++] = '+';
		} else {
			out[w++] = '%';
			out[w++] = hex[c >> 4];
			out[w++] = hex[c & 0x0f];
		}
	}
	out[w] = '\0';
	return out;
}

/* Also NULL when [off, off+len) is not inside query. */
char *
query_splice(const char *query, size_t off, size_t len, const char *value)
{
	size_t qlen, vlen, tail;
	char *out;

	if (query == NULL || value == NULL)
		return NULL;
	qlen = strlen(query);
	vlen = strlen(value);
	if (off > qlen || len > qlen - off)
		return NULL;
	tail = qlen - off - len;
	out = malloc(off + vlen + tail + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, query, off);
	memcpy(out + off, value, vlen);
	memcpy(out + off + vlen, query + off + len, tail);
	out[off + vlen + tail] = '\0';
	return out;
}
