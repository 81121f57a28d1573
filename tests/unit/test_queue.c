/* test_queue.c -- the bounded queue: FIFO order, count and byte budgets, oldest evicted first. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include <event2/buffer.h>

#include "queue.h"
#include "tap.h"

static struct relay_req *
make(uint64_t id, size_t body)
{
	struct relay_req *rr = relay_req_new(id, EVHTTP_REQ_POST);
	char buf[4096];

	memset(buf, 'x', sizeof(buf));
	while (body > 0) {
		size_t n = body < sizeof(buf) ? body : sizeof(buf);

		evbuffer_add(rr->body, buf, n);
		body -= n;
	}
	rr->body_len = evbuffer_get_length(rr->body);
	return rr;
}

/* Take every waiting request and finish it (release its budget). */
static void
empty(struct relay_queue *q)
{
	struct relay_req *rr;

	while ((rr = queue_pop(q)) != NULL) {
		queue_release(q, rr);
		relay_req_free(rr);
	}
}

static size_t
drain_count(struct relay_req_list *l)
{
	struct relay_req *rr;
	size_t n = 0;

	while ((rr = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, rr, link);
		relay_req_free(rr);
		n++;
	}
	return n;
}

int
main(void)
{
	struct relay_queue q;
	struct relay_req_list ev = TAILQ_HEAD_INITIALIZER(ev);
	struct relay_req *rr, *big;

	queue_init(&q, 3, 1 << 20);
	for (uint64_t i = 1; i <= 3; i++)
		queue_push(&q, make(i, 100), &ev);
	is_int(q.count, 3, "three queued");
	is_int(drain_count(&ev), 0, "nothing evicted under the count limit");
	queue_push(&q, make(4, 100), &ev);
	is_int(q.count, 3, "count limit holds");
	rr = TAILQ_FIRST(&ev);
	ok(rr != NULL && rr->id == 1, "the oldest was evicted");
	is_int(drain_count(&ev), 1, "exactly one evicted");
	rr = queue_pop(&q);
	is_int(rr->id, 2, "FIFO order after eviction");
	queue_release(&q, rr);
	relay_req_free(rr);

	/* byte budget: 4 KiB bodies in a 10 KiB budget */
	empty(&q);
	is_int(q.bytes, 0, "empty queue has no bytes");
	queue_init(&q, 100, 10 * 1024);
	queue_push(&q, make(10, 4096), &ev);
	queue_push(&q, make(11, 4096), &ev);
	is_int(q.count, 2, "two 4 KiB bodies fit in 10 KiB");
	queue_push(&q, make(12, 4096), &ev);
	is_int(q.count, 2, "a third one evicts");
	ok(TAILQ_FIRST(&ev) != NULL && TAILQ_FIRST(&ev)->id == 10, "the oldest goes first");
	drain_count(&ev);
	ok(q.bytes <= q.max_bytes, "bytes stay within the budget");

	big = make(13, 11 * 1024);
	is_int(queue_push(&q, big, &ev), -E2BIG, "a body larger than the budget is refused");
	is_int(q.count, 2, "refusal changes nothing");
	is_int(big->cost, 0, "a request refused as too large carries no charge to release");
	relay_req_free(big);

	/* In-flight bodies stay charged: with one 4 KiB upload in flight, two more do not fit. */
	rr = queue_take(&q, relay_now_ns(), &(int64_t){ 0 });
	ok(rr != NULL && rr->id == 11, "take gives the oldest ready request");
	queue_push(&q, make(14, 4096), &ev);
	is_int(drain_count(&ev), 1, "the in-flight body counts: the waiting one makes room");
	is_int(q.count, 1, "one waiting");
	{
		/* Both in flight, nothing waiting to evict: a third is refused and charges nothing. */
		struct relay_req *r2 = queue_take(&q, relay_now_ns(), &(int64_t){ 0 }), *r3 = make(15, 4096);
		uint64_t before = q.bytes;

		is_int(queue_push(&q, r3, &ev), -ENOSPC, "no room while uploads are in flight: refused");
		is_int(r3->cost, 0, "the refused request carries no charge to release");
		is_int(q.bytes, before, "refusal changes no byte count");
		relay_req_free(r3);
		queue_release(&q, r2);
		relay_req_free(r2);
		queue_push(&q, make(16, 4096), &ev);
		is_int(q.count, 1, "once an upload ends, the next fits again");
	}
	queue_release(&q, rr);
	relay_req_free(rr);

	/* not_before: a request waiting for its retry is skipped until due. */
	rr = queue_pop(&q);
	rr->not_before = relay_now_ns() + 1000000000LL;
	queue_return(&q, rr);
	{
		int64_t wait = 0;

		ok(queue_take(&q, relay_now_ns(), &wait) == NULL, "a backing-off request is not ready");
		ok(wait > 900000000LL && wait <= 1000000000LL, "the wait until it is ready is reported");
		ok(queue_take(&q, rr->not_before, &wait) == rr, "ready once its time has come");
		queue_release(&q, rr);
		relay_req_free(rr);
		is_int(queue_take(&q, relay_now_ns(), &wait) == NULL && wait == -1, 1, "empty queue: wait -1");
	}
	empty(&q);
	is_int(q.bytes, 0, "costs add up to zero when empty");
	return done_testing();
}
