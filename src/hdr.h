/* hdr.h -- HTTP header name/value rules: validation, hop-by-hop names, secrets. */
#ifndef RELAY_HDR_H
#define RELAY_HDR_H

#include <stdbool.h>
#include <stddef.h>

/* An RFC 9110 token: non-empty, only tchar. */
bool	hdr_name_valid(const char *name);
/* No CR, LF, NUL or other control character except HTAB. */
bool	hdr_value_valid(const char *value);
/*
 * Hop-by-hop names a relay never forwards: Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer(s),
 * Transfer-Encoding, Upgrade, Expect. Case-insensitive.
 */
bool	hdr_is_hop_by_hop(const char *name);
/* The comma-separated list (a Connection header's value) names this header. Case-insensitive. */
bool	hdr_list_names(const char *list, const char *name);

/*
 * The names that Connection headers list, as a set: one lookup costs
 * O(log n), so a request listing thousands of names beside thousands of
 * headers stays linear-ish. Zero-initialise; the set points into the lists
 * added, which must outlive it.
 */
struct hdr_token {
	const char	*p;
	size_t		 len;
};
struct hdr_names {
	struct hdr_token	*v;	/* owned */
	size_t			 n;
	size_t			 cap;
	bool			 sorted;
};
/* Add every name of a comma-separated list. 0 or -ENOMEM. */
int	hdr_names_add(struct hdr_names *set, const char *list);
/* Case-insensitive membership. */
bool	hdr_names_has(struct hdr_names *set, const char *name);
void	hdr_names_clear(struct hdr_names *set);
/* What only the relay itself sets: hop-by-hop names plus Host and Content-Length. */
bool	hdr_is_relay_owned(const char *name);
/* Values never to be logged: Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Amz-Security-Token, X-Api-Key. */
bool	hdr_is_secret(const char *name);

#endif
