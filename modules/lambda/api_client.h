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

/* What the client starts with. */
struct lambda_api_setup {
	const char	*runtime_api;		/* AWS_LAMBDA_RUNTIME_API, "host:port" */
	const char	*name;			/* the executable's file name */
	bool		 invoke;		/* register for INVOKE and SHUTDOWN; false: SHUTDOWN only */
	int		 telemetry_port;	/* subscribe platform telemetry to it; 0: no subscription */
};

/*
 * Start the client thread, which begins at once with what is on the
 * function's cold-start path, in one go: register; once registered, the
 * telemetry subscription (when a port is given) and the first event/next.
 * Their results come back in that order once attached; a refused register is
 * the only one (nothing follows it). Returns once those calls are out or over
 * (START_WAIT_MS at most), so that nothing the caller does competes with them.
 * curl_global_init must have been called.
 * NULL with *reterr (malloc'd, or NULL when out of memory) on failure.
 */
struct lambda_api *lambda_api_start(const struct lambda_api_setup *how, char **reterr);
/* Deliver results to cb on `base` from now on (results that came earlier are delivered too). 0 or -ENOMEM. */
int	lambda_api_attach(struct lambda_api *api, struct event_base *base,
	    void (*cb)(const struct lambda_result *res, void *arg), void *arg);
/* Register again after a refused register; event/next follows as at the start, without a subscription. */
void	lambda_api_register(struct lambda_api *api, bool invoke);
/* Queue a command; its result comes back through the callback. */
void	lambda_api_next(struct lambda_api *api);
/* Report a fatal error: init/error (during init) or exit/error; type is "Extension.<Reason>". */
void	lambda_api_report_error(struct lambda_api *api, bool init, const char *type, const char *message);
/*
 * Stop the thread and free everything. A thread still blocked in event/next
 * cannot be interrupted: it is left to end with the process, and true is
 * returned: libcurl is still in use (no curl_global_cleanup()).
 */
bool	lambda_api_free(struct lambda_api *api);

#endif
