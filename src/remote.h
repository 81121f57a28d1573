/* remote.h -- the remote Pyroscope address: parsing, validation and path joining. */
#ifndef RELAY_REMOTE_H
#define RELAY_REMOTE_H

#include <stdbool.h>

struct remote_url {
	bool	 https;
	char	*host;		/* owned: host name or IP literal, without [] */
	int	 port;		/* explicit or 80/443 */
	char	*authority;	/* owned: Host header value: host[:port] as written, IPv6 in [] */
	char	*base_path;	/* owned: path of the address ("" when none), raw */
	char	*user;		/* owned: percent-decoded userinfo name, or NULL */
	char	*password;	/* owned: percent-decoded userinfo password, or NULL */
	char	*display;	/* owned: scheme://authority/path, no userinfo: safe to log */
};

/*
 * Parse an absolute http:// or https:// URL (scheme case-insensitive). The
 * query and fragment are ignored, like the original. On failure returns
 * -EINVAL and, when reterr is not NULL, sets *reterr to a malloc'd reason
 * (never containing the userinfo); *ret is left untouched.
 */
int	remote_url_parse(const char *s, struct remote_url *ret, char **reterr);
/* Free the fields and zero the struct; NULL-safe, idempotent. */
void	remote_url_clear(struct remote_url *u);
/*
 * Go's path.Join(base, path): join, then clean (drop empty and "." elements,
 * resolve "..", no trailing slash), rooted. ("/prefix", "/ingest") -> "/prefix/ingest",
 * ("", "/") -> "/". Returns malloc'd, NULL on OOM.
 */
char	*path_join(const char *base, const char *path);

#endif
