/* fuzz_proxyenv.c -- fuzz target: NO_PROXY matching and proxy URLs (proxyenv.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: NUL-separated strings: a NO_PROXY list, a host, a port, a proxy URL.
 * Properties:
 * - a list matches a host when one of its entries (cut at commas and
 *   blanks) does, "*" being special only as the whole list;
 * - matching ignores ASCII case, of the list and of the host alike;
 * - a host name or IP address (as the remote parser lets through) is matched
 *   by itself as the list, and by itself with its port;
 * - a parsed proxy URL is consistent: display is "http://" + authority,
 *   authority ends with ":" + port, the port is 1..65535, credentials become
 *   "Basic ..."; a refused one leaves the result untouched and says why;
 * - the userinfo (when long enough to tell) shows neither in the reason nor
 *   in what may be logged.
 */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyenv.h"
#include "strutil.h"

static char *
upper(const char *s)
{
	char *u = strdup(s);

	for (char *p = u; p != NULL && *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

/* What proxyenv_bypass must say: the OR over the entries ("*" only counts as the whole list). */
static bool
bypass_by_entries(const char *list, const char *host, int port)
{
	const char *p = list;
	bool any = false;

	while (*p != '\0') {
		size_t n;
		char *e;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n > 0 && !(n == 1 && p[0] == '*') && (e = strndup(p, n)) != NULL) {
			any = any || proxyenv_bypass(e, host, port);
			free(e);
		}
		p += n;
	}
	return any;
}

/* A host the remote's parser lets through: a reg-name with a letter or digit, or an IP literal. */
static bool
plausible_host(const char *h)
{
	bool alnum = false;

	if (ip_literal_family(h, strlen(h)) != 0)
		return true;
	for (const char *p = h; *p != '\0'; p++) {
		if (isalnum((unsigned char)*p))
			alnum = true;
		else if (strchr(".-_", *p) == NULL)
			return false;
	}
	return alnum;
}

static void
check_bypass(const char *list, const char *host, int port)
{
	bool got = proxyenv_bypass(list, host, port);
	char *ul = upper(list), *uh = upper(host), *entry = NULL;

	/* An entry "*" in a longer list is a host name, which no host the remote parser lets through has. */
	if (strcmp(list, "*") == 0)
		FUZZ_CHECK(got);
	else if (plausible_host(host))
		FUZZ_CHECK(got == bypass_by_entries(list, host, port));
	if (ul != NULL && uh != NULL)
		FUZZ_CHECK(proxyenv_bypass(ul, uh, port) == got);
	free(ul);
	free(uh);
	if (host[0] == '\0' || !plausible_host(host))
		return;
	FUZZ_CHECK(proxyenv_bypass(host, host, port));
	if (port < 1 || port > 65535)
		return;
	if (asprintf(&entry, strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port) < 0)
		return;
	FUZZ_CHECK(proxyenv_bypass(entry, host, port));
	FUZZ_CHECK(!proxyenv_bypass(entry, host, port == 65535 ? 1 : port + 1));
	free(entry);
}

/* The userinfo of a proxy URL as the parser would cut it, when it is long enough and unique. */
static char *
secret_of(const char *v)
{
	const char *sep = strstr(v, "://"), *rest = sep != NULL ? sep + 3 : v, *at = NULL;
	size_t alen = strcspn(rest, "/?#");
	char *ui;

	for (size_t i = 0; i < alen; i++)
		if (rest[i] == '@')
			at = rest + i;
	if (at == NULL || at - rest < 6)
		return NULL;
	ui = strndup(rest, (size_t)(at - rest));
	if (ui != NULL && strstr(strstr(v, ui) + 1, ui) != NULL) {
		free(ui);	/* it is elsewhere too: nothing to tell */
		return NULL;
	}
	return ui;
}

static void
check_parse(const char *v)
{
	struct proxy_config marker = { .port = -7 }, c = marker;
	char *err = NULL, *secret = secret_of(v), port[16];
	int rc = proxyenv_parse(v, &c, &err);
	size_t alen, plen;

	if (rc == 0) {
		FUZZ_CHECK(err == NULL);
		FUZZ_CHECK(c.host != NULL && c.host[0] != '\0');
		FUZZ_CHECK(c.port >= 1 && c.port <= 65535);
		FUZZ_CHECK(c.authority != NULL && strchr(c.authority, '@') == NULL);
		FUZZ_CHECK(c.display != NULL && strncmp(c.display, "http://", 7) == 0 &&
		    strcmp(c.display + 7, c.authority) == 0);
		snprintf(port, sizeof(port), ":%d", c.port);
		alen = strlen(c.authority);
		plen = strlen(port);
		FUZZ_CHECK(alen > plen && strcmp(c.authority + alen - plen, port) == 0);
		FUZZ_CHECK(c.authorization == NULL || strncmp(c.authorization, "Basic ", 6) == 0);
		FUZZ_CHECK(c.password == NULL || c.authorization != NULL);
		FUZZ_CHECK(c.var == NULL && c.no_proxy_var == NULL);
		if (secret != NULL)
			FUZZ_CHECK(strstr(c.display, secret) == NULL);
		proxy_config_clear(&c);
	} else {
		FUZZ_CHECK(rc == -EINVAL);
		FUZZ_CHECK(err != NULL && err[0] != '\0');
		FUZZ_CHECK(memcmp(&c, &marker, sizeof(marker)) == 0);
		if (secret != NULL)
			FUZZ_CHECK(strstr(err, secret) == NULL);
	}
	free(err);
	free(secret);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_strings in;
	long port = 0;

	if (fuzz_split(data, size, 4, &in) < 0)
		return 0;
	for (const char *p = in.s[2]; *p >= '0' && *p <= '9' && port < 100000; p++)
		port = port * 10 + (*p - '0');
	check_bypass(in.s[0], in.s[1], (int)port);
	check_parse(in.s[3]);
	fuzz_strings_free(&in);
	return 0;
}
