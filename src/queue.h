/* queue.h -- accepted requests waiting or in flight, bounded in profiles and in bytes. */
#ifndef RELAY_QUEUE_H
#define RELAY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "request.h"

/*
 * The byte budget covers every body the relay holds: waiting requests and
 * those in flight. The profile count covers waiting requests only (in-flight
 * ones are bounded by the number of workers).
 */
struct relay_queue {
	struct relay_req_list	items;		/* waiting, oldest first */
	uint64_t		count;		/* waiting */
	uint64_t		bytes;		/* waiting + in flight */
	uint64_t		max_count;
	uint64_t		max_bytes;
};

/* What a request costs the byte budget: its body plus headers, query and bookkeeping. */
uint64_t queue_cost(const struct relay_req *rr);
void	queue_init(struct relay_queue *q, uint64_t max_count, uint64_t max_bytes);
/*
 * Add a new request at the back. When it does not fit, the oldest waiting
 * requests move to *evicted until it does: fresh profiles are worth more.
 * Returns -E2BIG (nothing changed) when rr alone exceeds the byte budget, and
 * -ENOSPC when in-flight bodies leave no room even with nothing waiting.
 */
int	queue_push(struct relay_queue *q, struct relay_req *rr, struct relay_req_list *evicted);
/*
 * Take the oldest waiting request whose not_before has come (it stays charged
 * to the budget while in flight). NULL when none is ready; then *ret_wait_ns
 * is the time until the earliest one is, or -1 when nothing waits.
 */
struct relay_req *queue_take(struct relay_queue *q, int64_t now, int64_t *ret_wait_ns);
/* Put an in-flight request back in front of the waiting ones (retry, pause). */
void	queue_return(struct relay_queue *q, struct relay_req *rr);
/* Remove the oldest waiting request, ready or not (shutdown); NULL if none. */
struct relay_req *queue_pop(struct relay_queue *q);
/* A taken request is finished: release its bytes. */
void	queue_release(struct relay_queue *q, struct relay_req *rr);

#endif
