/* settings.h -- the daemon's configuration: PYROSCOPE_* environment -> immutable struct. */
#ifndef RELAY_SETTINGS_H
#define RELAY_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "proxyenv.h"
#include "remote.h"

#define SETTINGS_MAX_LISTEN	8
#define SETTINGS_MAX_HEADERS	64

/* The one Pyroscope remote used when PYROSCOPE_REMOTE_ADDRESS is unset. */
#define SETTINGS_DEFAULT_REMOTE	"https://profiles-prod-001.grafana.net"
#define SETTINGS_DEFAULT_LISTEN	"127.0.0.1:4040,[::1]:4040"

struct listen_addr {
	char	*host;		/* owned: IP literal or name, without [] */
	int	 port;
};

/* When queued profiles are sent relative to Lambda's invoke lifecycle. */
enum flush_strategy {
	FLUSH_ADAPTIVE = 0,		/* start-of-invoke while invokes come often, else end-of-invoke (default) */
	FLUSH_END_OF_INVOKE,		/* after the runtime is done, before event/next */
	FLUSH_START_OF_INVOKE,		/* when an INVOKE arrives, as the original's FLUSH_ON_INVOKE */
	FLUSH_BACKGROUND		/* never hold event/next; send whenever running */
};

struct custom_header {
	char	*name;		/* owned */
	char	*value;		/* owned */
};

/*
 * One problem found while reading the environment. A start logs each at error
 * level and goes on with the fallback; --check-config prints them and fails.
 */
struct settings_problem {
	char	*text;		/* owned: names the variable, the value (unless secret) and the fallback */
};

struct relay_settings {
	bool			 dev_mode;
	char			*runtime_api;		/* AWS_LAMBDA_RUNTIME_API, or NULL */

	/* logging (logrus-compatible) */
	enum log_level		 log_level;
	enum log_format		 log_format;
	char			*log_timestamp_format;
	bool			 log_timestamp_disable;
	char			*log_time_key;
	char			*log_level_key;
	char			*log_msg_key;
	char			*log_error_key;
	bool			 log_inert_key_set;	/* a func/file key name was set: it has no effect */

	/* the remote */
	char			*remote_address;	/* as configured (may hold userinfo: never log) */
	struct remote_url	 remote;		/* parsed; host is NULL when unusable */
	char			*auth_token;
	char			*basic_auth_user;
	char			*basic_auth_password;
	char			*tenant_id;
	size_t			 nheaders;
	struct custom_header	 headers[SETTINGS_MAX_HEADERS];
	/*
	 * The HTTP proxy to the remote (HTTPS_PROXY or HTTP_PROXY, NO_PROXY):
	 * proxy.host is NULL when the remote is reached directly.
	 */
	struct proxy_config	 proxy;

	/* forwarding */
	int64_t			 timeout_ns;		/* whole upload, > 0 */
	int			 num_workers;		/* uploads in flight at most */
	int			 retry_max_attempts;	/* uploads per profile at most (1 = no retry) */
	int64_t			 retry_max_age_ns;	/* no retry once a profile is this old */
	int64_t			 keepalive_max_idle_ns;	/* a connection to the remote idle longer is replaced */
	enum flush_strategy	 flush_strategy;
	int64_t			 flush_timeout_ns;	/* budget of one flush before event/next */
	int64_t			 flush_busy_interval_ns; /* adaptive: invokes starting this close are a busy streak */
	int			 flush_warmup_invokes;	/* adaptive: invokes of a streak that still flush at their end */
	bool			 managed_instances;	/* Lambda Managed Instances: SHUTDOWN only, no freeze */
	bool			 self_profiling;	/* sample the relay's own CPU (selfprof.c) */
	/*
	 * PYROSCOPE_ADHOC_SERVER_ADDRESS, read only with self_profiling: where
	 * self-profiles go instead of the remote. NULL when unset; adhoc_remote.host
	 * is NULL when it is set but unusable (self-profiles are then dropped).
	 */
	char			*adhoc_address;		/* as configured (may hold userinfo: never log) */
	struct remote_url	 adhoc_remote;
	struct proxy_config	 adhoc_proxy;		/* the proxy to it, as `proxy` is to the remote */

	/* listening and limits */
	size_t			 nlisten;
	struct listen_addr	 listen[SETTINGS_MAX_LISTEN];
	uint64_t		 max_body_bytes;
	uint64_t		 max_header_bytes;
	uint64_t		 queue_max_profiles;
	uint64_t		 queue_max_bytes;

	/* client connections (what one local client may hold) */
	uint64_t		 max_connections;	/* 0: derived from the descriptor limit at startup */
	int64_t			 header_timeout_ns;	/* a request head must be complete within this */
	uint64_t		 body_min_rate;		/* bytes per second a body must keep, on average */
	uint64_t		 receive_max_bytes;	/* bytes of requests being received, all clients together */

	/*
	 * PYROSCOPE_LAMBDA_LABELS: the Lambda environment, added as labels to
	 * /ingest names (mod_labels). Read only when on; unset or empty: NULL.
	 */
	bool			 lambda_labels;
	char			*lambda_function_name;		/* owned: AWS_LAMBDA_FUNCTION_NAME */
	char			*lambda_function_version;	/* owned: AWS_LAMBDA_FUNCTION_VERSION */
	char			*lambda_region;			/* owned: AWS_REGION */

	/*
	 * Why nothing can be sent (bad remote address, unusable headers JSON,
	 * credentials that cannot go in a header), or NULL. The daemon still
	 * answers SDKs; uploads are counted and logged as dropped.
	 */
	char			*unsendable;		/* owned */

	/* what was wrong, in the order found */
	size_t			 nproblems;
	struct settings_problem	*problems;		/* owned array */
};

/*
 * Read the configuration from `getenv_fn` (getenv in production; tests pass
 * their own). Always fills *ret with a usable configuration: every invalid
 * value is replaced by its documented fallback and recorded in ret->problems.
 * Returns 0, or -ENOMEM (then *ret is cleared).
 */
int	settings_load(struct relay_settings *ret, const char *(*getenv_fn)(const char *name));
/* Free everything; NULL-safe, idempotent. */
void	settings_clear(struct relay_settings *s);
/* "adaptive", "end-of-invoke", "start-of-invoke" or "background". */
const char *settings_flush_strategy_name(enum flush_strategy f);
/* The logger configuration the settings describe (borrowed strings). */
void	settings_log_config(const struct relay_settings *s, struct log_config *ret);

#endif
