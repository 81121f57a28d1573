/* h1parse.h -- strict HTTP/1.1 request framing rules: request heads and chunk-size lines, as the relay receives them. */
#ifndef RELAY_H1PARSE_H
#define RELAY_H1PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * These rules decide where each request ends before evhttp sees a byte of
 * it, so that nothing a client hides in a body can become a request of its
 * own upstream (request smuggling). Anything two HTTP parsers could read
 * differently is refused: a relay cannot know how the servers behind it read.
 */

/* What framing a valid request head announces. */
struct h1_head {
	bool		 body_allowed;	/* evhttp reads a body for this method */
	bool		 chunked;	/* Transfer-Encoding: chunked */
	bool		 has_length;	/* Content-Length given */
	uint64_t	 length;	/* its value */
	int		 minor;		/* HTTP/1.<minor> */
	size_t		 nfields;	/* header lines */
};

/*
 * Check one complete request head: the request line, the header lines and
 * the empty line that ends it, every line ended by CRLF; `len` bytes, no
 * more. Returns 0 and fills *ret, or the status to refuse the request with:
 * 400 malformed or an unknown method; 501 TRACE, CONNECT, or a transfer
 * coding other than chunked; 505 an HTTP version other than 1.0 and 1.1;
 * with *reason (static text) saying why.
 */
int	h1_parse_head(const char *head, size_t len, struct h1_head *ret, const char **reason);
/*
 * A chunk-size line without its CRLF: one or more hexadecimal digits and
 * nothing else (no sign, no "0x", no white space, no chunk extension).
 * 0, -EINVAL, or -ERANGE (larger than 2^60).
 */
int	h1_parse_chunk_size(const char *line, size_t len, uint64_t *ret);
/* A trailer or header field line without its CRLF: name ':' value, with the rules of the head's fields. */
bool	h1_field_line_valid(const char *line, size_t len);
/* The reason phrase the relay uses for a status it answers itself. */
const char *h1_reason_phrase(int status);

#endif
