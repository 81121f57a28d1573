/* extension.c -- the Lambda extension's one entry point: wires the API client, the telemetry listener and the lifecycle. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * What runs where:
 *   api_client.c          a thread making the blocking Extensions/Telemetry API
 *                         calls (register, event/next, subscribe, errors);
 *   telemetry_listener.c  an evhttp listener for platform events (runtimeDone);
 *   lifecycle.c           the state machine on the event loop, fed by both.
 * libcurl serves the API client only: it is initialised and cleaned up here.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api_client.h"
#include "extension.h"
#include "lifecycle.h"
#include "log.h"
#include "telemetry_listener.h"

struct lambda_ext {
	struct lambda_api	*api;		/* owned */
	struct lifecycle	*lc;		/* owned */
	struct telemetry	*telemetry;	/* owned; NULL when not needed or not available */
	const struct relay_settings *cfg;	/* borrowed */
	int			 telemetry_fd;	/* opened at register, until the listener takes it */
	int			 telemetry_port;	/* subscribed at register; 0: none */
	bool			 curl_initialised;
};

static void
api_register_again(void *arg, bool invoke)
{
	struct lambda_ext *ext = arg;

	lambda_api_register(ext->api, invoke);
}

static void
api_next(void *arg)
{
	struct lambda_ext *ext = arg;

	lambda_api_next(ext->api);
}

static void
api_report_error(void *arg, bool init, const char *type, const char *message)
{
	struct lambda_ext *ext = arg;

	lambda_api_report_error(ext->api, init, type, message);
}

struct lambda_ext *
lambda_ext_register(const struct relay_settings *cfg, const char *name, char **reterr)
{
	struct lambda_ext *ext;
	struct lambda_api_setup how = {
		.runtime_api = cfg->runtime_api,
		.name = name,
		.invoke = !cfg->managed_instances,	/* Managed Instances offers no INVOKE */
	};

	*reterr = NULL;
	if (cfg->runtime_api == NULL) {
		*reterr = strdup("AWS_LAMBDA_RUNTIME_API is not set");
		return NULL;
	}
	if ((ext = calloc(1, sizeof(*ext))) == NULL)
		return NULL;
	ext->cfg = cfg;
	ext->telemetry_fd = -1;
	if (lifecycle_wants_telemetry(cfg) && (ext->telemetry_fd = telemetry_socket(&how.telemetry_port)) < 0) {
		log_error("Cannot start the telemetry listener: cannot listen on 127.0.0.1: %s; continuing without it",
		    strerror(errno));
		how.telemetry_port = 0;
	}
	ext->telemetry_port = how.telemetry_port;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ext->curl_initialised = true;
	ext->api = lambda_api_start(&how, reterr);
	if (ext->api == NULL) {
		lambda_ext_stop(ext);
		return NULL;
	}
	return ext;
}

int
lambda_ext_follow(struct lambda_ext *ext, struct event_base *base, struct upstream *up)
{
	const struct lifecycle_api ops = {
		.register_again = api_register_again,
		.next = api_next,
		.report_error = api_report_error,
		.arg = ext,
	};
	struct telemetry_handlers h = {
		.on_start = lifecycle_on_start,
		.on_runtime_done = lifecycle_on_runtime_done,
	};
	struct lifecycle *lc = lifecycle_new(base, ext->cfg, up, &ops);

	if (lc == NULL)
		return -ENOMEM;
	ext->lc = lc;
	if (lambda_api_attach(ext->api, base, lifecycle_on_result, lc) < 0)
		return -ENOMEM;
	h.arg = lc;
	if (ext->telemetry_fd >= 0) {
		ext->telemetry = telemetry_new(base, &h, ext->telemetry_fd);
		ext->telemetry_fd = -1;
		if (ext->telemetry == NULL) {
			log_error("Cannot start the telemetry listener: out of memory; continuing without it");
			ext->telemetry_port = 0;
		}
	}
	lifecycle_set_telemetry_port(lc, ext->telemetry_port);
	return 0;
}

void
lambda_ext_drain(struct lambda_ext *ext, int64_t budget_ms)
{
	lifecycle_drain(ext->lc, budget_ms);
}

void
lambda_ext_on_drain(struct lambda_ext *ext, void (*cb)(void *), void *arg)
{
	lifecycle_on_drain(ext->lc, cb, arg);
}

int
lambda_ext_stop(struct lambda_ext *ext)
{
	int status;
	bool curl_in_use, curl_initialised;

	if (ext == NULL)
		return 0;
	status = ext->lc != NULL ? lifecycle_exit_status(ext->lc) : 1;
	lifecycle_free(ext->lc);
	/* A thread still in a long poll keeps using libcurl until the process ends. */
	curl_in_use = lambda_api_free(ext->api);
	telemetry_free(ext->telemetry);
	if (ext->telemetry_fd >= 0)
		close(ext->telemetry_fd);
	curl_initialised = ext->curl_initialised;
	free(ext);
	if (curl_initialised && !curl_in_use)
		curl_global_cleanup();
	return status;
}
