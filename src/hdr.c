/* hdr.c -- HTTP header name/value rules: validation, hop-by-hop names, secrets. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "strutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A name and its length, so that a lookup compares only names of the right length. */
struct name {
	const char	*s;
	size_t		 len;
};
#define NAME(lit)	{ lit, sizeof(lit) - 1 }

/* Names a relay never forwards (RFC 9110 7.6.1 plus the usual proxy extras). */
static const struct name hop_by_hop[] = {
	NAME("Connection"), NAME("Keep-Alive"), NAME("Proxy-Connection"), NAME("Proxy-Authenticate"),
	NAME("Proxy-Authorization"), NAME("TE"), NAME("Trailer"), NAME("Trailers"), NAME("Transfer-Encoding"),
	NAME("Upgrade"), NAME("Expect"),
};

/* Set by the relay itself, beyond the hop-by-hop names. */
static const struct name relay_owned[] = {
	NAME("Host"), NAME("Content-Length"),
};

/* Values never to be logged. */
static const struct name secrets[] = {
	NAME("Authorization"), NAME("Proxy-Authorization"), NAME("Cookie"), NAME("Set-Cookie"),
	NAME("X-Amz-Security-Token"), NAME("X-Api-Key"),
};

static bool
in_list(const char *name, const struct name *list, size_t n)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (list[i].len == len && ascii_case_equal(name, len, list[i].s))
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

/* The next element of a comma-separated list at *p, trimmed; false at the end. */
static bool
next_token(const char **p, const char **ret, size_t *ret_len)
{
	while (**p != '\0') {
		size_t len, end;

		*p += strspn(*p, " \t,");
		len = strcspn(*p, ",");
		for (end = len; end > 0 && ((*p)[end - 1] == ' ' || (*p)[end - 1] == '\t'); end--)
			;
		*ret = *p;
		*ret_len = end;
		*p += len;
		if (end > 0)
			return true;
	}
	return false;
}

bool
hdr_list_names(const char *list, const char *name)
{
	const char *tok;
	size_t len;

	while (list != NULL && next_token(&list, &tok, &len))
		if (ascii_case_equal(tok, len, name))
			return true;
	return false;
}

static int
token_cmp(const void *a, const void *b)
{
	const struct hdr_token *x = a, *y = b;

	return ascii_case_compare(x->p, x->len, y->p, y->len);
}

int
hdr_names_add(struct hdr_names *set, const char *list)
{
	const char *tok;
	size_t len;

	while (next_token(&list, &tok, &len)) {
		if (set->n == set->cap) {
			size_t cap = set->cap ? set->cap * 2 : 8;
			struct hdr_token *grown = realloc(set->v, cap * sizeof(*grown));

			if (grown == NULL)
				return -ENOMEM;
			set->v = grown;
			set->cap = cap;
		}
		set->v[set->n++] = (struct hdr_token){ tok, len };
	}
	set->sorted = false;
	return 0;
}

bool
hdr_names_has(struct hdr_names *set, const char *name)
{
	struct hdr_token key = { name, strlen(name) };

	if (set->n == 0)
		return false;
	if (!set->sorted) {
		qsort(set->v, set->n, sizeof(*set->v), token_cmp);
		set->sorted = true;
	}
	return bsearch(&key, set->v, set->n, sizeof(*set->v), token_cmp) != NULL;
}

void
hdr_names_clear(struct hdr_names *set)
{
	free(set->v);
	memset(set, 0, sizeof(*set));
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
