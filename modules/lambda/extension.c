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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

static void
api_register_again(void *arg, bool invoke)
{
	lambda_api_register(arg, invoke);
}

static void
api_next(void *arg)
{
	lambda_api_next(arg);
}

static void
api_subscribe(void *arg, int port)
{
	lambda_api_subscribe(arg, port);
}

static void
api_report_error(void *arg, bool init, const char *type, const char *message)
{
	lambda_api_report_error(arg, init, type, message);
}

/* Only end-of-invoke and adaptive wait for platform.runtimeDone; Managed Instances has none. */
static void
start_telemetry(struct lambda_ext *ext, struct event_base *base, const struct relay_settings *cfg)
{
	const struct telemetry_handlers h = {
		.on_start = lifecycle_on_start,
		.on_runtime_done = lifecycle_on_runtime_done,
		.arg = ext->lc,
	};
	char *err = NULL;
	int port = 0;

	if ((cfg->flush_strategy != FLUSH_END_OF_INVOKE && cfg->flush_strategy != FLUSH_ADAPTIVE) ||
	    cfg->managed_instances)
		return;
	ext->telemetry = telemetry_new(base, &h, &port, &err);
	if (ext->telemetry == NULL) {
		log_error("Cannot start the telemetry listener: %s; continuing without it",
		    err ? err : "out of memory");
		free(err);
	}
	lifecycle_set_telemetry_port(ext->lc, port);
}

/* Registered, but the lifecycle cannot run: tell Lambda through init/error, briefly waiting for the answer. */
static void
report_init_failure(struct lambda_api *api, const char *why)
{
	struct lambda_result res;

	lambda_api_report_error(api, true, "Extension.InitFailed", why);
	while (lambda_api_wait(api, 2000, &res) == 0 && res.cmd != LAMBDA_CMD_INIT_ERROR)
		;
}

struct lambda_ext *
lambda_ext_start(struct event_base *base, const struct relay_settings *cfg, struct upstream *up,
    const char *name, char **reterr)
{
	const struct lifecycle_api ops = {
		.register_again = api_register_again,
		.next = api_next,
		.subscribe = api_subscribe,
		.report_error = api_report_error,
	};
	struct lifecycle_api bound = ops;
	struct lambda_ext *ext;

	*reterr = NULL;
	if (cfg->runtime_api == NULL) {
		*reterr = strdup("AWS_LAMBDA_RUNTIME_API is not set");
		return NULL;
	}
	if ((ext = calloc(1, sizeof(*ext))) == NULL)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Register first: it is on the function's cold-start path. Managed Instances offers no INVOKE. */
	ext->api = lambda_api_start(cfg->runtime_api, name, !cfg->managed_instances, reterr);
	if (ext->api == NULL) {
		lambda_ext_stop(ext);
		return NULL;
	}
	bound.arg = ext->api;
	ext->lc = lifecycle_new(base, cfg, up, &bound);
	if (ext->lc == NULL || lambda_api_attach(ext->api, base, lifecycle_on_result, ext->lc) < 0) {
		report_init_failure(ext->api, "out of memory starting the Lambda lifecycle");
		lambda_ext_stop(ext);
		return NULL;
	}
	start_telemetry(ext, base, cfg);
	return ext;
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
	bool curl_in_use;

	if (ext == NULL)
		return 0;
	status = ext->lc != NULL ? lifecycle_exit_status(ext->lc) : 1;
	lifecycle_free(ext->lc);
	/* A thread still in a long poll keeps using libcurl until the process ends. */
	curl_in_use = lambda_api_free(ext->api);
	telemetry_free(ext->telemetry);
	free(ext);
	if (!curl_in_use)
		curl_global_cleanup();
	return status;
}
