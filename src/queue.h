/* queue.h -- the FIFO of accepted requests, bounded in profiles and in bytes. */
#ifndef RELAY_QUEUE_H
#define RELAY_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

struct relay_queue {
	struct relay_req_list	items;
	uint64_t		count;
	uint64_t		bytes;		/* sum of queue_cost() of the items */
	uint64_t		max_count;
	uint64_t		max_bytes;
};

/* What a request costs the byte budget: its body plus headers, query and bookkeeping. */
uint64_t queue_cost(const struct relay_req *rr);
void	queue_init(struct relay_queue *q, uint64_t max_count, uint64_t max_bytes);
/*
 * Append rr. When it does not fit, the oldest requests are moved to *evicted
 * (in age order) until it does; fresh profiles are worth more than old ones.
 * Returns -E2BIG, with nothing changed, when rr alone exceeds the byte budget.
 */
int	queue_push(struct relay_queue *q, struct relay_req *rr, struct relay_req_list *evicted);
/* Remove and return the oldest request, or NULL. */
struct relay_req *queue_pop(struct relay_queue *q);

#endif
