/* proxyenv.h -- which proxy the remote is reached through: the *_proxy variables, NO_PROXY, the proxy URL. */
#ifndef RELAY_PROXYENV_H
#define RELAY_PROXYENV_H

#include <stdbool.h>
#include <stddef.h>

/* curl's port for a proxy URL that names none. */
#define PROXY_DEFAULT_PORT	1080

/* The proxy the remote goes through, as the environment names it. */
struct proxy_config {
	const char	*var;		/* static: the variable that names a proxy for the remote, or NULL */
	const char	*no_proxy_var;	/* static: the NO_PROXY variable that names the remote, or NULL */
	char		*host;		/* owned: name or IP literal without []; NULL: connect directly */
	int		 port;		/* explicit, else PROXY_DEFAULT_PORT */
	char		*authority;	/* owned: host:port, IPv6 in []: where CONNECT and absolute URLs point */
	char		*display;	/* owned: http://host:port, never the credentials: safe to log */
	char		*authorization;	/* owned, secret: "Basic base64(user:password)", or NULL */
	char		*password;	/* owned, secret: the decoded password (for redaction), or NULL */
};

/*
 * The proxy variable for a remote of that scheme, with curl's precedence: the
 * lower-case name first, then the upper-case one (https_proxy, HTTPS_PROXY;
 * http_proxy, HTTP_PROXY). Unset and empty are the same. Returns the value,
 * or NULL when neither is set; *name is the variable the value came from.
 */
const char *proxyenv_get(bool https, const char *(*getenv_fn)(const char *), const char **name);
/* The NO_PROXY list: no_proxy, else NO_PROXY; NULL when neither is set. */
const char *proxyenv_no_proxy(const char *(*getenv_fn)(const char *), const char **name);
/*
 * True when the NO_PROXY `list` names the remote `host` (an IP literal
 * without [] or a name) on `port`, as curl matches it: the whole list "*"
 * matches every host; entries are separated by commas or blanks; a name entry
 * matches the host name itself and, as a domain, every name under it (a
 * leading dot changes nothing: ".example.com" and "example.com" both match
 * "www.example.com", neither matches "notexample.com"), case-insensitively,
 * trailing dots ignored; an IP entry matches that address, with "/bits" a
 * CIDR range ([] around an IPv6 entry allowed). No name is resolved: the
 * entry "localhost" does not match the host 127.0.0.1. Unlike curl, an entry
 * may carry a port ("host:8080", "[::1]:8080"): then it matches that port only.
 */
bool	proxyenv_bypass(const char *list, const char *host, int port);
/*
 * Parse a proxy URL: [http://][user[:password]@]host[:port][/]. No scheme
 * means http://, as in curl; another scheme (https://, socks5://) is refused.
 * The port defaults to PROXY_DEFAULT_PORT; a path is ignored. User and
 * password are percent-decoded into ret->authorization. Fills every field but
 * var and no_proxy_var. On failure returns -EINVAL with *reterr (malloc'd,
 * never holding the credentials), or -ENOMEM; *ret is left untouched.
 */
int	proxyenv_parse(const char *value, struct proxy_config *ret, char **reterr);
/* Free the owned fields and zero the struct; NULL-safe, idempotent. */
void	proxy_config_clear(struct proxy_config *p);

#endif
