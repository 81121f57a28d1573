/* test_stats.c -- the counters (stats.c), their summary line, and their Prometheus text (metrics.c), parsed line by line. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "stats.h"
#include "tap.h"

static void
receive(struct relay_stats *st, size_t len, enum relay_outcome outcome)
{
	struct relay_req rr = { .body_len = len };

	stats_received(st, &rr);
	if (outcome != RELAY_PENDING) {
		rr.outcome = outcome;
		stats_finished(st, &rr);
	}
}

/* 7 received: 3 delivered, 1 queue_full, 1 rejected, 1 in flight, 1 waiting; 4 attempts timed; 1 retry. */
static void
fill(struct relay_stats *st)
{
	memset(st, 0, sizeof(*st));
	receive(st, 100, RELAY_DELIVERED);
	receive(st, 200, RELAY_DELIVERED);
	receive(st, 300, RELAY_DELIVERED);
	receive(st, 10, RELAY_DROPPED_QUEUE_FULL);
	receive(st, 20, RELAY_DROPPED_REJECTED);
	receive(st, 1000, RELAY_PENDING);
	receive(st, 2000, RELAY_PENDING);
	st->in_flight = 1;
	st->queued_bytes = 3512;
	st->retried = 1;
	stats_observe_latency(st, 0.005);	/* on a bound: counted in it */
	stats_observe_latency(st, 0.03);
	stats_observe_latency(st, 0.7);
	stats_observe_latency(st, 11);		/* above every bound: +Inf only */
}

static void
test_counters(void)
{
	struct relay_stats st;
	struct relay_req rr = { .body_len = 5 };
	static const uint64_t want_buckets[STATS_LATENCY_BUCKETS] = { 1, 1, 1, 2, 2, 2, 2, 3, 3, 3 };
	bool buckets_ok = true;

	fill(&st);
	is_int(st.received, 7, "received counted");
	is_int(st.received_bytes, 3630, "received bytes");
	is_int(st.delivered, 3, "delivered counted");
	is_int(st.delivered_bytes, 600, "delivered bytes");
	is_int(st.dropped[RELAY_DROPPED_QUEUE_FULL], 1, "dropped by reason: queue_full");
	is_int(st.dropped[RELAY_DROPPED_REJECTED], 1, "dropped by reason: rejected");
	is_int(st.dropped_bytes, 30, "dropped bytes");
	is_int(stats_dropped_total(&st), 2, "stats_dropped_total sums the reasons");
	is_int(stats_queued(&st), 1, "stats_queued: received - delivered - dropped - in flight");
	is_int(st.received, st.delivered + stats_dropped_total(&st) + stats_queued(&st) + st.in_flight,
	    "received = delivered + dropped + queued + in flight");
	for (int i = 0; i < STATS_LATENCY_BUCKETS; i++)
		buckets_ok = buckets_ok && st.latency_buckets[i] == want_buckets[i];
	ok(buckets_ok, "latency buckets are cumulative, bounds inclusive");
	is_int(st.latency_count, 4, "latency count");
	ok(st.latency_sum > 11.7349 && st.latency_sum < 11.7351, "latency sum");

	rr.outcome = RELAY_PENDING;
	stats_finished(&st, &rr);
	rr.outcome = RELAY_OUTCOME_COUNT;
	stats_finished(&st, &rr);
	ok(st.delivered == 3 && stats_dropped_total(&st) == 2 && st.dropped_bytes == 30,
	    "a pending or out-of-range outcome counts nothing");
}

static void
test_reason_names(void)
{
	static const char *const want[RELAY_OUTCOME_COUNT] = {
		"pending", "delivered", "queue_full", "rejected", "failed", "unsendable",
		"shutdown", "internal", "too_large", "too_old",
	};
	bool good = true;

	for (int i = 0; i < RELAY_OUTCOME_COUNT; i++)
		good = good && want[i] != NULL && strcmp(stats_reason_name((enum relay_outcome)i), want[i]) == 0;
	ok(good, "every outcome has its stable name");
	is_str(stats_reason_name(RELAY_OUTCOME_COUNT), "unknown", "out of range: unknown");
}

static void
test_summary(void)
{
	struct relay_stats st;
	char buf[512], small[24];

	fill(&st);
	stats_summary(&st, buf, sizeof(buf));
	is_str(buf, "received=7 delivered=3 dropped=2 dropped_queue_full=1 dropped_rejected=1 dropped_failed=0 "
	    "dropped_unsendable=0 dropped_shutdown=0 dropped_internal=0 dropped_too_large=0 dropped_too_old=0 "
	    "retried=1 queued=1 in_flight=1", "the summary line");
	memset(small, 'X', sizeof(small));
	stats_summary(&st, small, sizeof(small));
	ok(memchr(small, '\0', sizeof(small)) != NULL && strncmp(buf, small, strlen(small)) == 0 &&
	    strlen(small) == sizeof(small) - 1, "a short buffer gets a terminated prefix");
	memset(&st, 0, sizeof(st));
	stats_summary(&st, buf, sizeof(buf));
	ok(strncmp(buf, "received=0 delivered=0 dropped=0 ", 33) == 0 &&
	    strstr(buf, " queued=0 in_flight=0") != NULL, "all zero");
}

