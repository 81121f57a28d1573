/* main.c -- command line, startup in order, signals, bounded drain, teardown in reverse. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chain.h"
#include "evlog.h"
#include "extension.h"
#include "ledger.h"
#include "log.h"
#include "modules.h"
#include "selfprof.h"
#include "server.h"
#include "settings.h"
#include "upstream.h"

struct daemon {
	struct relay_settings	 cfg;
	struct ledger		 ledger;
	struct event_base	*base;
	struct chain		*chain;
	struct upstream		*up;
	struct server		*srv;
	struct server_listeners	 early;		/* opened ahead, until server_new takes them */
	struct lambda_ext	*lambda;	/* Lambda mode only */
	struct selfprof		*selfprof;	/* PYROSCOPE_SELF_PROFILING only */
	const char		*name;		/* the executable's file name */
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*sig_usr1;
	struct event		*drain_deadline;
	int			 stopping;
};

static const char usage_text[] =
"usage: pyroscope-lambda-extension [--check-config | --version | --help]\n"
"\n"
"Relays profiles that Pyroscope SDKs upload to the local listener on to\n"
"PYROSCOPE_REMOTE_ADDRESS, adding credentials, tenant and custom headers.\n"
"It answers GET /metrics (Prometheus) and GET /health itself.\n"
"\n"
"Options:\n"
"  --check-config   validate the environment, print 'configuration OK' or\n"
"                   every problem, exit 0 or 1\n"
"  --version        print the version\n"
"  --help           this text\n"
"\n"
"Configuration comes from the environment only; empty means the default.\n"
"Every variable, with its default (man 8 pyroscope-lambda-extension):\n"
"  PYROSCOPE_REMOTE_ADDRESS       " SETTINGS_DEFAULT_REMOTE "\n"
"  PYROSCOPE_AUTH_TOKEN           Bearer token; wins over Basic auth\n"
"  PYROSCOPE_BASIC_AUTH_USER, PYROSCOPE_BASIC_AUTH_PASSWORD   Basic auth\n"
"  PYROSCOPE_TENANT_ID            sent as X-Scope-OrgID\n"
"  PYROSCOPE_HTTP_HEADERS         JSON object of extra headers\n"
"  PYROSCOPE_TIMEOUT              10s per upload (and the drain on SIGTERM)\n"
"  PYROSCOPE_NUM_WORKERS          5 uploads in flight\n"
"  PYROSCOPE_RETRY_MAX_ATTEMPTS   5 (1: no retry)\n"
"  PYROSCOPE_RETRY_MAX_AGE        5m\n"
"  PYROSCOPE_KEEPALIVE_MAX_IDLE   30s; a connection to the remote idle longer is replaced\n"
"  HTTPS_PROXY, https_proxy       none; the http:// proxy (http://user:pass@host:port,\n"
"                                 port 1080 if none) to an https remote, through CONNECT\n"
"  HTTP_PROXY, http_proxy         none; the proxy to an http remote\n"
"  NO_PROXY, no_proxy             none; hosts, .domains, IPs, CIDRs reached directly; * all\n"
"  PYROSCOPE_LISTEN_ADDRESS       " SETTINGS_DEFAULT_LISTEN "\n"
"  PYROSCOPE_MAX_BODY_SIZE        8MiB\n"
"  PYROSCOPE_MAX_HEADER_SIZE      64KiB\n"
"  PYROSCOPE_QUEUE_MAX_PROFILES   256\n"
"  PYROSCOPE_QUEUE_MAX_BYTES      16MiB; in Lambda 3% of the memory (4-64MiB)\n"
"  PYROSCOPE_MAX_CONNECTIONS      0: the descriptor limit less a reserve\n"
"  PYROSCOPE_HEADER_TIMEOUT       10s for a request head to be complete\n"
"  PYROSCOPE_BODY_MIN_RATE        1KiB per second a request body must keep\n"
"  PYROSCOPE_RECEIVE_MAX_BYTES    the queue budget, for bodies being received\n"
"  PYROSCOPE_DEV_MODE             false; true: a plain local relay (hosts,\n"
"                                 containers) instead of a Lambda extension\n"
"  PYROSCOPE_FLUSH_STRATEGY       adaptive; or end-of-invoke, start-of-invoke,\n"
"                                 background\n"
"  PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL  1s between invoke starts: a busy streak\n"
"  PYROSCOPE_FLUSH_ADAPTIVE_WARMUP    5 invokes of a streak flush at their end\n"
"  PYROSCOPE_FLUSH_TIMEOUT        1s\n"
"  PYROSCOPE_FLUSH_ON_INVOKE      false\n"
"  PYROSCOPE_SELF_PROFILING       false; true: profile the relay's own CPU (100 Hz)\n"
"                                 and send it every 15 s as pyroscope.lambda.extension.cpu\n"
"  PYROSCOPE_ADHOC_SERVER_ADDRESS with self-profiling: where its profiles go\n"
"                                 instead of PYROSCOPE_REMOTE_ADDRESS\n"
"  PYROSCOPE_LAMBDA_LABELS        false; true: add function_name, function_version\n"
"                                 and region (AWS_LAMBDA_FUNCTION_NAME,\n"
"                                 AWS_LAMBDA_FUNCTION_VERSION, AWS_REGION) to names\n"
"  PYROSCOPE_LOG_LEVEL            info (panic fatal error warn debug trace)\n"
"  PYROSCOPE_LOG_FORMAT           text or json\n"
"  PYROSCOPE_LOG_TIMESTAMP_FORMAT   2006-01-02T15:04:05Z07:00 (a Go layout)\n"
"  PYROSCOPE_LOG_TIMESTAMP_DISABLE  false\n"
"  PYROSCOPE_LOG_TIMESTAMP_FIELD_NAME, PYROSCOPE_LOG_LEVEL_FIELD_NAME,\n"
"  PYROSCOPE_LOG_MSG_FIELD_NAME   key names: time, level, msg\n"
"  PYROSCOPE_LOG_LOGRUS_ERROR_FIELD_NAME, PYROSCOPE_LOG_FUNC_FIELD_NAME,\n"
"  PYROSCOPE_LOG_FILE_FIELD_NAME  accepted; these keys never appear\n"
"  AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,\n"
"  AWS_LAMBDA_INITIALIZATION_TYPE   set by Lambda\n"
"  SSL_CERT_FILE, SSL_CERT_DIR    CA store; default: the system's\n";

