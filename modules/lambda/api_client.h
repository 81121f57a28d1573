/* api_client.h -- the Lambda Extensions and Telemetry API client, run in its own thread. */
#ifndef RELAY_API_CLIENT_H
#define RELAY_API_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct lambda_api;

enum lambda_cmd {
	LAMBDA_CMD_REGISTER,
	LAMBDA_CMD_NEXT,
	LAMBDA_CMD_SUBSCRIBE,
	LAMBDA_CMD_INIT_ERROR,
	LAMBDA_CMD_EXIT_ERROR,
	LAMBDA_CMD_QUIT
};

enum lambda_event { LAMBDA_EV_NONE, LAMBDA_EV_INVOKE, LAMBDA_EV_SHUTDOWN, LAMBDA_EV_OTHER };

/* The answer to one command, passed by value from the thread to the event loop. */
struct lambda_result {
	enum lambda_cmd		cmd;
	bool			ok;
	int			status;			/* HTTP status, 0 when no answer */
	char			error[256];		/* why it failed, for the log */
	char			error_type[64];		/* the API's errorType, when it answered one */
	char			error_message[128];	/* the API's errorMessage, when it answered one */
	/* LAMBDA_CMD_REGISTER */
	char			function_name[128];
	/* LAMBDA_CMD_NEXT */
	enum lambda_event	event;
	int64_t			deadline_ms;		/* epoch milliseconds */
	char			request_id[64];
	char			shutdown_reason[64];
};

/*
 * Start the client thread and send the register call at once (it is on the
 * function's cold-start path): for INVOKE and SHUTDOWN, or for SHUTDOWN only
 * when `invoke` is false. `runtime_api` is AWS_LAMBDA_RUNTIME_API
 * ("host:port"), `name` the executable's file name. curl_global_init must
 * have been called. NULL with *reterr (malloc'd) on failure.
 */
struct lambda_api *lambda_api_start(const char *runtime_api, const char *name, bool invoke, char **reterr);
/* Register again (after a refused register), for INVOKE and SHUTDOWN or SHUTDOWN only. */
void	lambda_api_register(struct lambda_api *api, bool invoke);
/* Deliver results to cb on `base` from now on (results that came earlier are delivered too). */
int	lambda_api_attach(struct lambda_api *api, struct event_base *base,
	    void (*cb)(const struct lambda_result *res, void *arg), void *arg);
/* Queue a command; its result comes back through the callback. */
void	lambda_api_next(struct lambda_api *api);
/* Subscribe to platform telemetry delivered to http://sandbox.localdomain:<port>/. */
void	lambda_api_subscribe(struct lambda_api *api, int port);
/* Report a fatal error: init/error (during init) or exit/error; type is "Extension.<Reason>". */
void	lambda_api_report_error(struct lambda_api *api, bool init, const char *type, const char *message);
/*
 * Wait (blocking, at most timeout_ms) for the next result without an event
 * loop; for fatal paths before the loop runs. 0 or -ETIMEDOUT.
 */
int	lambda_api_wait(struct lambda_api *api, int timeout_ms, struct lambda_result *ret);
/*
 * Stop the thread and free everything. A thread still blocked in event/next
 * cannot be interrupted: it is left to end with the process, and true is
 * returned: libcurl is still in use (no curl_global_cleanup()).
 */
bool	lambda_api_free(struct lambda_api *api);

#endif