/* ---- the Prometheus text, parsed ---- */

#define MAX_FAMILIES 32
#define MAX_SAMPLES 64

struct family {
	char	name[96];
	char	type[16];
	bool	help;
};

struct sample {
	char	name[96];
	char	labels[96];	/* inside the braces, or "" */
	double	value;
};

struct exposition {
	struct family	fam[MAX_FAMILIES];
	int		nfam;
	struct sample	smp[MAX_SAMPLES];
	int		nsmp;
	int		bad_lines;
	char		first_bad[160];
};

static bool
name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	    (!first && c >= '0' && c <= '9');
}

/* Length of a metric name at s, or 0. */
static size_t
name_len(const char *s)
{
	size_t n = 0;

	while (name_char(s[n], n == 0))
		n++;
	return n;
}

static struct family *
family(struct exposition *e, const char *name, size_t len)
{
	for (int i = 0; i < e->nfam; i++)
		if (strlen(e->fam[i].name) == len && strncmp(e->fam[i].name, name, len) == 0)
			return &e->fam[i];
	return NULL;
}

/* The family a sample belongs to: its own name, or a histogram's name without _bucket/_sum/_count. */
static struct family *
family_of(struct exposition *e, const char *name)
{
	static const char *const suffix[] = { "_bucket", "_sum", "_count" };
	struct family *f = family(e, name, strlen(name));

	for (size_t i = 0; f == NULL && i < 3; i++) {
		size_t n = strlen(name), m = strlen(suffix[i]);

		if (n > m && strcmp(name + n - m, suffix[i]) == 0) {
			f = family(e, name, n - m);
			if (f != NULL && strcmp(f->type, "histogram") != 0)
				f = NULL;
		}
	}
	return f;
}

static void
bad(struct exposition *e, const char *line)
{
	if (e->bad_lines++ == 0)
		snprintf(e->first_bad, sizeof(e->first_bad), "%s", line);
}

static void
parse_line(struct exposition *e, const char *line)
{
	size_t n;

	if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
		const char *name = line + 7;
		struct family *f;

		n = name_len(name);
		if (n == 0 || n >= sizeof(e->fam[0].name) || name[n] != ' ' || name[n + 1] == '\0')
			{ bad(e, line); return; }
		f = family(e, name, n);
		if (f == NULL) {
			if (e->nfam == MAX_FAMILIES)
				{ bad(e, line); return; }
			f = &e->fam[e->nfam++];
			memcpy(f->name, name, n);
		}
		if (line[2] == 'H') {
			if (f->help)
				{ bad(e, line); return; }	/* once per family */
			f->help = true;
		} else {
			if (f->type[0] != '\0' || (strcmp(name + n + 1, "counter") != 0 &&
			    strcmp(name + n + 1, "gauge") != 0 && strcmp(name + n + 1, "histogram") != 0))
				{ bad(e, line); return; }
			snprintf(f->type, sizeof(f->type), "%s", name + n + 1);
		}
		return;
	}
	{
		struct sample *s;
		const char *p = line, *close;
		char *end;

		n = name_len(p);
		if (n == 0 || n >= sizeof(s->name) || e->nsmp == MAX_SAMPLES)
			{ bad(e, line); return; }
		s = &e->smp[e->nsmp];
		memcpy(s->name, p, n);
		s->name[n] = '\0';
		p += n;
		s->labels[0] = '\0';
		if (*p == '{') {
			close = strchr(p, '}');
			if (close == NULL || (size_t)(close - p - 1) >= sizeof(s->labels))
				{ bad(e, line); return; }
			memcpy(s->labels, p + 1, (size_t)(close - p - 1));
			s->labels[close - p - 1] = '\0';
			p = close + 1;
		}
		if (*p != ' ')
			{ bad(e, line); return; }
		s->value = strtod(p + 1, &end);
		if (end == p + 1 || *end != '\0')
			{ bad(e, line); return; }
		{
			struct family *f = family_of(e, s->name);

			if (f == NULL || f->type[0] == '\0' || !f->help)
				{ bad(e, line); return; }	/* a sample after its HELP and TYPE */
		}
		e->nsmp++;
	}
}

static void
parse(struct exposition *e, char *text)
{
	char *line = text, *nl;

	memset(e, 0, sizeof(*e));
	while ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		parse_line(e, line);
		line = nl + 1;
	}
	if (*line != '\0')
		bad(e, "(text does not end with a newline)");
}

