/* query.h -- raw URL query strings: find a parameter, escape and unescape values. */
#ifndef RELAY_QUERY_H
#define RELAY_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Find the first `key=value` pair whose (unescaped) key equals `key` in the raw
 * query (pairs split on '&'). On success sets the offset and length of the raw
 * value bytes and returns true. A pair "key" with no '=' has an empty value.
 */
bool	query_find(const char *query, const char *key, size_t *ret_off, size_t *ret_len);
/* Go url.QueryUnescape of s[0..len): '+' is a space, %XX decoded. malloc'd; NULL on a bad escape or OOM. */
char	*query_unescape(const char *s, size_t len);
/* Go url.QueryEscape: A-Z a-z 0-9 - _ . ~ kept, space -> '+', other bytes %XX (upper case). malloc'd. */
char	*query_escape(const char *s);
/*
 * Replace bytes [off, off+len) of query with `value`; returns a new malloc'd
 * string, every other byte unchanged. NULL on OOM.
 */
char	*query_splice(const char *query, size_t off, size_t len, const char *value);

#endif
