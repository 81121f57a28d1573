/* remote.c -- the remote Pyroscope address: parsing, validation and path joining. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "strutil.h"

#define ECHO_MAX	64	/* longest piece of the address quoted in an error */

static int	reject(char **reterr, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Set *reterr to a malloc'd message; returns -EINVAL (-ENOMEM if that fails). */
static int
reject(char **reterr, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (reterr == NULL)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*reterr = strdup(buf);
	return *reterr == NULL ? -ENOMEM : -EINVAL;
}

/*
 * Reject naming the offending text, unless it may hold a mistyped password:
 * with an '@' after the authority, the userinfo was probably cut short by an
 * unencoded '/', '?' or '#', so what looks like the host could be a secret.
 */
static int
reject_text(char **reterr, bool may_echo, const char *what, const char *text, size_t len)
{
	if (!may_echo)
		return reject(reterr, "%s (not shown: '@' after the host; "
		    "percent-encode '/', '?' and '#' in the userinfo)", what);
	if (len > ECHO_MAX)
		return reject(reterr, "%s '%.*s...'", what, ECHO_MAX, text);
	return reject(reterr, "%s '%.*s'", what, (int)len, text);
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3986 scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); returns its length. */
static size_t
scheme_length(const char *s)
{
	size_t n = 0;

	if (!is_alpha(s[0]))
		return 0;
	while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		n++;
	return n;
}

/* Go's validUserinfo: unreserved, sub-delims, ':', '%' and '@'. */
static bool
userinfo_chars_valid(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && strchr("-._:~!$&'()*+,;=%@", s[i]) == NULL)
			return false;
	return true;
}

/* Percent-decode userinfo; "%00" is refused (it cannot be sent in a header). */
static char *
decode_userinfo(const char *s, size_t len, int *rc)
{
	char *out = NULL;
	size_t n;

	*rc = percent_decode(s, len, false, &out, &n);
	if (*rc == 0 && memchr(out, '\0', n) != NULL) {
		free(out);
		*rc = -EINVAL;
		return NULL;
	}
	return out;
}

/* userinfo = user [ ":" password ], both percent-decoded. Never echoes it. */
static int
parse_userinfo(const char *s, size_t len, struct remote_url *u, char **reterr)
{
	const char *colon = memchr(s, ':', len);
	size_t ulen = colon != NULL ? (size_t)(colon - s) : len;
	int rc;

	if (!userinfo_chars_valid(s, len))
		return reject(reterr, "invalid character in the userinfo");
	u->user = decode_userinfo(s, ulen, &rc);
	if (u->user != NULL && colon != NULL)
		u->password = decode_userinfo(colon + 1, len - ulen - 1, &rc);
	if (rc == -EINVAL)
		return reject(reterr, "invalid percent-encoding in the userinfo");
	return rc;
}

/* A port of 1..65535 from digits only. */
static int
parse_port(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			return -1;
	}
	return v == 0 ? -1 : (int)v;
}

/* A reg-name (letters, digits, '-', '.', '_'); all digits and dots must be IPv4. */
static int
check_reg_name(const char *s, size_t len, bool may_echo, char **reterr)
{
	bool numeric = true;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!is_alpha(s[i]) && !is_digit(s[i]) && strchr("-._", s[i]) == NULL)
			return reject_text(reterr, may_echo, "invalid host", s, len);
		if (!is_digit(s[i]) && s[i] != '.')
			numeric = false;
	}
	if (numeric && ip_literal_family(s, len) != AF_INET)
		return reject_text(reterr, may_echo, "invalid IPv4 address", s, len);
	return 0;
}

/* host [ ":" port ], where host is a reg-name, IPv4, or "[" IPv6 "]". */
static int
parse_hostport(const char *hp, size_t len, bool may_echo, struct remote_url *u, char **reterr)
{
	const char *host = hp, *end = hp + len, *port = NULL;
	size_t hlen;
	int rc;

	if (len == 0)
		return reject(reterr, "missing host");
	if (hp[0] == '[') {
		const char *close = memchr(hp, ']', len);

		if (close == NULL)
			return reject_text(reterr, may_echo, "missing ']' in IPv6 host", hp, len);
		host = hp + 1;
		hlen = (size_t)(close - host);
		if (ip_literal_family(host, hlen) != AF_INET6)
			return reject_text(reterr, may_echo, "invalid IPv6 address", host, hlen);
		if (close + 1 < end && close[1] != ':')
			return reject_text(reterr, may_echo, "unexpected text after the IPv6 address",
			    close + 1, (size_t)(end - close - 1));
		if (close + 1 < end)
			port = close + 2;
	} else {
		const char *colon = memchr(hp, ':', len);

		hlen = colon != NULL ? (size_t)(colon - hp) : len;
		if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
			return reject_text(reterr, may_echo,
			    "invalid host (an IPv6 address needs [brackets])", hp, len);
		if (hlen == 0)
			return reject(reterr, "missing host");
		rc = check_reg_name(hp, hlen, may_echo, reterr);
		if (rc < 0)
			return rc;
		if (colon != NULL)
			port = colon + 1;
	}
	u->port = u->https ? 443 : 80;
	if (port != NULL) {
		u->port = parse_port(port, (size_t)(end - port));
		if (u->port < 0)
			return reject_text(reterr, may_echo, "invalid port", port, (size_t)(end - port));
	}
	u->host = strndup(host, hlen);
	return u->host == NULL ? -ENOMEM : 0;
}

