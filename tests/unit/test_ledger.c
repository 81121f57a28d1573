/* test_ledger.c -- every request's end of life: outcome counted, on_done hooks run once in chain order, request freed. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "chain.h"
#include "ledger.h"
#include "tap.h"

#define MAX_ID 16

/* What the hooks saw: per request id, the calls in order ("ab" = hook a then hook b) and the outcome. */
static char calls[MAX_ID][8];
static enum relay_outcome seen_outcome[MAX_ID];
static char seen_path[MAX_ID][32];
static int state_a, state_b;

static void
note(const struct relay_req *rr, char who)
{
	size_t n;

	if (rr->id >= MAX_ID)
		return;
	n = strlen(calls[rr->id]);
	if (n + 1 < sizeof(calls[0]))
		calls[rr->id][n] = who;
	seen_outcome[rr->id] = rr->outcome;
	snprintf(seen_path[rr->id], sizeof(seen_path[0]), "%s", rr->path != NULL ? rr->path : "");
}

static int
init_a(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	(void)cfg;
	(void)reterr;
	*ret_state = &state_a;
	return 0;
}

static int
init_b(const struct relay_settings *cfg, void **ret_state, char **reterr)
{
	(void)cfg;
	(void)reterr;
	*ret_state = &state_b;
	return 0;
}

static void
done_a(const struct relay_req *rr, void *state)
{
	if (state == &state_a)
		note(rr, 'a');
}

static void
done_b(const struct relay_req *rr, void *state)
{
	if (state == &state_b)
		note(rr, 'b');
}

static const struct relay_module mod_a = { .name = "a", .init = init_a, .on_done = done_a };
static const struct relay_module mod_none = { .name = "none" };
static const struct relay_module mod_b = { .name = "b", .init = init_b, .on_done = done_b };
static const struct relay_module *const table[] = { &mod_a, &mod_none, &mod_b, NULL };

static struct relay_req *
make(uint64_t id, size_t len)
{
	struct relay_req *rr = relay_req_new(id, EVHTTP_REQ_POST);

	if (rr == NULL || asprintf(&rr->path, "/r%llu", (unsigned long long)id) < 0) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < len; i++)
		evbuffer_add(rr->body, "b", 1);
	rr->body_len = len;
	return rr;
}

static void
test_finish(void)
{
	struct relay_settings cfg;
	struct chain *chain = NULL;
	struct ledger l;
	char *err = NULL;
	struct relay_req *r1, *r2, *r3;

	memset(&cfg, 0, sizeof(cfg));
	if (chain_new(table, &cfg, &chain, &err) < 0) {
		printf("Bail out! chain: %s\n", err ? err : "?");
		exit(1);
	}
	ledger_init(&l, chain);
	ok(l.stats.received == 0 && l.stats.delivered == 0 && stats_dropped_total(&l.stats) == 0,
	    "a new ledger counts nothing");
	r1 = make(1, 10);
	r2 = make(2, 20);
	r3 = make(3, 30);
	ledger_received(&l, r1);
	ledger_received(&l, r2);
	ledger_received(&l, r3);
	is_int(l.stats.received, 3, "received: three");
	is_int(l.stats.received_bytes, 60, "with their bytes");
	is_str(calls[1], "", "no hook runs on receipt");

	ledger_finish(&l, r1, RELAY_DELIVERED);
	is_str(calls[1], "ab", "finish: every on_done hook ran once, in chain order, with its own state");
	is_int(seen_outcome[1], RELAY_DELIVERED, "the hooks saw the outcome");
	is_str(seen_path[1], "/r1", "and the whole request");
	is_int(l.stats.delivered, 1, "delivered counted");
	is_int(l.stats.delivered_bytes, 10, "with its bytes");

	ledger_finish(&l, r2, RELAY_DROPPED_REJECTED);
	is_str(calls[2], "ab", "a dropped request: the hooks ran once");
	is_int(seen_outcome[2], RELAY_DROPPED_REJECTED, "with its reason");
	is_int(l.stats.dropped[RELAY_DROPPED_REJECTED], 1, "dropped counted by reason");
	is_int(l.stats.dropped_bytes, 20, "with its bytes");
	is_int(stats_queued(&l.stats), 1, "one still queued");

	ledger_gauges(&l, 1, 4096);
	is_int(l.stats.in_flight, 1, "gauges: in flight");
	is_int(l.stats.queued_bytes, 4096, "gauges: held bytes");
	is_int(stats_queued(&l.stats), 0, "the in-flight one is not queued");
	is_int(l.stats.received, l.stats.delivered + stats_dropped_total(&l.stats) + stats_queued(&l.stats) +
	    l.stats.in_flight, "received = delivered + dropped + queued + in flight");

	ledger_attempt(&l, 0.02);
	ledger_attempt(&l, 3);
	is_int(l.stats.latency_count, 2, "attempts timed");
	is_int(l.stats.latency_buckets[2], 1, "0.02 s in the 0.025 bucket");
	is_int(l.stats.latency_buckets[STATS_LATENCY_BUCKETS - 1], 2, "both within 10 s");
	ledger_retry(&l);
	ledger_retry(&l);
	is_int(l.stats.retried, 2, "retries counted");

	ledger_gauges(&l, 0, 0);
	ledger_finish(&l, r3, RELAY_DROPPED_SHUTDOWN);
	is_str(calls[3], "ab", "the last one's hooks ran once");
	is_int(l.stats.dropped[RELAY_DROPPED_SHUTDOWN], 1, "dropped at shutdown counted");
	is_int(l.stats.received, l.stats.delivered + stats_dropped_total(&l.stats), "all ended: received = delivered + dropped");
	is_str(calls[1], "ab", "no hook ran twice for an earlier request");
	chain_free(chain);
}

static void
test_no_chain(void)
{
	struct ledger l;
	struct relay_req *rr = make(9, 4);

	ledger_init(&l, NULL);
	ledger_received(&l, rr);
	ledger_finish(&l, rr, RELAY_DROPPED_INTERNAL);
	is_int(l.stats.dropped[RELAY_DROPPED_INTERNAL], 1, "without a chain: counted and freed, no hook");
	is_str(calls[9], "", "no hook ran");
}

int
main(void)
{
	test_finish();
	test_no_chain();
	return done_testing();
}
