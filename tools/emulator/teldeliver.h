/* teldeliver.h -- one Telemetry API subscriber: buffering, batched POSTs, retry with backoff. */
#ifndef EMU_TELDELIVER_H
#define EMU_TELDELIVER_H

#include <stddef.h>

struct event_base;
struct tel_sub;

struct tel_sub_stats {
	unsigned long	batches;	/* POSTs answered 2xx */
	unsigned long	records;	/* records in them */
	unsigned long	failures;	/* failed POST attempts */
	unsigned long	dropped;	/* records given up on */
	unsigned long	queued;		/* records not delivered yet */
};

/*
 * A subscriber delivering to http://127.0.0.1:port/path with the given
 * buffering. host is what the subscription named (for the Host header).
 * io_timeout_ms bounds one POST. NULL on OOM.
 */
struct tel_sub *tsub_new(struct event_base *base, const char *host, int port, const char *path,
	    long max_items, long max_bytes, long timeout_ms, long io_timeout_ms);
/* Drops everything queued or in flight (counted as dropped); frees nothing else. */
void	tsub_stop(struct tel_sub *s);
void	tsub_free(struct tel_sub *s);
/* Queues one record (JSON text, copied). */
void	tsub_push(struct tel_sub *s, const char *record, size_t len);
/* While paused nothing is sent; timers that fire only mark the work as due. */
void	tsub_pause(struct tel_sub *s, int paused);
void	tsub_get_stats(const struct tel_sub *s, struct tel_sub_stats *st);

#endif