/* display = scheme "://" authority path, never the userinfo. */
static char *
make_display(bool https, const char *auth, size_t alen, const char *path, size_t plen)
{
	const char *scheme = https ? "https://" : "http://";
	size_t slen = strlen(scheme);
	char *out = malloc(slen + alen + plen + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, scheme, slen);
	memcpy(out + slen, auth, alen);
	memcpy(out + slen + alen, path, plen);
	out[slen + alen + plen] = '\0';
	return out;
}

int
remote_url_parse(const char *s, struct remote_url *ret, char **reterr)
{
	struct remote_url u = { 0 };
	const char *p, *rest, *auth, *path, *at = NULL;
	size_t n, alen, plen;
	bool may_echo;
	int rc;

	if (s == NULL || *s == '\0')
		return reject(reterr, "empty address");
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return reject(reterr, "the address contains a space or a control character");
	n = scheme_length(s);
	if (n == 0 || strncmp(s + n, "://", 3) != 0)
		return reject(reterr, "missing scheme (want http:// or https://)");
	u.https = ascii_case_equal(s, n, "https");
	if (!u.https && !ascii_case_equal(s, n, "http"))
		return reject(reterr, "unsupported scheme '%.*s' (want http or https)",
		    n > ECHO_MAX ? ECHO_MAX : (int)n, s);
	rest = s + n + 3;
	alen = strcspn(rest, "/?#");
	path = rest + alen;
	plen = strcspn(path, "?#");
	may_echo = strchr(path, '@') == NULL;
	for (p = rest; p < path; p++)
		if (*p == '@')
			at = p;			/* the last '@' ends the userinfo, as in Go */
	auth = rest;
	/* "u:pa@ss/wo@h": a '/' in the password; the "host" and path would hold parts of it. */
	if (at != NULL && !may_echo)
		return reject(reterr, "'@' both in the userinfo and after the host (not shown); "
		    "percent-encode '@', '/', '?' and '#' in the userinfo");
	if (at != NULL) {
		rc = parse_userinfo(rest, (size_t)(at - rest), &u, reterr);
		if (rc < 0)
			goto fail;
		auth = at + 1;
		alen -= (size_t)(auth - rest);
	}
	rc = parse_hostport(auth, alen, may_echo, &u, reterr);
	if (rc < 0)
		goto fail;
	rc = -ENOMEM;
	u.authority = strndup(auth, alen);
	u.base_path = strndup(path, plen);
	u.display = make_display(u.https, auth, alen, path, plen);
	if (u.authority == NULL || u.base_path == NULL || u.display == NULL)
		goto fail;
	*ret = u;
	return 0;
fail:
	remote_url_clear(&u);
	return rc;
}

void
remote_url_clear(struct remote_url *u)
{
	if (u == NULL)
		return;
	free(u->host);
	free(u->authority);
	free(u->base_path);
	free(u->user);
	free(u->password);
	free(u->display);
	memset(u, 0, sizeof(*u));
}

/*
 * Append the elements of src to the rooted path out[0..*w), the way
 * path.Clean does: skip empty and "." elements, ".." drops the last element
 * (and stays at the root).
 */
static void
clean_append(char *out, size_t *w, const char *src)
{
	while (*src != '\0') {
		size_t len = strcspn(src, "/");

		if (len == 2 && src[0] == '.' && src[1] == '.') {
			while (*w > 0 && out[*w - 1] != '/')
				(*w)--;
			if (*w > 0)
				(*w)--;
		} else if (len > 0 && !(len == 1 && src[0] == '.')) {
			out[(*w)++] = '/';
			memcpy(out + *w, src, len);
			*w += len;
		}
		src += len;
		if (*src == '/')
			src++;
	}
}

char *
path_join(const char *base, const char *path)
{
	char *out;
	size_t w = 0;

	if (base == NULL)
		base = "";
	if (path == NULL)
		path = "";
	out = malloc(strlen(base) + strlen(path) + 3);
	if (out == NULL)
		return NULL;
	clean_append(out, &w, base);
	clean_append(out, &w, path);
	if (w == 0)
		out[w++] = '/';
	out[w] = '\0';
	return out;
}
