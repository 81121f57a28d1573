/* lifecycle.h -- the Lambda lifecycle state machine: events, flushes before freezes, bounded drains. */
#ifndef RELAY_LIFECYCLE_H
#define RELAY_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "api_client.h"
#include "settings.h"
#include "upstream.h"

struct event_base;
struct lifecycle;

/* The Extensions API commands the lifecycle sends; their results come back through lifecycle_on_result(). */
struct lifecycle_api {
	void	(*register_again)(void *arg, bool invoke);	/* after a refused register; event/next follows */
	void	(*next)(void *arg);
	void	(*report_error)(void *arg, bool init, const char *type, const char *message);
	void	*arg;
};

/*
 * Follow Lambda events on `base`, flushing `up` as cfg->flush_strategy says.
 * The API client starts on its own (register: for SHUTDOWN only when
 * cfg->managed_instances, else for INVOKE and SHUTDOWN; once registered, the
 * subscription to the telemetry port when there is one, then the first
 * event/next): their results come in that order, and the forwarder is
 * paused from the start, since the sandbox may freeze at that event/next. The lifecycle is the
 * only user of the forwarder's idle callback. When the lifecycle ends (after
 * SHUTDOWN, a drain, or when events cannot be followed) the loop is exited;
 * then lifecycle_exit_status() gives the process's exit status. NULL on OOM.
 */
struct lifecycle *lifecycle_new(struct event_base *base, const struct relay_settings *cfg,
	    struct upstream *up, const struct lifecycle_api *api);
/* Whether cfg's flush strategy waits for platform.runtimeDone: then the client subscribes to telemetry. */
bool	lifecycle_wants_telemetry(const struct relay_settings *cfg);
/* The local telemetry listener's port the client subscribes (0: none); before the first result arrives. */
void	lifecycle_set_telemetry_port(struct lifecycle *lx, int port);
/* The result of an API command (register, next, subscribe, init/exit error). */
void	lifecycle_on_result(const struct lambda_result *res, void *arg);
/* Telemetry listener callbacks (struct telemetry_handlers). */
void	lifecycle_on_start(const char *request_id, void *arg);
void	lifecycle_on_runtime_done(const char *request_id, const char *status, void *arg);
/*
 * Stop following events (a stop signal): send what is pending for at most
 * budget_ms, then end the loop with status 0. Ignored when already ending.
 */
void	lifecycle_drain(struct lifecycle *lx, int64_t budget_ms);
/* Call cb(arg) once when a drain begins (SHUTDOWN or lifecycle_drain), before what is pending is counted. */
void	lifecycle_on_drain(struct lifecycle *lx, void (*cb)(void *), void *arg);
int	lifecycle_exit_status(const struct lifecycle *lx);
void	lifecycle_free(struct lifecycle *lx);

#endif
