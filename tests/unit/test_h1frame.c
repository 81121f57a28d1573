/* test_h1frame.c -- the framing of client requests: events at the exact byte, whatever the reads' sizes, and each refusal. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "h1frame.h"
#include "tap.h"

#define MAX_HEAD	256
#define MAX_BODY	64

/*
 * Feed `in` in pieces of `step` bytes (0: whole) and describe what happened:
 * "H@n" a head ended after byte n, "M@n" a request ended, "R400@n" refused;
 * then "|body=N" the body bytes followed.
 */
static const char *
trace(const char *in, size_t step)
{
	static char out[512];
	struct h1frame f;
	size_t len = strlen(in), at = 0, o = 0;

	h1frame_init(&f, MAX_HEAD, MAX_BODY);
	out[0] = '\0';
	while (at < len && f.phase != H1F_REFUSED) {
		size_t piece = step == 0 || len - at < step ? len - at : step, done = 0;

		while (done < piece && f.phase != H1F_REFUSED) {
			unsigned ev;
			size_t used = h1frame_feed(&f, in + at + done, piece - done, &ev);

			done += used;
			if (ev & H1F_REFUSE)
				o += (size_t)snprintf(out + o, sizeof(out) - o, "R%d@%zu ", f.status, at + done);
			if (ev & H1F_HEAD_DONE)
				o += (size_t)snprintf(out + o, sizeof(out) - o, "H@%zu ", at + done);
			if (ev & H1F_MSG_DONE)
				o += (size_t)snprintf(out + o, sizeof(out) - o, "M@%zu ", at + done);
			if (ev == 0 && used < piece - done)
				break;
		}
		at += done;
	}
	snprintf(out + o, sizeof(out) - o, "|body=%llu", (unsigned long long)f.body_total);
	h1frame_clear(&f);
	return out;
}

/* The same trace whole, byte by byte and in pieces of 3 and 7 bytes. */
static void
frames(const char *in, const char *want, const char *desc)
{
	static const size_t steps[] = { 0, 1, 3, 7 };
	char name[256];

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		snprintf(name, sizeof(name), "%s (%s%zu)", desc, steps[i] ? "pieces of " : "whole", steps[i]);
		if (steps[i] == 0)
			snprintf(name, sizeof(name), "%s (whole)", desc);
		is_str(trace(in, steps[i]), want, name);
	}
}

static void
test_framing(void)
{
	frames("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	    "H@53 M@58 |body=5", "a Content-Length body ends at its last byte");
	frames("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	    "H@34 M@34 |body=0", "no body: the head ends the request");
	frames("POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
	    "H@62 M@93 |body=8", "chunked: chunks, the last chunk and a trailer");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
	    "H@48 M@50 H@78 M@78 |body=2", "two requests sent back to back");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	    "H@48 M@48 |body=0", "Content-Length: 0");
}

static void
test_refusals(void)
{
	char big[MAX_HEAD + 64];

	frames("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n",
	    "R413@49 |body=0", "a declared length over the limit: 413 when the head ends");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n",
	    "H@57 R413@61 |body=0", "a chunk past the limit: 413 at its size line");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\n",
	    "H@57 R400@64 |body=0", "a chunk extension: 400");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXY",
	    "H@57 R400@64 |body=2", "chunk data not followed by CRLF: 400");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n",
	    "H@57 R400@67 |body=0", "a bare LF in the trailer: 400");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad line\r\n\r\n",
	    "H@57 R400@70 |body=0", "a trailer line that is no field: 400");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    "R400@76 |body=0", "a length and chunked together: 400");
	frames("GET /a HTTP/2.0\r\nHost: x\r\n\r\n", "R505@28 |body=0", "HTTP/2.0: 505");
	memset(big, 'a', sizeof(big));
	memcpy(big, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ", 65);
	big[sizeof(big) - 1] = '\0';
	frames(big, "H@57 R400@317 |body=0", "a trailer over the limit: 400 at its first byte past it");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	big[sizeof(big) - 1] = '\0';
	is_str(trace(big, 0), "R400@256 |body=0", "a head over the limit: 400 at the limit");
	is_str(trace(big, 1), "R400@256 |body=0", "the same byte by byte");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0000000000000000000000000000000000000000000000000000000000000000001\r\n",
	    "H@57 R400@122 |body=0", "a chunk-size line over 64 bytes: 400 at its 65th byte");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0000000000000001\r\nx\r\n0\r\n\r\n",
	    "H@57 M@83 |body=1", "16 hexadecimal digits are fine");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "000000000000000000000000000000000000000000000000000000000000001\r\n",
	    "H@57 R400@122 |body=0", "a whole line of 63 digits: 400 when it ends");
	frames("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "000000000000000000000000000000000000000000000000000000000000000\r\r\n",
	    "H@57 R400@123 |body=0", "a CR inside the line is no digit: 400 when it ends");
}

static void
test_after_refusal(void)
{
	struct h1frame f;
	unsigned ev = 99;
	const char *bad = "BREW /pot HTTP/1.1\r\n\r\n";

	h1frame_init(&f, MAX_HEAD, MAX_BODY);
	h1frame_feed(&f, bad, strlen(bad), &ev);
	is_int(ev, H1F_REFUSE, "an unknown method is refused");
	is_int(f.status, 400, "with 400");
	ok(f.reason != NULL && f.reason[0] != '\0', "and a reason");
	is_int(h1frame_feed(&f, "GET / HTTP/1.1\r\n\r\n", 18, &ev), 0, "then nothing more is followed");
	is_int(ev, 0, "and nothing happens");
	h1frame_clear(&f);
	h1frame_clear(&f);
	ok(f.buf == NULL, "clearing twice is harmless");
}

int
main(void)
{
	test_framing();
	test_refusals();
	test_after_refusal();
	return done_testing();
}
