/* fuzz_hdr.c -- fuzz target: header name/value rules and list handling (hdr.c, request.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: NUL-separated strings: a header name, a value, a Connection-style
 * list. Properties:
 * - hdr_value_valid refuses exactly the control characters but HTAB, and DEL;
 * - hdr_name_valid accepts exactly the non-empty RFC 9110 tokens, and a
 *   valid name is a valid value;
 * - the name lists (hop-by-hop, relay-owned, secret) ignore letter case,
 *   and every hop-by-hop name is relay-owned;
 * - hdr_list_names agrees with a plain split of the list on ',' with
 *   blanks trimmed, and finds a token wherever it is put in a list;
 * - the request helpers set a header only when it is valid and not the
 *   relay's, keep one value per name whatever its case, and copy a client's
 *   header unless the relay owns it.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/keyvalq_struct.h>

#include "fuzz.h"
#include "hdr.h"
#include "request.h"

static bool
ref_value_valid(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

static bool
ref_name_valid(const char *n)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	return n[0] != '\0' && strspn(n, tchar) == strlen(n);
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char
to_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Case-insensitive equality of a[0..n) and b. */
static bool
ref_case_equal(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (to_lower(a[i]) != to_lower(b[i]))
			return false;
	return true;
}

/* The list split on ',' with SP and HTAB trimmed: does an element equal name? */
static bool
ref_list_names(const char *list, const char *name)
{
	const char *p = list;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *a = p, *b = p + len;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a && ref_case_equal(a, (size_t)(b - a), name))
			return true;
		if (end == NULL)
			return false;
		p = end + 1;
	}
}

static size_t
count_headers(const struct relay_req *rr, const char *name)
{
	const struct evkeyval *h;
	size_t n = 0;

	TAILQ_FOREACH(h, &rr->headers, next)
		n += ref_case_equal(h->key, strlen(h->key), name);
	return n;
}

/* A valid value with any control character put in the middle is refused. */
static void
check_controls(const char *value)
{
	size_t len = strlen(value), mid = len / 2;
	char *v;

	if (!hdr_value_valid(value) || (v = malloc(len + 2)) == NULL)
		return;
	memcpy(v, value, mid);
	memcpy(v + mid + 1, value + mid, len - mid + 1);
	for (int c = 1; c < 0x80; c++) {
		v[mid] = (char)c;
		FUZZ_CHECK(hdr_value_valid(v) == (c == '\t' || (c >= 0x20 && c != 0x7f)));
	}
	free(v);
}

static void
check_cases(const char *name)
{
	size_t len = strlen(name);
	char *lo = malloc(len + 1), *up = malloc(len + 1);

	if (lo != NULL && up != NULL) {
		for (size_t i = 0; i <= len; i++) {
			lo[i] = to_lower(name[i]);
			up[i] = to_upper(name[i]);
		}
		FUZZ_CHECK(hdr_is_hop_by_hop(lo) == hdr_is_hop_by_hop(up));
		FUZZ_CHECK(hdr_is_hop_by_hop(name) == hdr_is_hop_by_hop(up));
		FUZZ_CHECK(hdr_is_relay_owned(name) == hdr_is_relay_owned(lo));
		FUZZ_CHECK(hdr_is_secret(name) == hdr_is_secret(up));
		FUZZ_CHECK(!hdr_is_hop_by_hop(name) || hdr_is_relay_owned(name));
		FUZZ_CHECK(!(hdr_is_hop_by_hop(name) || hdr_is_secret(name)) || hdr_name_valid(name));
	}
	free(lo);
	free(up);
}

static void
check_lists(const char *name, const char *list)
{
	static const char *const wraps[][2] = {
		{ "", "" }, { " \t", "\t " }, { "a, ", ",b" }, { ",,", ",," }, { "x,\t", "" },
	};
	size_t len = strlen(name);
	bool plain = len > 0 && strchr(name, ',') == NULL && name[0] != ' ' && name[0] != '\t' &&
	    name[len - 1] != ' ' && name[len - 1] != '\t';

	FUZZ_CHECK(hdr_list_names(list, name) == ref_list_names(list, name));
	for (size_t i = 0; plain && i < sizeof(wraps) / sizeof(wraps[0]); i++) {
		size_t size = strlen(wraps[i][0]) + len + strlen(wraps[i][1]) + 1;
		char *l = malloc(size);

		if (l == NULL)
			return;
		memcpy(l, wraps[i][0], strlen(wraps[i][0]));
		memcpy(l + strlen(wraps[i][0]), name, len);
		memcpy(l + strlen(wraps[i][0]) + len, wraps[i][1], strlen(wraps[i][1]) + 1);
		FUZZ_CHECK(hdr_list_names(l, name));
		free(l);
	}
}

static void
check_request(const char *name, const char *value)
{
	bool settable = ref_name_valid(name) && !hdr_is_relay_owned(name) && ref_value_valid(value);
	struct relay_req *rr = relay_req_new(1, EVHTTP_REQ_POST);
	size_t len = strlen(name);
	char *up;
	int rc;

	if (rr == NULL)
		return;
	rc = relay_req_copy_client_header(rr, name, value);
	if (!ref_name_valid(name) || !ref_value_valid(value)) {
		FUZZ_CHECK(rc == -EINVAL && TAILQ_EMPTY(&rr->headers));
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(count_headers(rr, name) == (hdr_is_relay_owned(name) ? 0 : 1));
	}
	rc = relay_req_set_header(rr, name, value);
	FUZZ_CHECK((rc == -EINVAL) == !settable);
	if (rc == 0) {
		FUZZ_CHECK(count_headers(rr, name) == 1);
		FUZZ_CHECK(strcmp(relay_req_header(rr, name), value) == 0);
		up = malloc(len + 1);
		if (up != NULL) {
			for (size_t i = 0; i <= len; i++)
				up[i] = to_upper(name[i]);
			if (relay_req_set_header(rr, up, "second") == 0)
				FUZZ_CHECK(count_headers(rr, name) == 1 &&
				    strcmp(relay_req_header(rr, name), "second") == 0);
			relay_req_unset_header(rr, name);
			FUZZ_CHECK(count_headers(rr, name) == 0);
			free(up);
		}
	}
	relay_req_free(rr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_strings in;

	if (fuzz_split(data, size, 3, &in) < 0)
		return 0;
	/* Each string in turn as a value and as a name. */
	for (size_t i = 0; i < 3; i++) {
		FUZZ_CHECK(hdr_value_valid(in.s[i]) == ref_value_valid(in.s[i]));
		FUZZ_CHECK(hdr_name_valid(in.s[i]) == ref_name_valid(in.s[i]));
		FUZZ_CHECK(!hdr_name_valid(in.s[i]) || hdr_value_valid(in.s[i]));
		check_cases(in.s[i]);
	}
	check_controls(in.s[1]);
	check_lists(in.s[0], in.s[2]);
	check_lists(in.s[1], in.s[2]);
	check_request(in.s[0], in.s[1]);
	fuzz_strings_free(&in);
	return 0;
}
