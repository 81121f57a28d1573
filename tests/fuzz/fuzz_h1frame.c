/* fuzz_h1frame.c -- fuzz target: a connection's bytes through the request framing (h1frame.c), whole and split. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: one byte choosing how the reads are cut, then what a client sends
 * on one connection. Properties:
 * - the framing is the same whatever the reads' sizes: the same events
 *   after the same bytes, the same refusal, the same body bytes followed
 *   (whole, one byte at a time, and in pieces of the chosen sizes);
 * - h1frame_feed() uses no byte beyond what it was given, and stops at each
 *   event: a call that uses fewer bytes than given reports one;
 * - every whole head is one h1_parse_head() accepts, of at most max_head
 *   bytes, announcing a body no larger than max_body; a request's body
 *   ends before the next head; nothing follows a refusal.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "h1frame.h"

#define MAX_HEAD	512
#define MAX_BODY	300
#define MAX_EVENTS	256

struct event_at {
	size_t		 at;	/* bytes used when it happened */
	unsigned	 ev;
	int		 status;
};

struct run {
	struct event_at	 e[MAX_EVENTS];
	size_t		 n;
	uint64_t	 body_total;
	enum h1f_phase	 phase;
};

/* Feed in[0..len), cut by sizes[] in turn (0: whole). */
static void
run(const char *in, size_t len, const uint8_t *sizes, size_t nsizes, struct run *r)
{
	struct h1frame f;
	size_t at = 0, k = 0;
	bool in_request = false;	/* a head is done, its request is not */

	memset(r, 0, sizeof(*r));
	h1frame_init(&f, MAX_HEAD, MAX_BODY);
	while (at < len && f.phase != H1F_REFUSED && r->n < MAX_EVENTS) {
		size_t piece = nsizes == 0 ? len - at : sizes[k++ % nsizes];
		size_t done = 0;

		if (piece == 0 || piece > len - at)
			piece = len - at;
		while (done < piece && f.phase != H1F_REFUSED && r->n < MAX_EVENTS) {
			unsigned ev;
			size_t used = h1frame_feed(&f, in + at + done, piece - done, &ev);

			FUZZ_CHECK(used <= piece - done);
			FUZZ_CHECK(ev != 0 || used == piece - done || f.phase == H1F_REFUSED);
			done += used;
			if (ev & H1F_HEAD_DONE) {
				const char *reason;
				struct h1_head h;

				/* The head is the bytes just used: it parses, within the limits. */
				FUZZ_CHECK(f.head_size <= MAX_HEAD && f.head_size <= at + done);
				FUZZ_CHECK(h1_parse_head(in + at + done - f.head_size, f.head_size, &h, &reason) == 0);
				FUZZ_CHECK(h.length == f.head.length && h.chunked == f.head.chunked);
				FUZZ_CHECK(f.head.length <= MAX_BODY);
				FUZZ_CHECK(!(f.head.chunked && f.head.has_length));
				/* The request before it had ended. */
				FUZZ_CHECK(!in_request);
				in_request = true;
			}
			if (ev & H1F_MSG_DONE) {
				FUZZ_CHECK(in_request);
				in_request = false;
			}
			if (ev != 0) {
				r->e[r->n].at = at + done;
				r->e[r->n].ev = ev;
				r->e[r->n].status = (ev & H1F_REFUSE) ? f.status : 0;
				r->n++;
			}
			if (ev & H1F_REFUSE)
				FUZZ_CHECK(f.status >= 400 && f.status <= 505 && f.reason != NULL);
		}
		at += done;
	}
	if (f.phase == H1F_REFUSED) {
		unsigned ev;

		FUZZ_CHECK(h1frame_feed(&f, "GET / HTTP/1.1\r\n\r\n", 18, &ev) == 0 && ev == 0);
	}
	r->body_total = f.body_total;
	r->phase = f.phase;
	h1frame_clear(&f);
}

static void
same(const struct run *a, const struct run *b)
{
	FUZZ_CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		FUZZ_CHECK(a->e[i].at == b->e[i].at);
		FUZZ_CHECK(a->e[i].ev == b->e[i].ev);
		FUZZ_CHECK(a->e[i].status == b->e[i].status);
	}
	FUZZ_CHECK(a->body_total == b->body_total);
	FUZZ_CHECK(a->phase == b->phase);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, bytes, cut;
	static const uint8_t one = 1;
	uint8_t sizes[3];

	if (size < 1 || size > 4096)
		return 0;
	sizes[0] = (uint8_t)(1 + data[0] % 13);
	sizes[1] = (uint8_t)(1 + data[0] / 13 % 7);
	sizes[2] = (uint8_t)(data[0] >> 5);	/* 0: the rest at once */
	data++;
	size--;
	run((const char *)data, size, NULL, 0, &whole);
	run((const char *)data, size, &one, 1, &bytes);
	run((const char *)data, size, sizes, 3, &cut);
	if (whole.n < MAX_EVENTS) {
		same(&whole, &bytes);
		same(&whole, &cut);
	}
	return 0;
}
