/* selfprof.c -- PYROSCOPE_SELF_PROFILING: the relay's own CPU profile, sent through its own pipeline. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Every second the loop takes the samples the SIGPROF handler left in the
 * ring (sampler.c), names their frames (frames.c) and counts the stacks
 * (folded.c). Every SELFPROF_WINDOW_S seconds the window becomes one /ingest
 * upload in the folded text format, which goes the way SDK uploads go
 * (server_submit_own): same chain, same accounting, same forwarder, so the
 * Lambda lifecycle flushes and drains it with them.
 *
 * from/until are the wall-clock seconds of the window's first and last
 * samples, not of the window: a Lambda sandbox may be frozen for hours
 * in between, and Pyroscope refuses profiles that old. For the same reason a
 * window whose last sample is older than two windows is sent on its own
 * before newer samples are counted.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "basicauth.h"
#include "folded.h"
#include "frames.h"
#include "log.h"
#include "sampler.h"
#include "selfprof.h"
#include "upstream.h"

#define TICK_S		1			/* samples are taken from the ring this often */
#define WINDOW_NS	((int64_t)SELFPROF_WINDOW_S * 1000000000)
#define MAX_TEXT	(1u << 20)		/* folded text of one window, at most */
#define SPY_NAME	"pyroscope-lambda-extension"

struct selfprof {
	struct event_base		*base;		/* borrowed */
	const struct relay_settings	*cfg;		/* borrowed */
	struct server			*srv;		/* borrowed */
	struct upstream			*adhoc;		/* owned: the ad-hoc address's forwarder, or NULL */
	struct relay_settings		 adhoc_cfg;	/* cfg with the ad-hoc remote: a copy that owns nothing */
	char				*adhoc_auth;	/* owned: Basic from the ad-hoc address's userinfo, or NULL */
	struct frames			*frames;	/* owned */
	struct folded			*window;	/* owned */
	struct event			*tick;		/* owned */
	int64_t				 window_start_ns;	/* monotonic */
	time_t				 first_s;	/* wall clock of the window's first samples; 0 = none yet */
	time_t				 last_s;
	uint64_t			 lost_logged;
	bool				 finished;
	bool				 drain_over;
};

/* The /ingest upload of the window; NULL on OOM. */
static struct relay_req *
make_upload(struct selfprof *sp, time_t from, time_t until)
{
	struct relay_req *rr = relay_req_new(0, EVHTTP_REQ_POST);

	if (rr == NULL)
		return NULL;
	if (asprintf(&rr->query, "name=%s%%7B%%7D&from=%lld&until=%lld&format=folded&sampleRate=%d"
	    "&spyName=%s&units=samples&aggregationType=sum", SELFPROF_NAME, (long long)from,
	    (long long)until, SELFPROF_HZ, SPY_NAME) < 0)
		rr->query = NULL;
	rr->path = strdup("/ingest");
	if (rr->query == NULL || rr->path == NULL ||
	    relay_req_set_header(rr, "Content-Type", "text/plain") < 0 ||
	    relay_req_set_header(rr, "User-Agent", PACKAGE_NAME "/" PACKAGE_VERSION) < 0 ||
	    (sp->adhoc_auth != NULL && relay_req_set_header(rr, "Authorization", sp->adhoc_auth) < 0) ||
	    folded_write(sp->window, rr->body) < 0) {
		relay_req_free(rr);
		return NULL;
	}
	rr->body_len = evbuffer_get_length(rr->body);
	return rr;
}

/* Queue the window (when it has samples) and start a new one. */
static void
emit(struct selfprof *sp)
{
	uint64_t samples = folded_samples(sp->window);
	time_t until = sp->last_s > sp->first_s ? sp->last_s : sp->first_s + 1;
	struct relay_req *rr;
	int rc;

	sp->window_start_ns = relay_now_ns();
	if (samples == 0)
		return;
	if ((rr = make_upload(sp, sp->first_s, until)) == NULL) {
		log_error("Self-profiling: out of memory making the profile of %" PRIu64 " samples; it is lost", samples);
	} else {
		rc = server_submit_own(sp->srv, sp->adhoc, rr);
		log_debug("Self-profiling: a profile of %" PRIu64 " samples (%zu stacks, %lld to %lld) %s", samples,
		    folded_stacks(sp->window), (long long)sp->first_s, (long long)until,
		    rc == 0 ? "queued" : "dropped (see above)");
	}
	folded_reset(sp->window);
	sp->first_s = sp->last_s = 0;
}

/* Move what the ring holds into the window. */
static void
take_samples(struct selfprof *sp)
{
	const char *names[FRAMES_MAX];
	struct sample s;
	time_t now = time(NULL);
	bool any = false;
	uint64_t lost;

	while (sampler_take(&s)) {
		size_t n = frames_names(sp->frames, &s, names, FRAMES_MAX);

		if (!any && sp->first_s != 0 && now - sp->last_s > 2 * SELFPROF_WINDOW_S)
			emit(sp);	/* the process was stopped (a Lambda freeze) since the window's last samples */
		any = true;
		if (n > 0 && folded_add(sp->window, names, n, 1) < 0)
			break;
	}
	if (any) {
		if (sp->first_s == 0)
			sp->first_s = now - TICK_S;
		sp->last_s = now;
	}
	if ((lost = sampler_lost()) > sp->lost_logged) {
		log_debug("Self-profiling: %" PRIu64 " samples lost so far (the loop was busy longer than the ring holds)", lost);
		sp->lost_logged = lost;
	}
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct selfprof *sp = arg;

	(void)fd;
	(void)what;
	take_samples(sp);
	if (relay_now_ns() - sp->window_start_ns >= WINDOW_NS)
		emit(sp);
}

