/* hdr.c -- HTTP header name/value rules: validation, hop-by-hop names, secrets. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "hdr.h"
#include "strutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Names a relay never forwards (RFC 9110 7.6.1 plus the usual proxy extras). */
static const char *const hop_by_hop[] = {
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Trailers", "Transfer-Encoding",
	"Upgrade", "Expect",
};

/* Set by the relay itself, beyond the hop-by-hop names. */
static const char *const relay_owned[] = {
	"Host", "Content-Length",
};

/* Values never to be logged. */
static const char *const secrets[] = {
	"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"X-Amz-Security-Token", "X-Api-Key",
};

static bool
name_equal(const char *a, const char *b)
{
	return ascii_case_equal(a, strlen(a), b);
}

static bool
in_list(const char *name, const char *const *list, size_t n)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (name_equal(name, list[i]))
			return true;
	return false;
}

/* RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool
hdr_name_valid(const char *name)
{
	const unsigned char *p;

	if (name == NULL || *name == '\0')
		return false;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (!is_tchar(*p))
			return false;
	return true;
}

/* Any byte but the controls (except HTAB) and DEL; obs-text (>= 0x80) is allowed. */
bool
hdr_value_valid(const char *value)
{
	const unsigned char *p;

	if (value == NULL)
		return false;
	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

bool
hdr_is_hop_by_hop(const char *name)
{
	return in_list(name, hop_by_hop, NELEM(hop_by_hop));
}

bool
hdr_list_names(const char *list, const char *name)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t len, end;

		p += strspn(p, " \t,");
		len = strcspn(p, ",");
		for (end = len; end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'); end--)
			;
		if (end > 0 && ascii_case_equal(p, end, name))
			return true;
		p += len;
	}
	return false;
}

bool
hdr_is_relay_owned(const char *name)
{
	return hdr_is_hop_by_hop(name) || in_list(name, relay_owned, NELEM(relay_owned));
}

bool
hdr_is_secret(const char *name)
{
	return in_list(name, secrets, NELEM(secrets));
}
