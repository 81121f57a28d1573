/* proxyenv.c -- which proxy the remote is reached through: the *_proxy variables, NO_PROXY, the proxy URL. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "basicauth.h"
#include "proxyenv.h"
#include "remote.h"
#include "strutil.h"

#define SCHEME_ECHO_MAX	16	/* longest scheme quoted in an error */

static const char *
nonempty(const char *(*getenv_fn)(const char *), const char *name)
{
	const char *v = getenv_fn(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

const char *
proxyenv_get(bool https, const char *(*getenv_fn)(const char *), const char **name)
{
	/*
	 * curl reads the lower-case name first. It never reads HTTP_PROXY, which
	 * a CGI program's environment may take from a request's Proxy header;
	 * this daemon is no CGI program, and HTTP_PROXY is the usual spelling.
	 */
	static const char *const names[2][2] = {
		{ "http_proxy", "HTTP_PROXY" },
		{ "https_proxy", "HTTPS_PROXY" }
	};
	const char *v;

	for (int i = 0; i < 2; i++)
		if ((v = nonempty(getenv_fn, names[https][i])) != NULL) {
			*name = names[https][i];
			return v;
		}
	*name = NULL;
	return NULL;
}

const char *
proxyenv_no_proxy(const char *(*getenv_fn)(const char *), const char **name)
{
	const char *v;

	if ((v = nonempty(getenv_fn, "no_proxy")) != NULL) {
		*name = "no_proxy";
		return v;
	}
	if ((v = nonempty(getenv_fn, "NO_PROXY")) != NULL) {
		*name = "NO_PROXY";
		return v;
	}
	*name = NULL;
	return NULL;
}

/* A decimal number of 1 to `digits` digits, at most max; -1 otherwise. */
static long
parse_small(const char *s, size_t len, size_t digits, long max)
{
	long v = 0;

	if (len == 0 || len > digits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/*
 * Split an entry into its host part and port: "[v6]:port", "[v6]",
 * "host:port" (a single ':'), or the entry whole. *port is 0 when none, -1
 * when malformed (the entry then matches nothing).
 */
static void
split_port(const char *e, size_t n, const char **host, size_t *hlen, long *port)
{
	const char *colon;

	*host = e;
	*hlen = n;
	*port = 0;
	if (n > 0 && e[0] == '[') {
		const char *close = memchr(e, ']', n);

		if (close == NULL) {
			*port = -1;
			return;
		}
		*host = e + 1;
		*hlen = (size_t)(close - e - 1);
		if (close + 1 < e + n)
			*port = close[1] == ':' ? parse_small(close + 2, (size_t)(e + n - close - 2), 5, 65535) : -1;
		return;
	}
	colon = memchr(e, ':', n);
	if (colon == NULL || memchr(colon + 1, ':', (size_t)(e + n - colon - 1)) != NULL)
		return;		/* no port, or an IPv6 address */
	*hlen = (size_t)(colon - e);
	*port = parse_small(colon + 1, (size_t)(e + n - colon - 1), 5, 65535);
}

/* A name entry: the host itself, or a domain the host is under. */
static bool
name_matches(const char *e, size_t n, const char *host, size_t hlen)
{
	if (n > 0 && e[n - 1] == '.')
		n--;
	if (n > 0 && e[0] == '.') {
		e++;
		n--;
	}
	if (n == 0 || n > hlen)
		return false;
	if (n == hlen)
		return ascii_case_compare(e, n, host, hlen) == 0;
	return host[hlen - n - 1] == '.' && ascii_case_compare(e, n, host + hlen - n, n) == 0;
}

/* An address entry, "/bits" for a range: does it hold the address `host` of `family`? */
static bool
address_matches(const char *e, size_t n, const char *host, int family)
{
	unsigned char want[16], got[16];
	const char *slash = memchr(e, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - e) : n;
	long max = family == AF_INET ? 32 : 128, bits = max;
	char buf[INET6_ADDRSTRLEN];

	if (alen == 0 || alen >= sizeof(buf))
		return false;
	if (slash != NULL && (bits = parse_small(slash + 1, (size_t)(e + n - slash - 1), 3, max)) < 0)
		return false;
	memcpy(buf, e, alen);
	buf[alen] = '\0';
	if (inet_pton(family, buf, want) != 1 || inet_pton(family, host, got) != 1)
		return false;
	for (long i = 0; i < bits / 8; i++)
		if (want[i] != got[i])
			return false;
	if (bits % 8 != 0) {
		unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));

		if ((want[bits / 8] & mask) != (got[bits / 8] & mask))
			return false;
	}
	return true;
}

static bool
entry_matches(const char *e, size_t n, const char *host, size_t hlen, int family, int port)
{
	const char *h;
	size_t len;
	long p;

	split_port(e, n, &h, &len, &p);
	if (p < 0 || (p > 0 && p != port))
		return false;
	if (family != 0)
		return address_matches(h, len, host, family);
	return name_matches(h, len, host, hlen);
}

bool
proxyenv_bypass(const char *list, const char *host, int port)
{
	size_t hlen = strlen(host);
	int family = ip_literal_family(host, hlen);
	const char *p = list;

	if (strcmp(list, "*") == 0)
		return true;
	if (family == 0 && hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > 0 && entry_matches(p, n, host, hlen, family, port))
			return true;
		p += n;
	}
	return false;
}

static int	reject(char **reterr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
reject(char **reterr, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*reterr = strdup(buf);
	return *reterr == NULL ? -ENOMEM : -EINVAL;
}

/* The length of a leading RFC 3986 scheme followed by "://", or 0. */
static size_t
scheme_length(const char *s)
{
	size_t n = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	    (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return strncmp(s + n, "://", 3) == 0 ? n : 0;
}

/* Did the URL's authority (after the userinfo) name a port? */
static bool
port_written(const char *authority)
{
	if (authority[0] == '[') {
		const char *close = strchr(authority, ']');

		return close != NULL && close[1] == ':';
	}
	return strchr(authority, ':') != NULL;
}

int
proxyenv_parse(const char *value, struct proxy_config *ret, char **reterr)
{
	struct proxy_config c = { .port = PROXY_DEFAULT_PORT };
	struct remote_url u = { 0 };
	size_t n = scheme_length(value);
	char *url = NULL;
	bool v6;
	int rc;

	*reterr = NULL;
	if (n > 0 && ascii_case_equal(value, n, "https"))
		return reject(reterr, "an https:// proxy (TLS to the proxy) is not supported; use an http:// proxy URL");
	if (n > 0 && !ascii_case_equal(value, n, "http"))
		return n <= SCHEME_ECHO_MAX ?
		    reject(reterr, "unsupported proxy scheme '%.*s' (only http:// proxies are supported)", (int)n, value) :
		    reject(reterr, "unsupported proxy scheme (only http:// proxies are supported)");
	if (asprintf(&url, "%s%s", n > 0 ? "" : "http://", value) < 0)
		return -ENOMEM;
	rc = remote_url_parse(url, &u, reterr);
	free(url);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	if (port_written(u.authority))
		c.port = u.port;
	v6 = ip_literal_family(u.host, strlen(u.host)) == AF_INET6;
	if (asprintf(&c.authority, v6 ? "[%s]:%d" : "%s:%d", u.host, c.port) < 0) {
		c.authority = NULL;
		goto fail;
	}
	if (asprintf(&c.display, "http://%s", c.authority) < 0) {
		c.display = NULL;
		goto fail;
	}
	if (u.user != NULL && (c.authorization = basic_auth_value(u.user, u.password)) == NULL)
		goto fail;
	c.host = u.host;
	c.password = u.password;
	u.host = NULL;
	u.password = NULL;
	remote_url_clear(&u);
	*ret = c;
	return 0;
fail:
	remote_url_clear(&u);
	proxy_config_clear(&c);
	return rc;
}

void
proxy_config_clear(struct proxy_config *p)
{
	if (p == NULL)
		return;
	free(p->host);
	free(p->authority);
	free(p->display);
	if (p->authorization != NULL)
		OPENSSL_cleanse(p->authorization, strlen(p->authorization));
	free(p->authorization);
	if (p->password != NULL)
		OPENSSL_cleanse(p->password, strlen(p->password));
	free(p->password);
	memset(p, 0, sizeof(*p));
}