/* A forwarder of its own for PYROSCOPE_ADHOC_SERVER_ADDRESS; 0 or -ENOMEM. */
static int
adhoc_start(struct selfprof *sp, struct ledger *ledger)
{
	static char unusable[] = "PYROSCOPE_ADHOC_SERVER_ADDRESS is unusable";
	const struct relay_settings *cfg = sp->cfg;
	char *err = NULL;

	sp->adhoc_cfg = *cfg;
	sp->adhoc_cfg.remote = cfg->adhoc_remote;
	sp->adhoc_cfg.proxy = cfg->adhoc_proxy;
	if (cfg->adhoc_remote.host == NULL)
		sp->adhoc_cfg.unsendable = unusable;
	if (cfg->adhoc_remote.user != NULL &&
	    (sp->adhoc_auth = basic_auth_value(cfg->adhoc_remote.user, cfg->adhoc_remote.password)) == NULL)
		return -ENOMEM;
	if ((sp->adhoc = upstream_new(sp->base, &sp->adhoc_cfg, ledger, &err)) == NULL) {
		log_error("Self-profiling: cannot set up the client for PYROSCOPE_ADHOC_SERVER_ADDRESS: %s",
		    err ? err : "out of memory");
		free(err);
		return -ENOMEM;
	}
	return 0;
}

static void
release(struct selfprof *sp)
{
	sampler_stop();
	if (sp->tick != NULL)
		event_free(sp->tick);
	upstream_free(sp->adhoc);
	if (sp->adhoc_auth != NULL)
		OPENSSL_cleanse(sp->adhoc_auth, strlen(sp->adhoc_auth));
	free(sp->adhoc_auth);
	frames_free(sp->frames);
	folded_free(sp->window);
	free(sp);
}

struct selfprof *
selfprof_start(struct event_base *base, const struct relay_settings *cfg, struct server *srv,
    struct ledger *ledger)
{
	const struct timeval tick = { .tv_sec = TICK_S };
	struct selfprof *sp;
	int symerr = 0, rc;

	if (!cfg->self_profiling)
		return NULL;
	if (srv == NULL || (sp = calloc(1, sizeof(*sp))) == NULL) {
		log_error("Self-profiling: out of memory; continuing without it");
		return NULL;
	}
	sp->base = base;
	sp->cfg = cfg;
	sp->srv = srv;
	sp->frames = frames_new("/proc/self/exe", &symerr);
	sp->window = folded_new(MAX_TEXT);
	sp->tick = event_new(base, -1, EV_PERSIST, on_tick, sp);
	if (sp->frames == NULL || sp->window == NULL || sp->tick == NULL ||
	    (cfg->adhoc_address != NULL && adhoc_start(sp, ledger) < 0)) {
		log_error("Self-profiling: out of memory; continuing without it");
		release(sp);
		return NULL;
	}
	if ((rc = sampler_start(SELFPROF_HZ)) < 0) {
		log_error("Self-profiling: cannot sample the relay's CPU: %s; continuing without it", strerror(-rc));
		release(sp);
		return NULL;
	}
	if (symerr < 0 || frames_functions(sp->frames) == 0)
		log_warn("Self-profiling: no function symbols in /proc/self/exe (%s): the relay's frames are not named",
		    symerr < 0 ? strerror(-symerr) : "stripped");
	evtimer_add(sp->tick, &tick);
	sp->window_start_ns = relay_now_ns();
	log_info("Self-profiling: sampling the relay's CPU at %d Hz (%zu functions named); a profile every %d s to %s",
	    SELFPROF_HZ, frames_functions(sp->frames), SELFPROF_WINDOW_S,
	    sp->adhoc != NULL ? (cfg->adhoc_remote.display ? cfg->adhoc_remote.display : "(unusable ad-hoc address)") :
	    (cfg->remote.display ? cfg->remote.display : "(unusable remote address)"));
	return sp;
}

void
selfprof_finish(struct selfprof *sp)
{
	if (sp == NULL || sp->finished)
		return;
	sp->finished = true;
	evtimer_del(sp->tick);
	take_samples(sp);
	sampler_stop();
	emit(sp);
}

static void
on_adhoc_idle(void *arg)
{
	struct selfprof *sp = arg;

	event_base_loopexit(sp->base, NULL);
}

static void
on_drain_over(evutil_socket_t fd, short what, void *arg)
{
	struct selfprof *sp = arg;

	(void)fd;
	(void)what;
	sp->drain_over = true;
	event_base_loopexit(sp->base, NULL);
}

void
selfprof_stop(struct selfprof *sp, int64_t drain_ms)
{
	struct timeval tv = { .tv_sec = (time_t)(drain_ms / 1000), .tv_usec = (suseconds_t)(drain_ms % 1000 * 1000) };
	struct event *deadline;

	if (sp == NULL)
		return;
	selfprof_finish(sp);
	if (sp->adhoc != NULL && upstream_pending(sp->adhoc) > 0 && drain_ms > 0 &&
	    (deadline = evtimer_new(sp->base, on_drain_over, sp)) != NULL) {
		upstream_on_idle(sp->adhoc, on_adhoc_idle, sp);
		evtimer_add(deadline, &tv);
		event_base_loop(sp->base, 0);
		upstream_on_idle(sp->adhoc, NULL, NULL);
		event_free(deadline);
		if (sp->drain_over)
			log_warn("Self-profiling: %zu profiles not sent to PYROSCOPE_ADHOC_SERVER_ADDRESS in %lld ms; dropping them",
			    upstream_pending(sp->adhoc), (long long)drain_ms);
	}
	release(sp);
}
