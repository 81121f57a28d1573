/* queue.c -- waiting and in-flight requests under a count and a byte budget; evicts the oldest. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include "queue.h"

#define REQ_OVERHEAD 256	/* struct, evbuffer and allocator slack, roughly */

uint64_t
queue_cost(const struct relay_req *rr)
{
	const struct evkeyval *h;
	uint64_t n = REQ_OVERHEAD + rr->body_len;

	if (rr->path != NULL)
		n += strlen(rr->path);
	if (rr->query != NULL)
		n += strlen(rr->query);
	TAILQ_FOREACH(h, &rr->headers, next)
		n += strlen(h->key) + strlen(h->value) + 2 * sizeof(void *);
	return n;
}

void
queue_init(struct relay_queue *q, uint64_t max_count, uint64_t max_bytes)
{
	TAILQ_INIT(&q->items);
	q->count = 0;
	q->bytes = 0;
	q->max_count = max_count;
	q->max_bytes = max_bytes;
}

int
queue_push(struct relay_queue *q, struct relay_req *rr, struct relay_req_list *evicted)
{
	uint64_t cost = queue_cost(rr);

	/* rr->cost is set only once charged: a refused request must release nothing. */
	if (cost > q->max_bytes)
		return -E2BIG;
	while (q->count > 0 && (q->count + 1 > q->max_count || q->bytes + cost > q->max_bytes)) {
		struct relay_req *old = queue_pop(q);	/* TAILQ macros evaluate arguments twice */

		queue_release(q, old);
		TAILQ_INSERT_TAIL(evicted, old, link);
	}
	if (q->bytes + cost > q->max_bytes)
		return -ENOSPC;
	TAILQ_INSERT_TAIL(&q->items, rr, link);
	q->count++;
	q->bytes += cost;
	rr->cost = cost;
	return 0;
}

struct relay_req *
queue_take(struct relay_queue *q, int64_t now, int64_t *ret_wait_ns)
{
	struct relay_req *rr;
	int64_t wait = -1;

	TAILQ_FOREACH(rr, &q->items, link) {
		if (rr->not_before <= now) {
			TAILQ_REMOVE(&q->items, rr, link);
			q->count--;
			return rr;
		}
		if (wait < 0 || rr->not_before - now < wait)
			wait = rr->not_before - now;
	}
	*ret_wait_ns = wait;
	return NULL;
}

void
queue_return(struct relay_queue *q, struct relay_req *rr)
{
	TAILQ_INSERT_HEAD(&q->items, rr, link);
	q->count++;
}

struct relay_req *
queue_pop(struct relay_queue *q)
{
	struct relay_req *rr = TAILQ_FIRST(&q->items);

	if (rr == NULL)
		return NULL;
	TAILQ_REMOVE(&q->items, rr, link);
	q->count--;
	return rr;
}

void
queue_release(struct relay_queue *q, struct relay_req *rr)
{
	q->bytes -= rr->cost;
	rr->cost = 0;
}
