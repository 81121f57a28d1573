/* lambda_ext.h -- the Lambda extension lifecycle: events, flushes before freezes, bounded shutdown. */
#ifndef RELAY_LAMBDA_EXT_H
#define RELAY_LAMBDA_EXT_H

#include "lambda_api.h"
#include "settings.h"
#include "upstream.h"

struct event_base;
struct lambda_ext;

/*
 * Follow Lambda events with `api` (already registering) on `base`, flushing
 * `up` as cfg->flush_strategy says. When the lifecycle ends (after SHUTDOWN,
 * or when events cannot be followed) the loop is exited; then
 * lambda_ext_exit_status() gives the process's exit status. NULL on OOM.
 */
struct lambda_ext *lambda_ext_new(struct event_base *base, const struct relay_settings *cfg,
	    struct upstream *up, struct lambda_api *api);
/* The local telemetry listener's port (0: none); before the event loop runs. */
void	lambda_ext_set_telemetry_port(struct lambda_ext *lx, int port);
/* Telemetry listener callbacks (struct telemetry_handlers). */
void	lambda_ext_on_start(const char *request_id, void *arg);
void	lambda_ext_on_runtime_done(const char *request_id, const char *status, void *arg);
int	lambda_ext_exit_status(const struct lambda_ext *lx);
void	lambda_ext_free(struct lambda_ext *lx);

#endif