/* The value of sample `name` with exactly `labels` ("" for none), or -1. */
static double
value(const struct exposition *e, const char *name, const char *labels)
{
	for (int i = 0; i < e->nsmp; i++)
		if (strcmp(e->smp[i].name, name) == 0 && strcmp(e->smp[i].labels, labels) == 0)
			return e->smp[i].value;
	return -1;
}

static char *
render(const struct relay_stats *st)
{
	struct evbuffer *out = evbuffer_new();
	size_t len;
	char *text;

	if (out == NULL || metrics_render(st, out) < 0) {
		printf("Bail out! metrics_render failed\n");
		exit(1);
	}
	len = evbuffer_get_length(out);
	text = malloc(len + 1);
	if (text == NULL)
		exit(1);
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	return text;
}

static void
test_metrics(void)
{
	static const struct { const char *name, *type; double v; } want[] = {
		{ "pyroscope_relay_received_profiles_total", "counter", 7 },
		{ "pyroscope_relay_received_bytes_total", "counter", 3630 },
		{ "pyroscope_relay_delivered_profiles_total", "counter", 3 },
		{ "pyroscope_relay_delivered_bytes_total", "counter", 600 },
		{ "pyroscope_relay_dropped_bytes_total", "counter", 30 },
		{ "pyroscope_relay_retries_total", "counter", 1 },
		{ "pyroscope_relay_queued_profiles", "gauge", 1 },
		{ "pyroscope_relay_queued_bytes", "gauge", 3512 },
		{ "pyroscope_relay_in_flight_profiles", "gauge", 1 },
	};
	static const char *const le[] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "10", "+Inf" };
	static const double cum[] = { 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4 };
	struct exposition e;
	struct relay_stats st;
	struct family *f;
	char *text, desc[160], label[64];
	bool good;

	fill(&st);
	text = render(&st);
	ok(strstr(text, "\npyroscope_relay_upstream_request_duration_seconds_sum 11.735000\n") != NULL,
	    "the histogram's sum is written with six decimals");
	parse(&e, text);
	is_int(e.bad_lines, 0, "every line parses as HELP, TYPE or a sample after them");
	if (e.bad_lines != 0)
		printf("#   first bad line: '%s'\n", e.first_bad);
	is_int(e.nfam, 11, "eleven metric families");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		f = family(&e, want[i].name, strlen(want[i].name));
		snprintf(desc, sizeof(desc), "%s: %s %.0f", want[i].name, want[i].type, want[i].v);
		ok(f != NULL && f->help && strcmp(f->type, want[i].type) == 0 && value(&e, want[i].name, "") == want[i].v,
		    desc);
	}
	f = family(&e, "pyroscope_relay_dropped_profiles_total", 38);
	ok(f != NULL && strcmp(f->type, "counter") == 0, "dropped_profiles_total is a counter");
	good = true;
	for (int i = RELAY_DELIVERED + 1; i < RELAY_OUTCOME_COUNT; i++) {
		snprintf(label, sizeof(label), "reason=\"%s\"", stats_reason_name((enum relay_outcome)i));
		good = good && value(&e, "pyroscope_relay_dropped_profiles_total", label) ==
		    (double)st.dropped[i];
	}
	ok(good, "one dropped_profiles_total sample per reason, with its count");

	f = family(&e, "pyroscope_relay_upstream_request_duration_seconds", 49);
	ok(f != NULL && strcmp(f->type, "histogram") == 0, "upstream_request_duration_seconds is a histogram");
	good = true;
	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		snprintf(label, sizeof(label), "le=\"%s\"", le[i]);
		good = good && value(&e, "pyroscope_relay_upstream_request_duration_seconds_bucket", label) == cum[i];
	}
	ok(good, "its buckets: every bound, then +Inf, cumulative");
	is_int(value(&e, "pyroscope_relay_upstream_request_duration_seconds_count", ""), 4, "its count");
	ok(value(&e, "pyroscope_relay_upstream_request_duration_seconds_sum", "") > 11.7349 &&
	    value(&e, "pyroscope_relay_upstream_request_duration_seconds_sum", "") < 11.7351, "its sum");
	is_int(e.nsmp, 9 + 8 + 11 + 2, "no other sample");
	free(text);

	memset(&st, 0, sizeof(st));
	text = render(&st);
	parse(&e, text);
	good = e.bad_lines == 0 && e.nsmp == 30;
	for (int i = 0; i < e.nsmp; i++)
		good = good && e.smp[i].value == 0;
	ok(good, "zeroed stats: every sample present and 0");
	free(text);
}

int
main(void)
{
	test_counters();
	test_reason_names();
	test_summary();
	test_metrics();
	return done_testing();
}
