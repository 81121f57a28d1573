/* h1parse.c -- strict HTTP/1.1 request framing rules: request heads and chunk-size lines, as the relay receives them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include "h1parse.h"
#include "strutil.h"

#define METHOD_MAX	16
#define LENGTH_MAX	(1ULL << 62)	/* larger Content-Length values are refused */
#define CHUNK_MAX	(1ULL << 60)
#define CHUNK_DIGITS	16

struct line {
	const char	*p;
	size_t		 len;
};

/* The methods the relay serves, and whether evhttp reads a body for them. */
static const struct {
	const char	*name;
	bool		 body;
} methods[] = {
	{ "GET", true }, { "POST", true }, { "PUT", true }, { "PATCH", true },
	{ "DELETE", true }, { "OPTIONS", true }, { "HEAD", false },
};

/* RFC 9110 tchar, by table: the head of every request goes through it. */
static bool
is_tchar(unsigned char c)
{
	static const unsigned char punct[16] = {
		/* a bit per byte value, c >> 3 picks the byte: ! # $ % & ' * + - . ^ _ ` | ~ */
		0x00, 0x00, 0x00, 0x00, 0xfa, 0x6c, 0x00, 0x00,
		0x00, 0x00, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x50,
	};

	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c < 0x80 && (punct[c >> 3] >> (c & 7) & 1);
}

/* A byte of a field value: VCHAR, obs-text, SP or HTAB; never NUL, CR, LF, DEL or another control. */
static bool
is_value_byte(unsigned char c)
{
	return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
}

/* The line at *pos, ended by CRLF; a CR or LF anywhere else is refused. -1 when malformed. */
static int
next_line(const char *s, size_t len, size_t *pos, struct line *ret)
{
	for (size_t i = *pos; i < len; i++) {
		if (s[i] == '\n')
			return -1;
		if (s[i] == '\r') {
			if (i + 1 >= len || s[i + 1] != '\n')
				return -1;
			ret->p = s + *pos;
			ret->len = i - *pos;
			*pos = i + 2;
			return 0;
		}
	}
	return -1;
}

static int
refuse(int status, const char *why, const char **reason)
{
	*reason = why;
	return status;
}

/* method SP request-target SP HTTP-version */
static int
request_line(const struct line *l, struct h1_head *h, const char **reason)
{
	const char *p = l->p, *end = l->p + l->len;
	size_t n = 0;
	bool known = false;

	while (p + n < end && is_tchar((unsigned char)p[n]))
		n++;
	if (n == 0 || n > METHOD_MAX || p + n >= end || p[n] != ' ')
		return refuse(400, "malformed request line", reason);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == n && memcmp(methods[i].name, p, n) == 0) {
			known = true;
			h->body_allowed = methods[i].body;
		}
	if (!known && ((n == 5 && memcmp(p, "TRACE", 5) == 0) || (n == 7 && memcmp(p, "CONNECT", 7) == 0)))
		return refuse(501, "method not implemented", reason);
	if (!known)
		return refuse(400, "unknown method", reason);
	p += n + 1;
	for (n = 0; p + n < end && p[n] != ' '; n++)
		if ((unsigned char)p[n] <= 0x20 || p[n] == 0x7f)
			return refuse(400, "a control character in the request target", reason);
	if (n == 0 || p + n >= end)
		return refuse(400, "malformed request line", reason);
	p += n + 1;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
	    p[7] < '0' || p[7] > '9')
		return refuse(400, "malformed HTTP version", reason);
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return refuse(505, "HTTP version not supported", reason);
	h->minor = p[7] - '0';
	return 0;
}

/* name ":" OWS value OWS; the name and the value point into the line. */
static bool
split_field(const struct line *l, struct line *name, struct line *value)
{
	const char *p = l->p, *end = l->p + l->len, *v;
	size_t n = 0;

	while (p + n < end && is_tchar((unsigned char)p[n]))
		n++;
	if (n == 0 || p + n >= end || p[n] != ':')
		return false;
	*name = (struct line){ p, n };
	for (v = p + n + 1; v < end; v++)
		if (!is_value_byte((unsigned char)*v))
			return false;
	v = p + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = (struct line){ v, (size_t)(end - v) };
	return true;
}