/* The Lambda extension name must equal the executable's file name. */
static const char *
executable_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash != NULL ? slash + 1 : argv0;
}

static const char *
env_get(const char *name)
{
	return getenv(name);
}

/* Everything a real start checks, without listening: exit status for --check-config. */
static int
check_config(const struct relay_settings *cfg)
{
	struct chain *chain = NULL;
	char *err = NULL;
	int bad = cfg->nproblems > 0;

	for (size_t i = 0; i < cfg->nproblems; i++)
		fprintf(stderr, "error: %s\n", cfg->problems[i].text);
	if (chain_new(relay_modules, cfg, &chain, &err) < 0) {
		fprintf(stderr, "error: %s\n", err ? err : "out of memory");
		bad = 1;
	}
	free(err);
	chain_free(chain);
	if (bad)
		return 1;
	printf("configuration OK\n");
	return 0;
}

static void
log_summary(const struct daemon *d, const char *what)
{
	char line[512];

	stats_summary(&d->ledger.stats, line, sizeof(line));
	log_info("%s: %s", what, line);
}

static void
on_idle(void *arg)
{
	struct daemon *d = arg;

	event_base_loopexit(d->base, NULL);
}

static void
on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	log_warn("Drain time (PYROSCOPE_TIMEOUT) is over with %zu profiles still pending; they are dropped",
	    upstream_pending(d->up));
	event_base_loopexit(d->base, NULL);
}

/*
 * First SIGTERM/SIGINT: keep serving, drain for at most PYROSCOPE_TIMEOUT.
 * Second: stop now. In Lambda mode the lifecycle owns the drain (it owns the
 * forwarder's idle callback and knows whether a flush is under way).
 */
