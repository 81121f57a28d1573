/* api_client.c -- the Lambda Extensions and Telemetry API client, run in its own thread. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Why a thread: event/next is a long poll that may last for hours (the
 * sandbox is frozen meanwhile), and the relay's event loop must keep serving
 * SDK uploads and upstream connections while it waits. A thread running
 * blocking libcurl calls, fed commands and returning results through two
 * pipes, keeps the loop free and shares no state with it: every message is a
 * fixed-size struct copied through the pipe (smaller than PIPE_BUF, so each
 * write is atomic). The thread never logs; the loop logs what it reports.
 */

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "api_client.h"
#include "fdio.h"

#define RESPONSE_MAX	(1 << 20)
#define CALL_TIMEOUT_MS	10000L	/* every call but event/next, which must not time out */
#define START_WAIT_MS	50	/* lambda_api_start waits this long at most for the start-up calls */

struct command {
	enum lambda_cmd	cmd;
	bool		invoke;		/* register: for INVOKE too */
	int		port;		/* register: the telemetry listener to subscribe (0: none) */
	char		type[64];
	char		message[512];
};

struct lambda_api {
	pthread_t	 thread;
	int		 cmd_pipe[2];		/* loop -> thread */
	int		 res_pipe[2];		/* thread -> loop */
	bool		 thread_started;
	bool		 busy_next;		/* an event/next is outstanding, or follows a register */
	sem_t		 sent;			/* posted when the start-up calls are out, or over */
	bool		 sent_init;
	struct event	*res_event;		/* owned */
	void		(*cb)(const struct lambda_result *, void *);
	void		*cb_arg;
	/* used by the thread only */
	CURL		*curl;
	char		 base_url[256];
	char		 name[256];
	char		 id[128];		/* Lambda-Extension-Identifier */
};

/* A response body, capped. */
struct body {
	char	*data;
	size_t	 len;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *grown;

	if (b->len + n > RESPONSE_MAX)
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	grown = realloc(b->data, b->len + n + 1);
	if (grown == NULL)
		return 0;
	memcpy(grown + b->len, ptr, n);
	b->len += n;
	grown[b->len] = '\0';
	b->data = grown;
	return n;
}

/* Capture Lambda-Extension-Identifier from the register answer. */
static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct lambda_api *api = arg;
	size_t n = size * nmemb;
	static const char key[] = "lambda-extension-identifier:";

	if (n > sizeof(key) - 1 && strncasecmp(ptr, key, sizeof(key) - 1) == 0) {
		const char *v = ptr + sizeof(key) - 1;
		size_t len = n - (sizeof(key) - 1);

		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof(api->id)) {
			memcpy(api->id, v, len);
			api->id[len] = '\0';
		}
	}
	return n;
}