bool
h1_field_line_valid(const char *line, size_t len)
{
	struct line l = { line, len }, name, value;

	return len > 0 && line[0] != ' ' && line[0] != '\t' && split_field(&l, &name, &value);
}

static int
content_length(const struct line *v, struct h1_head *h, const char **reason)
{
	uint64_t n = 0;

	if (v->len == 0 || v->len > 19)
		return refuse(400, "invalid Content-Length", reason);
	for (size_t i = 0; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9')
			return refuse(400, "invalid Content-Length", reason);
		n = n * 10 + (uint64_t)(v->p[i] - '0');
	}
	if (n > LENGTH_MAX)
		return refuse(400, "invalid Content-Length", reason);
	if (h->has_length && h->length != n)
		return refuse(400, "conflicting Content-Length values", reason);
	h->has_length = true;
	h->length = n;
	return 0;
}

/* Only "chunked", alone: any other coding is not implemented, and a list is ambiguous. */
static int
transfer_encoding(const struct line *v, struct h1_head *h, bool *seen, const char **reason)
{
	const char *p = v->p, *end = v->p + v->len;

	if (*seen)
		return refuse(400, "more than one Transfer-Encoding field", reason);
	*seen = true;
	while (p <= end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		const char *e = c != NULL ? c : end, *s = p;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s == e)
			return refuse(400, "an empty transfer coding", reason);
		if (!ascii_case_equal(s, (size_t)(e - s), "chunked"))
			return refuse(501, "transfer coding not implemented", reason);
		if (h->chunked)
			return refuse(400, "chunked applied twice", reason);
		h->chunked = true;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return 0;
}

int
h1_parse_head(const char *head, size_t len, struct h1_head *ret, const char **reason)
{
	struct h1_head h = { 0 };
	struct line l, name, value;
	size_t pos = 0;
	int hosts = 0, rc;
	bool te_seen = false;

	*reason = NULL;
	if (next_line(head, len, &pos, &l) < 0)
		return refuse(400, "malformed request line", reason);
	if ((rc = request_line(&l, &h, reason)) != 0)
		return rc;
	for (;;) {
		if (next_line(head, len, &pos, &l) < 0)
			return refuse(400, "a bare CR or LF, or no end of the head", reason);
		if (l.len == 0)
			break;
		if (l.p[0] == ' ' || l.p[0] == '\t')
			return refuse(400, "obsolete line folding", reason);
		if (!split_field(&l, &name, &value))
			return refuse(400, "a malformed header field", reason);
		h.nfields++;
		if (ascii_case_equal(name.p, name.len, "content-length"))
			rc = content_length(&value, &h, reason);
		else if (ascii_case_equal(name.p, name.len, "transfer-encoding"))
			rc = transfer_encoding(&value, &h, &te_seen, reason);
		else if (ascii_case_equal(name.p, name.len, "host") && ++hosts > 1)
			rc = refuse(400, "more than one Host field", reason);
		if (rc != 0)
			return rc;
	}
	if (pos != len)
		return refuse(400, "bytes after the end of the head", reason);
	if (h.chunked && h.has_length)
		return refuse(400, "both Transfer-Encoding and Content-Length", reason);
	if (h.chunked && h.minor == 0)
		return refuse(400, "Transfer-Encoding in an HTTP/1.0 request", reason);
	if (!h.body_allowed && (h.chunked || h.length > 0))
		return refuse(400, "a body on a method that has none", reason);
	*ret = h;
	return 0;
}

int
h1_parse_chunk_size(const char *line, size_t len, uint64_t *ret)
{
	uint64_t n = 0;

	if (len == 0 || len > CHUNK_DIGITS)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int d = hex_value(line[i]);

		if (d < 0)
			return -EINVAL;
		n = n * 16 + (uint64_t)d;
	}
	if (n > CHUNK_MAX)
		return -ERANGE;
	*ret = n;
	return 0;
}

const char *
h1_reason_phrase(int status)
{
	switch (status) {
	case 400:	return "Bad Request";
	case 408:	return "Request Time-out";
	case 413:	return "Request Entity Too Large";
	case 500:	return "Internal Server Error";
	case 501:	return "Not Implemented";
	case 503:	return "Service Unavailable";
	case 505:	return "HTTP Version not supported";
	}
	return "Error";
}