static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {
		.tv_sec = (time_t)(d->cfg.timeout_ns / 1000000000),
		.tv_usec = (suseconds_t)(d->cfg.timeout_ns % 1000000000 / 1000),
	};

	(void)what;
	log_info("Received signal: '%s'. Exiting", sig == SIGTERM ? "terminated" : "interrupt");
	if (d->stopping++) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	selfprof_finish(d->selfprof);	/* its last window goes with the drain */
	if (d->lambda != NULL) {
		lambda_ext_drain(d->lambda, d->cfg.timeout_ns / 1000000);
		return;
	}
	if (upstream_pending(d->up) > 0)
		log_info("Draining %zu pending profiles for at most %lld ms", upstream_pending(d->up),
		    (long long)(d->cfg.timeout_ns / 1000000));
	evtimer_add(d->drain_deadline, &tv);
	upstream_on_idle(d->up, on_idle, d);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_summary(arg, "Relay statistics");
}

static int
add_signals(struct daemon *d)
{
	d->sig_term = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	d->sig_usr1 = evsignal_new(d->base, SIGUSR1, on_usr1, d);
	d->drain_deadline = evtimer_new(d->base, on_drain_deadline, d);
	if (d->sig_term == NULL || d->sig_int == NULL || d->sig_usr1 == NULL || d->drain_deadline == NULL)
		return -1;
	if (evsignal_add(d->sig_term, NULL) < 0 || evsignal_add(d->sig_int, NULL) < 0 ||
	    evsignal_add(d->sig_usr1, NULL) < 0)
		return -1;
	return 0;
}

static void
report_settings(const struct relay_settings *cfg)
{
	for (size_t i = 0; i < cfg->nproblems; i++)
		log_error("%s", cfg->problems[i].text);
	if (cfg->log_inert_key_set)
		log_debug("PYROSCOPE_LOG_FUNC_FIELD_NAME and PYROSCOPE_LOG_FILE_FIELD_NAME are accepted and, as in "
		    "the original extension, have no effect");
	if (cfg->unsendable == NULL && cfg->proxy.host != NULL)
		log_info("Relaying to %s through the proxy %s (%s) with %d workers", cfg->remote.display,
		    cfg->proxy.display, cfg->proxy.var, cfg->num_workers);
	else if (cfg->unsendable == NULL)
		log_info("Relaying to %s with %d workers", cfg->remote.display, cfg->num_workers);
	if (cfg->unsendable == NULL && cfg->proxy.no_proxy_var != NULL)
		log_info("%s names the remote: connecting to it directly, not through the proxy in %s",
		    cfg->proxy.no_proxy_var, cfg->proxy.var);
}

/*
 * The event loop. epoll's changelist folds the several enable/disable changes
 * evhttp makes to one socket within a loop iteration into one epoll_ctl (or
 * none): fewer system calls per upload. The relay never dup()s a watched fd,
 * the one case the changelist mishandles.
 */
