/* fuzz_remote.c -- fuzz target: the remote address (remote.c): URL parsing and path joining. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: NUL-separated strings: the address, a request path, a base path.
 * Properties:
 * - a parsed address is consistent: display is scheme://authority + path,
 *   without userinfo; the port is 1..65535 (80/443 by default); the display
 *   parses again to the same host, port and path;
 * - a refused address leaves the result untouched and says why;
 * - the userinfo shows nowhere: replacing it by another of the same
 *   validity gives the same verdict, the same message and the same result;
 * - path_join gives a clean rooted path (no empty, "." or ".." element, no
 *   trailing slash) that joins to itself again.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "remote.h"

struct verdict {
	int			 rc;
	char			*err;
	struct remote_url	 u;
};

static void
parse(const char *s, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->rc = remote_url_parse(s, &v->u, &v->err);
}

static void
verdict_clear(struct verdict *v)
{
	free(v->err);
	remote_url_clear(&v->u);
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_parsed(const char *s, const struct remote_url *u)
{
	const char *scheme = u->https ? "https://" : "http://";
	size_t slen = strlen(scheme), alen;
	struct remote_url again = { 0 };
	char *err = NULL;

	FUZZ_CHECK(strncasecmp(s, scheme, slen - 3) == 0);
	FUZZ_CHECK(u->host != NULL && u->host[0] != '\0');
	FUZZ_CHECK(u->port >= 1 && u->port <= 65535);
	FUZZ_CHECK(u->authority != NULL && u->authority[0] != '\0' && strchr(u->authority, '@') == NULL);
	FUZZ_CHECK(u->base_path != NULL && strpbrk(u->base_path, "?#") == NULL);
	FUZZ_CHECK(u->base_path[0] == '\0' || u->base_path[0] == '/');
	FUZZ_CHECK(u->password == NULL || u->user != NULL);
	alen = strlen(u->authority);
	FUZZ_CHECK(u->display != NULL && strncmp(u->display, scheme, slen) == 0 &&
	    strncmp(u->display + slen, u->authority, alen) == 0 &&
	    strcmp(u->display + slen + alen, u->base_path) == 0);
	if (strchr(u->authority, ':') == NULL || u->authority[alen - 1] == ']')
		FUZZ_CHECK(u->port == (u->https ? 443 : 80));
	/* What is logged is an address that means the same, without credentials. */
	FUZZ_CHECK(remote_url_parse(u->display, &again, &err) == 0);
	FUZZ_CHECK(strcmp(again.host, u->host) == 0 && again.port == u->port &&
	    again.https == u->https && strcmp(again.base_path, u->base_path) == 0 &&
	    again.user == NULL && again.password == NULL);
	remote_url_clear(&again);
	free(err);
}

/* The userinfo of s as the parser finds it (before the last '@' of the authority): offset and length. */
static bool
find_userinfo(const char *s, size_t *ret_off, size_t *ret_len)
{
	const char *sep = strstr(s, "://"), *rest, *at = NULL;
	size_t alen;

	if (sep == NULL)
		return false;
	rest = sep + 3;
	alen = strcspn(rest, "/?#");
	for (size_t i = 0; i < alen; i++)
		if (rest[i] == '@')
			at = rest + i;
	if (at == NULL)
		return false;
	*ret_off = (size_t)(rest - s);
	*ret_len = (size_t)(at - rest);
	return true;
}

/* The verdict on a userinfo alone, as "http://<ui>@h" gets it. */
static void
userinfo_class(const char *ui, size_t len, struct verdict *v)
{
	char *url = malloc(len + 10);

	memset(v, 0, sizeof(*v));
	if (url == NULL)
		return;
	memcpy(url, "http://", 7);
	memcpy(url + 7, ui, len);
	memcpy(url + 7 + len, "@h", 3);
	parse(url, v);
	free(url);
}

static void
check_userinfo_hidden(const char *s, const struct verdict *orig)
{
	static const char *const stand_ins[] = { "u:p", "u", "u\"p", "u%zz", "u p" };
	struct verdict cls, alt, other;
	const char *rep = NULL;
	size_t off, len, rlen, slen = strlen(s);
	char *variant;

	if (!find_userinfo(s, &off, &len))
		return;
	userinfo_class(s + off, len, &cls);
	for (size_t i = 0; rep == NULL && i < sizeof(stand_ins) / sizeof(stand_ins[0]); i++) {
		userinfo_class(stand_ins[i], strlen(stand_ins[i]), &alt);
		if (alt.rc == cls.rc && same_str(alt.err, cls.err) &&
		    (alt.u.password == NULL) == (cls.u.password == NULL))
			rep = stand_ins[i];
		verdict_clear(&alt);
	}
	verdict_clear(&cls);
	if (rep == NULL)
		return;
	rlen = strlen(rep);
	variant = malloc(slen - len + rlen + 1);
	if (variant == NULL)
		return;
	memcpy(variant, s, off);
	memcpy(variant + off, rep, rlen);
	memcpy(variant + off + rlen, s + off + len, slen - off - len + 1);
	parse(variant, &other);
	FUZZ_CHECK(other.rc == orig->rc);
	FUZZ_CHECK(same_str(other.err, orig->err));
	if (orig->rc == 0) {
		FUZZ_CHECK(same_str(other.u.host, orig->u.host) && other.u.port == orig->u.port &&
		    same_str(other.u.authority, orig->u.authority) &&
		    same_str(other.u.base_path, orig->u.base_path) &&
		    same_str(other.u.display, orig->u.display));
	}
	verdict_clear(&other);
	free(variant);
}

static void
check_join(const char *base, const char *path)
{
	char *j = path_join(base, path), *again;
	size_t len;

	if (j == NULL)
		return;
	len = strlen(j);
	FUZZ_CHECK(j[0] == '/');
	FUZZ_CHECK(len == 1 || j[len - 1] != '/');
	FUZZ_CHECK(strstr(j, "//") == NULL);
	FUZZ_CHECK(strstr(j, "/./") == NULL && strstr(j, "/../") == NULL);
	FUZZ_CHECK(!(len >= 2 && strcmp(j + len - 2, "/.") == 0));
	FUZZ_CHECK(!(len >= 3 && strcmp(j + len - 3, "/..") == 0));
	FUZZ_CHECK(len <= strlen(base) + strlen(path) + 2);
	again = path_join(j, "");
	FUZZ_CHECK(again == NULL || strcmp(again, j) == 0);
	free(again);
	again = path_join("", j);
	FUZZ_CHECK(again == NULL || strcmp(again, j) == 0);
	free(again);
	free(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_strings in;
	struct remote_url marker = { .port = -7 };
	struct verdict v;

	if (fuzz_split(data, size, 3, &in) < 0)
		return 0;
	parse(in.s[0], &v);
	if (v.rc == 0) {
		FUZZ_CHECK(v.err == NULL);
		check_parsed(in.s[0], &v.u);
		check_join(v.u.base_path, in.s[1]);
	} else {
		struct remote_url untouched = marker;
		char *err = NULL;

		FUZZ_CHECK(v.rc == -EINVAL);
		FUZZ_CHECK(v.err != NULL && v.err[0] != '\0');
		FUZZ_CHECK(remote_url_parse(in.s[0], &untouched, &err) == v.rc);
		FUZZ_CHECK(memcmp(&untouched, &marker, sizeof(marker)) == 0);
		free(err);
	}
	check_userinfo_hidden(in.s[0], &v);
	verdict_clear(&v);
	check_join(in.s[2], in.s[1]);
	fuzz_strings_free(&in);
	return 0;
}
