/* extension.h -- the Lambda extension as the daemon sees it: register first, then follow; one drain, one stop. */
#ifndef RELAY_EXTENSION_H
#define RELAY_EXTENSION_H

#include <stdint.h>

#include "settings.h"
#include "upstream.h"

struct event_base;
struct lambda_ext;

/*
 * Register with the Extensions API at cfg->runtime_api as `name` (the
 * executable's file name) at once: call it first in startup, as soon as the
 * listener's sockets exist; the Lambda API client then subscribes to
 * telemetry and sends the first event/next by itself, and the call returns
 * once those are out (50 ms at most): the daemon builds the rest, the event
 * loop included, after them. Their results wait for lambda_ext_follow. NULL
 * with *reterr (malloc'd, or NULL when out of memory) when the extension
 * cannot start.
 */
struct lambda_ext *lambda_ext_register(const struct relay_settings *cfg, const char *name, char **reterr);
/*
 * Follow Lambda events on `base`, flushing `up` before freezes and draining
 * it at SHUTDOWN; before the loop runs. The extension owns the forwarder's
 * idle callback from now on. When the lifecycle ends, the loop is exited.
 * 0, or -ENOMEM.
 */
int	lambda_ext_follow(struct lambda_ext *ext, struct event_base *base, struct upstream *up);
/* A stop signal: stop following events, send what is pending for at most budget_ms, then end the loop. */
void	lambda_ext_drain(struct lambda_ext *ext, int64_t budget_ms);
/* Call cb(arg) once when a drain begins (SHUTDOWN or a stop signal), before what is pending is counted. */
void	lambda_ext_on_drain(struct lambda_ext *ext, void (*cb)(void *), void *arg);
/* After the loop: free everything; returns the process's exit status. NULL-safe (0). */
int	lambda_ext_stop(struct lambda_ext *ext);

#endif
