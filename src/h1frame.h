/* h1frame.h -- where each request on one client connection ends: its head, then its body, followed as bytes arrive. */
#ifndef RELAY_H1FRAME_H
#define RELAY_H1FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "h1parse.h"

#define H1F_LINE_MAX	64	/* a chunk-size line */

enum h1f_phase {
	H1F_HEAD,	/* a request head */
	H1F_LENGTH,	/* a Content-Length body */
	H1F_CHUNK_SIZE,	/* a chunk-size line */
	H1F_CHUNK_DATA,	/* chunk data */
	H1F_CHUNK_END,	/* the CRLF after chunk data */
	H1F_TRAILER,	/* trailer lines after the last chunk, up to the empty line */
	H1F_REFUSED	/* a rule was broken: nothing more is followed */
};

/* What h1frame_feed() stopped at; more than one may be set. */
#define H1F_HEAD_DONE	0x1u	/* a head is whole: `head` and `head_size` describe it */
#define H1F_MSG_DONE	0x2u	/* the request is whole, body included */
#define H1F_REFUSE	0x4u	/* `status` and `reason` say why; the phase is H1F_REFUSED */

/*
 * The fields are read-only outside h1frame.c. Bytes are followed, never
 * kept, except a head (and each trailer line) while it is incomplete.
 */
struct h1frame {
	uint64_t	 max_head;	/* a head, and the trailer, at most */
	uint64_t	 max_body;	/* a body at most */
	enum h1f_phase	 phase;
	char		*buf;		/* owned: the head, or a trailer line, being received */
	size_t		 len;
	size_t		 cap;
	char		 line[H1F_LINE_MAX + 2];	/* a chunk-size line, or the CRLF after data */
	size_t		 line_len;
	size_t		 trailer;	/* trailer bytes so far */
	uint64_t	 left;		/* body or chunk bytes to come */
	uint64_t	 body;		/* body bytes of this request announced so far */
	uint64_t	 body_total;	/* body bytes followed, every request together */
	struct h1_head	 head;		/* the last whole head */
	size_t		 head_size;	/* its length in bytes */
	int		 status;	/* the refusal: 400, 413, 500, 501, 505 */
	const char	*reason;	/* static text */
	unsigned	 events;
};

void	h1frame_init(struct h1frame *f, uint64_t max_head, uint64_t max_body);
/* Free what the framing holds; f may be initialised again. */
void	h1frame_clear(struct h1frame *f);
/*
 * Follow p[0..n) until the first event or the end of the bytes: returns the
 * bytes used and sets *events (0 when every byte was used without one). A
 * head is checked whole by h1_parse_head(); a declared length over max_body
 * and a chunked body growing past it are refused with 413.
 */
size_t	h1frame_feed(struct h1frame *f, const char *p, size_t n, unsigned *events);

#endif
