/* h1frame.c -- the framing of the requests on one client connection: heads kept until whole, bodies followed to their exact end. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "h1frame.h"

void
h1frame_init(struct h1frame *f, uint64_t max_head, uint64_t max_body)
{
	memset(f, 0, sizeof(*f));
	f->max_head = max_head;
	f->max_body = max_body;
	f->phase = H1F_HEAD;
}

void
h1frame_clear(struct h1frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

static void
refuse(struct h1frame *f, int status, const char *reason)
{
	f->phase = H1F_REFUSED;
	f->status = status;
	f->reason = reason;
	f->events |= H1F_REFUSE;
}

static void
message_done(struct h1frame *f)
{
	f->body = 0;
	f->len = 0;
	f->phase = H1F_HEAD;
	f->events |= H1F_MSG_DONE;
}

/* The head is whole in f->buf[0..len): check it, and follow its body. */
static void
head_done(struct h1frame *f, size_t len)
{
	const char *reason;
	int status = h1_parse_head(f->buf, len, &f->head, &reason);

	if (status != 0) {
		refuse(f, status, reason);
		return;
	}
	if (f->head.has_length && f->head.length > f->max_body) {
		refuse(f, 413, "body larger than PYROSCOPE_MAX_BODY_SIZE");
		return;
	}
	f->head_size = len;
	f->events |= H1F_HEAD_DONE;
	if (f->head.chunked) {
		f->phase = H1F_CHUNK_SIZE;
		f->line_len = 0;
	} else if (f->head.length > 0) {
		f->phase = H1F_LENGTH;
		f->left = f->head.length;
	} else {
		message_done(f);
	}
}

/* Append to f->buf (the head, or a trailer line, being received). -ENOMEM after refusing. */
static int
append(struct h1frame *f, const char *p, size_t n)
{
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 1024;
		char *grown;

		while (cap < f->len + n)
			cap *= 2;
		if ((grown = realloc(f->buf, cap)) == NULL) {
			refuse(f, 500, "out of memory");
			return -ENOMEM;
		}
		f->buf = grown;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	return 0;
}

/* Head bytes: kept until the empty line that ends the head. Returns the bytes of p used. */
static size_t
feed_head(struct h1frame *f, const char *p, size_t n)
{
	size_t before = f->len, from = before > 3 ? before - 3 : 0, take = n, len;
	const char *end;

	if (before + take > f->max_head)
		take = f->max_head - before;
	if (append(f, p, take) < 0)
		return n;
	end = memmem(f->buf + from, f->len - from, "\r\n\r\n", 4);
	if (end == NULL) {
		if (f->len >= f->max_head)
			refuse(f, 400, "request head larger than PYROSCOPE_MAX_HEADER_SIZE");
		return take;
	}
	len = (size_t)(end + 4 - f->buf);
	head_done(f, len);
	f->len = 0;
	return len - before;	/* the rest belongs to the body or the next request */
}

/* More than H1F_LINE_MAX bytes before the line's CRLF (a last CR may be the start of it). */
static bool
line_too_long(const struct h1frame *f)
{
	size_t cr = f->line_len > 0 && f->line[f->line_len - 1] == '\r';

	return f->line_len - cr > H1F_LINE_MAX;
}

/*
 * Bytes up to and with CRLF into f->line; true once the line is whole
 * (without its CRLF in line_len). Stops at the byte that makes it too long,
 * wherever the reads split it.
 */
static bool
feed_line(struct h1frame *f, const char *p, size_t n, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		f->line[f->line_len++] = p[i];
		if (f->line_len >= 2 && f->line[f->line_len - 2] == '\r' && f->line[f->line_len - 1] == '\n') {
			*used = i + 1;
			f->line_len -= 2;
			return true;
		}
		if (line_too_long(f)) {
			*used = i + 1;
			return false;
		}
	}
	*used = n;
	return false;
}

static size_t
feed_chunk_size(struct h1frame *f, const char *p, size_t n)
{
	size_t used;
	uint64_t size;

	if (!feed_line(f, p, n, &used)) {
		if (line_too_long(f))
			refuse(f, 400, "malformed chunk size");
		return used;
	}
	if (h1_parse_chunk_size(f->line, f->line_len, &size) < 0) {
		refuse(f, 400, "malformed chunk size");
		return used;
	}
	if (size > f->max_body - f->body) {
		refuse(f, 413, "body larger than PYROSCOPE_MAX_BODY_SIZE");
		return used;
	}
	f->body += size;
	f->left = size;
	f->line_len = 0;
	f->trailer = 0;
	f->len = 0;
	f->phase = size > 0 ? H1F_CHUNK_DATA : H1F_TRAILER;
	return used;
}

static size_t
feed_chunk_end(struct h1frame *f, const char *p, size_t n)
{
	size_t used = 0;

	while (used < n && f->line_len < 2)
		f->line[f->line_len++] = p[used++];
	if (f->line_len < 2)
		return used;
	if (f->line[0] != '\r' || f->line[1] != '\n') {
		refuse(f, 400, "chunk data not followed by CRLF");
		return used;
	}
	f->line_len = 0;
	f->phase = H1F_CHUNK_SIZE;
	return used;
}

/* Trailer lines: each must be a valid field (they are not forwarded: see clients_head_fields). */
static size_t
feed_trailer(struct h1frame *f, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl != NULL ? (size_t)(nl - p) + 1 : n;

	if (f->trailer + take > f->max_head) {
		/* At the first byte past the limit, wherever the reads split the trailer. */
		refuse(f, 400, "trailer larger than PYROSCOPE_MAX_HEADER_SIZE");
		return (size_t)(f->max_head - f->trailer) + 1;
	}
	if (append(f, p, take) < 0)
		return n;
	f->trailer += take;
	if (nl == NULL)
		return take;
	if (f->len < 2 || f->buf[f->len - 2] != '\r')
		refuse(f, 400, "a bare LF in the trailer");
	else if (f->len == 2)
		message_done(f);
	else if (!h1_field_line_valid(f->buf, f->len - 2))
		refuse(f, 400, "a malformed trailer field");
	f->len = 0;
	return take;
}

static size_t
feed_body(struct h1frame *f, size_t n)
{
	if (n > f->left)
		n = (size_t)f->left;
	f->left -= n;
	f->body_total += n;
	if (f->phase == H1F_LENGTH) {
		f->body += n;
		if (f->left == 0)
			message_done(f);
	} else if (f->left == 0) {
		f->phase = H1F_CHUNK_END;
		f->line_len = 0;
	}
	return n;
}

size_t
h1frame_feed(struct h1frame *f, const char *p, size_t n, unsigned *events)
{
	size_t total = 0;

	f->events = 0;
	while (n > 0 && f->events == 0 && f->phase != H1F_REFUSED) {
		size_t used = 0;

		switch (f->phase) {
		case H1F_HEAD:		used = feed_head(f, p, n); break;
		case H1F_LENGTH:
		case H1F_CHUNK_DATA:	used = feed_body(f, n); break;
		case H1F_CHUNK_SIZE:	used = feed_chunk_size(f, p, n); break;
		case H1F_CHUNK_END:	used = feed_chunk_end(f, p, n); break;
		case H1F_TRAILER:	used = feed_trailer(f, p, n); break;
		case H1F_REFUSED:	used = n; break;
		}
		total += used;
		p += used;
		n -= used;
	}
	*events = f->events;
	return total;
}