/* One HTTP call; fills res->status/res->error; the body is returned in *body. */
static int
call(struct lambda_api *api, const char *method, const char *path, struct curl_slist *headers,
    const char *payload, long timeout_ms, struct body *body, struct lambda_result *res)
{
	char url[512];
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", api->base_url, path);
	curl_easy_reset(api->curl);
	curl_easy_setopt(api->curl, CURLOPT_URL, url);
	curl_easy_setopt(api->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(api->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(api->curl, CURLOPT_PROXY, "");		/* the API is local: never a proxy */
	curl_easy_setopt(api->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(api->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(api->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(api->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(api->curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(api->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(api->curl, CURLOPT_HEADERDATA, api);
	if (payload != NULL) {
		curl_easy_setopt(api->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(api->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	rc = curl_easy_perform(api->curl);
	if (rc != CURLE_OK) {
		snprintf(res->error, sizeof(res->error), "%s %s: %s", method, path, curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(api->curl, CURLINFO_RESPONSE_CODE, &status);
	res->status = (int)status;
	return 0;
}

static struct curl_slist *
id_header(struct lambda_api *api, struct curl_slist *list)
{
	char h[192];

	snprintf(h, sizeof(h), "Lambda-Extension-Identifier: %s", api->id);
	return curl_slist_append(list, h);
}

static void
copy_string(json_object *root, const char *key, char *out, size_t size)
{
	json_object *v = NULL;

	if (json_object_object_get_ex(root, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(v));
}

/* A non-2xx answer: the log text, and the API's errorType and errorMessage when the body has them. */
static void
bad_status(struct lambda_result *res, const char *what, const struct body *b)
{
	json_object *root = json_tokener_parse(b->data ? b->data : "");

	snprintf(res->error, sizeof(res->error), "%s answered HTTP %d: %.120s", what, res->status,
	    b->data ? b->data : "");
	if (root != NULL && json_object_is_type(root, json_type_object)) {
		copy_string(root, "errorType", res->error_type, sizeof(res->error_type));
		copy_string(root, "errorMessage", res->error_message, sizeof(res->error_message));
	}
	json_object_put(root);
}

static void
do_register(struct lambda_api *api, bool invoke, struct lambda_result *res)
{
	struct curl_slist *h = NULL;
	struct body b = { NULL, 0 };
	char name[300];

	snprintf(name, sizeof(name), "Lambda-Extension-Name: %s", api->name);
	h = curl_slist_append(h, name);
	h = curl_slist_append(h, "Content-Type: application/json");
	api->id[0] = '\0';
	if (call(api, "POST", "/2020-01-01/extension/register", h, invoke ?
	    "{\"events\":[\"INVOKE\",\"SHUTDOWN\"]}" : "{\"events\":[\"SHUTDOWN\"]}", CALL_TIMEOUT_MS, &b, res) == 0) {
		if (res->status != 200) {
			bad_status(res, "register", &b);
		} else if (api->id[0] == '\0') {
			snprintf(res->error, sizeof(res->error), "register answered without Lambda-Extension-Identifier");
		} else {
			json_object *root = json_tokener_parse(b.data ? b.data : "");
			json_object *fn = NULL;

			if (json_object_object_get_ex(root, "functionName", &fn))
				snprintf(res->function_name, sizeof(res->function_name), "%s",
				    json_object_get_string(fn));
			json_object_put(root);
			res->ok = true;
		}
	}
	curl_slist_free_all(h);
	free(b.data);
}

/* INVOKE/SHUTDOWN as JSON; deadlineMs may come as a number or a string. */
static void
parse_event(const char *text, struct lambda_result *res)
{
	json_object *root = json_tokener_parse(text ? text : "");
	json_object *v = NULL;
	char type[32] = "";

	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		snprintf(res->error, sizeof(res->error), "event/next answered a body that is not a JSON object");
		json_object_put(root);
		return;
	}
	copy_string(root, "eventType", type, sizeof(type));
	res->event = strcasecmp(type, "INVOKE") == 0 ? LAMBDA_EV_INVOKE :
	    strcasecmp(type, "SHUTDOWN") == 0 ? LAMBDA_EV_SHUTDOWN : LAMBDA_EV_OTHER;
	if (json_object_object_get_ex(root, "deadlineMs", &v)) {
		if (json_object_is_type(v, json_type_string)) {
			char *end;

			errno = 0;
			res->deadline_ms = strtoll(json_object_get_string(v), &end, 10);
			if (errno != 0 || *end != '\0')
				res->deadline_ms = 0;
		} else {
			res->deadline_ms = json_object_get_int64(v);
		}
	}
	copy_string(root, "requestId", res->request_id, sizeof(res->request_id));
	copy_string(root, "shutdownReason", res->shutdown_reason, sizeof(res->shutdown_reason));
	json_object_put(root);
	res->ok = true;
}

static void
do_next(struct lambda_api *api, struct lambda_result *res)
{
	struct curl_slist *h = id_header(api, NULL);
	struct body b = { NULL, 0 };

	if (call(api, "GET", "/2020-01-01/extension/event/next", h, NULL, 0L, &b, res) == 0) {
		if (res->status != 200)
			bad_status(res, "event/next", &b);
		else
			parse_event(b.data, res);
	}
	curl_slist_free_all(h);
	free(b.data);
}

static void
do_subscribe(struct lambda_api *api, int port, struct lambda_result *res)
{
	struct curl_slist *h = id_header(api, NULL);
	struct body b = { NULL, 0 };
	char payload[512];

	/* The smallest buffering timeout, so platform.runtimeDone arrives as soon as possible. */
	snprintf(payload, sizeof(payload),
	    "{\"schemaVersion\":\"2022-12-13\",\"types\":[\"platform\"],"
	    "\"buffering\":{\"maxItems\":1000,\"maxBytes\":262144,\"timeoutMs\":25},"
	    "\"destination\":{\"protocol\":\"HTTP\",\"URI\":\"http://sandbox.localdomain:%d/\"}}", port);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (call(api, "PUT", "/2022-07-01/telemetry", h, payload, CALL_TIMEOUT_MS, &b, res) == 0) {
		if (res->status == 200)
			res->ok = true;
		else
			bad_status(res, "telemetry subscription", &b);
	}
	curl_slist_free_all(h);
	free(b.data);
}

static void
do_error(struct lambda_api *api, const struct command *c, struct lambda_result *res)
{
	struct curl_slist *h = id_header(api, NULL);
	struct body b = { NULL, 0 };
	json_object *o = json_object_new_object();
	char type[128];

	snprintf(type, sizeof(type), "Lambda-Extension-Function-Error-Type: %s", c->type);
	h = curl_slist_append(h, type);
	h = curl_slist_append(h, "Content-Type: application/json");
	json_object_object_add(o, "errorMessage", json_object_new_string(c->message));
	json_object_object_add(o, "errorType", json_object_new_string(c->type));
	if (call(api, "POST", c->cmd == LAMBDA_CMD_INIT_ERROR ? "/2020-01-01/extension/init/error" :
	    "/2020-01-01/extension/exit/error", h, json_object_to_json_string(o), CALL_TIMEOUT_MS, &b, res) == 0) {
		if (res->status == 202)
			res->ok = true;
		else
			bad_status(res, c->cmd == LAMBDA_CMD_INIT_ERROR ? "init/error" : "exit/error", &b);
	}
	json_object_put(o);
	curl_slist_free_all(h);
	free(b.data);
}

static int
send_result(struct lambda_api *api, const struct lambda_result *res)
{
	return fd_write_all(api->res_pipe[1], res, sizeof(*res));
}

/*
 * Register; once registered, subscribe to telemetry (when a port is given),
 * each result sent back as it comes. 1 when the first event/next is to follow,
 * 0 when the register was refused, -1 when the results cannot be sent.
 */
static int
register_and_subscribe(struct lambda_api *api, const struct command *c)
{
	struct lambda_result res = { .cmd = LAMBDA_CMD_REGISTER };

	do_register(api, c->invoke, &res);
	if (send_result(api, &res) < 0)
		return -1;
	if (!res.ok)
		return 0;
	if (c->port > 0) {
		memset(&res, 0, sizeof(res));
		res.cmd = LAMBDA_CMD_SUBSCRIBE;
		do_subscribe(api, c->port, &res);
		if (send_result(api, &res) < 0)
			return -1;
	}
	return 1;
}

/*
 * The start: register, subscribe, then the first event/next at once: the
 * whole start is on the function's cold-start path, and no hop through the
 * event loop is needed between the calls. `sent` is posted once the calls
 * before the long poll are over, whatever their outcome.
 */
static int
start_up(struct lambda_api *api, const struct command *c)
{
	struct lambda_result res = { .cmd = LAMBDA_CMD_NEXT };
	int rc = register_and_subscribe(api, c);

	sem_post(&api->sent);
	if (rc <= 0)
		return rc;
	do_next(api, &res);
	return send_result(api, &res);
}

static void *
worker(void *arg)
{
	struct lambda_api *api = arg;
	struct command c;

	while (fd_read_all(api->cmd_pipe[0], &c, sizeof(c)) == 0 && c.cmd != LAMBDA_CMD_QUIT) {
		struct lambda_result res;

		if (c.cmd == LAMBDA_CMD_REGISTER) {
			if (start_up(api, &c) < 0)
				break;
			continue;
		}
		memset(&res, 0, sizeof(res));
		res.cmd = c.cmd;
		switch (c.cmd) {
		case LAMBDA_CMD_NEXT:		do_next(api, &res); break;
		case LAMBDA_CMD_INIT_ERROR:
		case LAMBDA_CMD_EXIT_ERROR:	do_error(api, &c, &res); break;
		case LAMBDA_CMD_REGISTER:
		case LAMBDA_CMD_SUBSCRIBE:
		case LAMBDA_CMD_QUIT:		break;
		}
		if (send_result(api, &res) < 0)
			break;
	}
	return NULL;
}

static void
send_command(struct lambda_api *api, const struct command *c)
{
	if (c->cmd == LAMBDA_CMD_NEXT || c->cmd == LAMBDA_CMD_REGISTER)
		api->busy_next = true;
	/* Both ends are ours and the thread drains the pipe: a full pipe cannot happen. */
	(void)fd_write_all(api->cmd_pipe[1], c, sizeof(*c));
}

static void
on_result(evutil_socket_t fd, short what, void *arg)
{
	struct lambda_api *api = arg;
	struct lambda_result res;

	(void)what;
	if (fd_read_all(fd, &res, sizeof(res)) < 0)
		return;
	/* A refused register is not followed by an event/next. */
	if (res.cmd == LAMBDA_CMD_NEXT || (res.cmd == LAMBDA_CMD_REGISTER && !res.ok))
		api->busy_next = false;
	api->cb(&res, api->cb_arg);
}

/*
 * Wait until the thread has sent register, the subscription and the first
 * event/next (or failed), START_WAIT_MS at most: Lambda's init waits for those
 * calls, and the daemon building its loop and relay beside them would take
 * the CPU and the allocator's lock from them.
 */
static void
wait_sent(struct lambda_api *api)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += START_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&api->sent, &until) != 0 && errno == EINTR)
		;
}

struct lambda_api *
lambda_api_start(const struct lambda_api_setup *how, char **reterr)
{
	struct lambda_api *api = calloc(1, sizeof(*api));
	struct command c = { .cmd = LAMBDA_CMD_REGISTER, .invoke = how->invoke, .port = how->telemetry_port };

	*reterr = NULL;
	if (api == NULL)
		return NULL;
	api->cmd_pipe[0] = api->cmd_pipe[1] = api->res_pipe[0] = api->res_pipe[1] = -1;
	snprintf(api->base_url, sizeof(api->base_url), "http://%s", how->runtime_api);
	snprintf(api->name, sizeof(api->name), "%s", how->name);
	api->curl = curl_easy_init();
	api->sent_init = sem_init(&api->sent, 0, 0) == 0;
	if (api->curl == NULL || !api->sent_init || pipe(api->cmd_pipe) < 0 || pipe(api->res_pipe) < 0) {
		if (asprintf(reterr, "cannot set up the API client: %s", strerror(errno)) < 0)
			*reterr = NULL;
		lambda_api_free(api);
		return NULL;
	}
	/* The register call is waiting in the pipe when the thread starts. */
	send_command(api, &c);
	if (pthread_create(&api->thread, NULL, worker, api) != 0) {
		if (asprintf(reterr, "cannot start the API client thread") < 0)
			*reterr = NULL;
		api->busy_next = false;
		lambda_api_free(api);
		return NULL;
	}
	api->thread_started = true;
	wait_sent(api);
	return api;
}

int
lambda_api_attach(struct lambda_api *api, struct event_base *base,
    void (*cb)(const struct lambda_result *, void *), void *arg)
{
	api->cb = cb;
	api->cb_arg = arg;
	api->res_event = event_new(base, api->res_pipe[0], EV_READ | EV_PERSIST, on_result, api);
	if (api->res_event == NULL || event_add(api->res_event, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void
lambda_api_register(struct lambda_api *api, bool invoke)
{
	struct command c = { .cmd = LAMBDA_CMD_REGISTER, .invoke = invoke };

	send_command(api, &c);
}

void
lambda_api_next(struct lambda_api *api)
{
	struct command c = { .cmd = LAMBDA_CMD_NEXT };

	send_command(api, &c);
}

void
lambda_api_report_error(struct lambda_api *api, bool init, const char *type, const char *message)
{
	struct command c = { .cmd = init ? LAMBDA_CMD_INIT_ERROR : LAMBDA_CMD_EXIT_ERROR };

	snprintf(c.type, sizeof(c.type), "%s", type);
	snprintf(c.message, sizeof(c.message), "%s", message);
	send_command(api, &c);
}

bool
lambda_api_free(struct lambda_api *api)
{
	struct command c = { .cmd = LAMBDA_CMD_QUIT };

	if (api == NULL)
		return false;
	if (api->res_event != NULL)
		event_free(api->res_event);
	if (api->thread_started) {
		if (api->busy_next) {
			/* Blocked in a long poll that nothing can cut short: let it end with the process. */
			pthread_detach(api->thread);
			return true;
		}
		send_command(api, &c);
		pthread_join(api->thread, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (api->cmd_pipe[i] >= 0)
			close(api->cmd_pipe[i]);
		if (api->res_pipe[i] >= 0)
			close(api->res_pipe[i]);
	}
	if (api->curl != NULL)
		curl_easy_cleanup(api->curl);
	if (api->sent_init)
		sem_destroy(&api->sent);
	free(api);
	return false;
}