static struct event_base *
loop_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (ec == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

/* A Lambda drain is beginning (SHUTDOWN or a stop signal): the last self-profile goes with it. */
static void
finish_selfprof(void *arg)
{
	selfprof_finish(arg);
}

/*
 * Build everything in order; returns the exit status. In Lambda, register
 * comes first of all once the listener's sockets exist (each extension's
 * register holds the function's runtime back), and the rest, the event loop
 * included, is built while the API client registers, subscribes to telemetry
 * and sends the first event/next. In dev mode the listener is bound last,
 * once everything it hands requests to exists.
 */
static int
run(struct daemon *d)
{
	struct log_config lc;
	char *err = NULL;
	int bound = 0;

	settings_log_config(&d->cfg, &lc);
	if (log_configure(&lc) < 0)
		fprintf(stderr, "pyroscope-lambda-extension: out of memory configuring the log\n");
	evlog_route();
	if (!d->cfg.dev_mode && d->cfg.runtime_api == NULL) {
		log_error("Cannot start as a Lambda extension: AWS_LAMBDA_RUNTIME_API is not set; exiting "
		    "(set PYROSCOPE_DEV_MODE=true to run as a local relay)");
		return 1;
	}
	if (!d->cfg.dev_mode) {
		server_listen_early(&d->cfg, &d->early);
		d->lambda = lambda_ext_register(&d->cfg, d->name, &err);
		if (d->lambda == NULL) {
			log_error("Cannot start as a Lambda extension: %s; exiting", err ? err : "out of memory");
			free(err);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	d->base = loop_new();
	if (d->base == NULL || add_signals(d) < 0) {
		log_error("Cannot start: cannot set up the event loop; exiting");
		return 1;
	}
	log_info("Starting relay");
	report_settings(&d->cfg);
	if (chain_new(relay_modules, &d->cfg, &d->chain, &err) < 0) {
		log_error("Cannot start: cannot initialise module %s; exiting", err ? err : "(out of memory)");
		free(err);
		return 1;
	}
	ledger_init(&d->ledger, d->chain);
	d->up = upstream_new(d->base, &d->cfg, &d->ledger, &err);
	if (d->up == NULL) {
		log_error("Cannot start: cannot set up the upstream client: %s; exiting", err ? err : "out of memory");
		free(err);
		return 1;
	}
	d->srv = server_new(d->base, &d->cfg, &d->early, d->chain, &d->ledger, d->up, &bound);
	if (d->srv == NULL || bound == 0) {
		if (d->cfg.dev_mode) {
			log_error("No listen address could be bound (PYROSCOPE_LISTEN_ADDRESS); exiting");
			return 1;
		}
		/* The function must keep working: follow events without a relay. */
		log_error("No listen address could be bound (PYROSCOPE_LISTEN_ADDRESS); profiles cannot be "
		    "received, but the extension keeps following Lambda events so the function is not affected");
	}
	if (d->lambda != NULL && lambda_ext_follow(d->lambda, d->base, d->up) < 0) {
		log_error("Cannot start as a Lambda extension: out of memory; exiting");
		return 1;
	}
	d->selfprof = selfprof_start(d->base, &d->cfg, d->srv, &d->ledger);
	if (d->selfprof != NULL && d->lambda != NULL)
		lambda_ext_on_drain(d->lambda, finish_selfprof, d->selfprof);
	/* The first upload's TLS set-up, made now; a Lambda extension's lifecycle does it once init is over. */
	if (d->lambda == NULL)
		upstream_warm(d->up);
	event_base_dispatch(d->base);
	return 0;
}

/* Undo run() in reverse; returns the Lambda lifecycle's exit status (0 in dev mode). */
static int
teardown(struct daemon *d)
{
	int status = lambda_ext_stop(d->lambda);

	/* The signals first: the forwarder's teardown runs the loop once more. */
	if (d->sig_term != NULL)
		event_free(d->sig_term);
	if (d->sig_int != NULL)
		event_free(d->sig_int);
	if (d->sig_usr1 != NULL)
		event_free(d->sig_usr1);
	if (d->drain_deadline != NULL)
		event_free(d->drain_deadline);
	/* Lambda: the lifecycle left 150 ms before the SHUTDOWN deadline; take at most 100 of them. */
	selfprof_stop(d->selfprof, d->cfg.dev_mode ? d->cfg.timeout_ns / 1000000 : 100);
	server_free(d->srv);
	server_listeners_close(&d->early);	/* a start that failed before server_new */
	if (d->up != NULL) {
		upstream_free(d->up);	/* drops and counts what is left */
		log_summary(d, "Relay stopped");
	}
	chain_free(d->chain);
	if (d->base != NULL)
		event_base_free(d->base);
	settings_clear(&d->cfg);
	log_reset();
	libevent_global_shutdown();
	return status;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	int check = 0, status, lambda_status;

	memset(&d, 0, sizeof(d));
	server_listeners_init(&d.early);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check = 1;
		} else {
			fprintf(stderr, "pyroscope-lambda-extension: unknown option '%s'\n%s", argv[i], usage_text);
			return 2;
		}
	}
	if (settings_load(&d.cfg, env_get) < 0) {
		fprintf(stderr, "pyroscope-lambda-extension: out of memory reading the configuration\n");
		return 1;
	}
	if (check) {
		status = check_config(&d.cfg);
		settings_clear(&d.cfg);
		return status;
	}
	d.name = executable_name(argv[0]);
	status = run(&d);
	lambda_status = teardown(&d);
	return status != 0 ? status : lambda_status;
}
