/* extapi.c -- the Extensions API: register, event/next, init/error, exit/error, as the RIE answers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "phase.h"
#include "util.h"

#define H_NAME		"Lambda-Extension-Name"
#define H_ID		"Lambda-Extension-Identifier"
#define H_FEATURE	"Lambda-Extension-Accept-Feature"
#define H_ERROR_TYPE	"Lambda-Extension-Function-Error-Type"
#define NOT_ALLOWED	"State transition is not allowed"
#define E_STATE		"Extension.InvalidExtensionState"
#define E_FORMAT	"InvalidRequestFormat"

struct agent *
ext_agent_new(const char *name, const char *path, int environment)
{
	struct agent *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->name = strdup(name);
	a->path = path != NULL ? strdup(path) : NULL;
	if (a->name == NULL || (path != NULL && a->path == NULL)) {
		ext_agent_free(a);
		return NULL;
	}
	a->state = AG_STARTED;
	a->proc.exit_code = -1;
	a->environment = environment;
	return a;
}

void
ext_agent_free(struct agent *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nerrors; i++) {
		free(a->errors[i].source);
		free(a->errors[i].type);
		free(a->errors[i].message);
	}
	free(a->name);
	free(a->path);
	free(a);
}

void
ext_add_error(struct agent *a, const char *source, const char *type, const char *message)
{
	struct agent_error *e;

	if (a->nerrors >= EMU_MAX_ERRORS)
		return;
	e = &a->errors[a->nerrors];
	e->source = strdup(source);
	e->type = strdup(type);
	e->message = message != NULL ? strdup(message) : NULL;
	if (e->source == NULL || e->type == NULL || (message != NULL && e->message == NULL)) {
		free(e->source);
		free(e->type);
		free(e->message);
		memset(e, 0, sizeof(*e));
		emu_warnx("out of memory while recording an error of extension '%s'", a->name);
		return;
	}
	a->nerrors++;
}

const char *
ext_state_name(enum agent_state st)
{
	switch (st) {
	case AG_STARTED: return "Started";
	case AG_REGISTERED: return "Registered";
	case AG_READY: return "Ready";
	case AG_RUNNING: return "Running";
	case AG_INIT_ERROR: return "InitError";
	case AG_EXIT_ERROR: return "ExitError";
	case AG_SHUTDOWN_FAILED: return "ShutdownFailed";
	case AG_EXITED: return "Exited";
	case AG_LAUNCH_ERROR: return "LaunchError";
	default: return "Unknown";
	}
}

void
ext_events_text(unsigned events, char *buf, size_t bufsz)
{
	const char *text = "[]";

	if ((events & EMU_EV_INVOKE) && (events & EMU_EV_SHUTDOWN))
		text = "[INVOKE, SHUTDOWN]";
	else if (events & EMU_EV_INVOKE)
		text = "[INVOKE]";
	else if (events & EMU_EV_SHUTDOWN)
		text = "[SHUTDOWN]";
	emu_msg(buf, bufsz, "%s", text);
}

struct agent *
ext_find(struct emu *emu, const char *id)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->registered && strcmp(emu->sb.agents[i]->id, id) == 0)
			return emu->sb.agents[i];
	}
	return NULL;
}

static struct agent *
find_by_name(struct emu *emu, const char *name, int external)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		struct agent *a = emu->sb.agents[i];
		if ((a->path != NULL) == external && strcmp(a->name, name) == 0)
			return a;
	}
	return NULL;
}

/*
 * The identifier check every call but register runs first (the RIE's
 * AgentUniqueIdentifierHeaderValidator). Writes the canonical id; 0, or -1
 * after answering req.
 */
int
ext_check_identifier(struct evhttp_request *req, char *id)
{
	const char *raw = http_header(req, H_ID);

	if (raw == NULL || raw[0] == '\0') {
		http_reply_error(req, 403, "Extension.MissingExtensionIdentifier",
		    "Missing Lambda-Extension-Identifier header");
		return -1;
	}
	if (emu_uuid_parse(raw, id) != 0) {
		http_reply_error(req, 403, "Extension.InvalidExtensionIdentifier",
		    "Invalid Lambda-Extension-Identifier");
		return -1;
	}
	return 0;
}

static int
wants_account_id(struct evhttp_request *req)
{
	const char *features = http_header(req, H_FEATURE);
	const char *p = features;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 9 && memcmp(p, "accountId", 9) == 0)
			return 1;
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

/* Register body: {"events":[...]} with Go's decoding rules. Borrowed events array. */
static int
parse_register_body(struct evhttp_request *req, struct json_object **root,
    struct json_object **events)
{
	struct json_object *keys = NULL;
	char err[256];
	char *body;
	size_t len = 0;
	size_t i;
	int rc;

	*events = NULL;
	body = http_body(req, &len);
	if (body == NULL) {
		http_reply_abort(req);
		return -1;
	}
	rc = http_parse_json(body, len, root, err, sizeof(err));
	free(body);
	if (rc != 0) {
		http_reply_error(req, 403, E_FORMAT, "%s", err);
		return -1;
	}
	if (*root == NULL)
		return 0;	/* JSON null decodes to an empty request in Go */
	if (!json_object_is_type(*root, json_type_object)) {
		http_reply_error(req, 403, E_FORMAT,
		    "json: cannot unmarshal %s into Go value of type handler.RegisterRequest",
		    json_type_to_name(json_object_get_type(*root)));
		return -1;
	}
	if (json_object_object_get_ex(*root, "events", events) && *events != NULL) {
		if (!json_object_is_type(*events, json_type_array)) {
			http_reply_error(req, 403, E_FORMAT,
			    "json: cannot unmarshal %s into Go struct field .events of type []core.Event",
			    json_type_to_name(json_object_get_type(*events)));
			return -1;
		}
		for (i = 0; i < json_object_array_length(*events); i++) {
			struct json_object *ev = json_object_array_get_idx(*events, i);
			if (!json_object_is_type(ev, json_type_string)) {
				http_reply_error(req, 403, E_FORMAT,
				    "json: cannot unmarshal %s into Go struct field .events of type core.Event",
				    json_type_to_name(json_object_get_type(ev)));
				return -1;
			}
		}
	}
	if (json_object_object_get_ex(*root, "configurationKeys", &keys) && keys != NULL &&
	    (!json_object_is_type(keys, json_type_array) || json_object_array_length(keys) > 0)) {
		http_reply_error(req, 403, E_FORMAT,
		    "configurationKeys are deprecated; use environment variables instead");
		return -1;
	}
	return 0;
}

/* Validates the events for an external (or internal) agent; fills *mask. */
static int
check_events(struct evhttp_request *req, struct json_object *events, int internal,
    int managed, unsigned *mask)
{
	size_t i, n = events != NULL ? json_object_array_length(events) : 0;

	*mask = 0;
	for (i = 0; i < n; i++) {
		const char *ev = json_object_get_string(json_object_array_get_idx(events, i));
		if (strcmp(ev, "INVOKE") == 0 && managed) {
			/* Managed Instances offer SHUTDOWN only (LMI ValidateExternalAgentEvent). */
			http_reply_error(req, 403, "Extension.InvalidEventType",
			    "%s: ErrorInvalidEventType", ev);
			return -1;
		} else if (strcmp(ev, "INVOKE") == 0) {
			*mask |= EMU_EV_INVOKE;
		} else if (strcmp(ev, "SHUTDOWN") == 0 && !internal) {
			*mask |= EMU_EV_SHUTDOWN;
		} else if (strcmp(ev, "SHUTDOWN") == 0) {
			http_reply_error(req, 403, "Extension.InvalidEventType",
			    "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension");
			return -1;
		} else {
			http_reply_error(req, 403, "Extension.InvalidEventType",
			    "%s: ErrorInvalidEventType", ev);
			return -1;
		}
	}
	return 0;
}

static struct agent *
create_internal(struct emu *emu, struct evhttp_request *req, const char *name)
{
	struct agent *a;

	if (emu->sb.registration_closed) {
		http_reply_error(req, 403, "Extension.RegistrationClosed",
		    "Extension registration closed already");
		return NULL;
	}
	if (find_by_name(emu, name, 0) != NULL) {
		http_reply_error(req, 403, E_STATE, "Extension with this name already registered");
		return NULL;
	}
	if (emu->sb.nagents >= EMU_MAX_AGENTS) {
		http_reply_error(req, 403, "Extension.TooManyExtensions",
		    "Extension limit (%d) reached", EMU_MAX_AGENTS);
		return NULL;
	}
	a = ext_agent_new(name, NULL, emu->init.n);
	if (a == NULL) {
		http_reply_abort(req);
		return NULL;
	}
	emu->sb.agents[emu->sb.nagents++] = a;
	return a;
}

static struct json_object *
register_answer(const struct emu *emu, int account)
{
	struct json_object *o = json_object_new_object();

	if ((account && json_set(o, "accountId", json_object_new_string(EMU_ACCOUNT_ID)) != 0) ||
	    json_set(o, "functionName", json_object_new_string(emu->fn.fn_name)) != 0 ||
	    json_set(o, "functionVersion", json_object_new_string("$LATEST")) != 0 ||
	    json_set(o, "handler", json_object_new_string(emu->fn.handler)) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

void
ext_handle_register(struct emu *emu, struct evhttp_request *req)
{
	const char *name = http_header(req, H_NAME);
	struct json_object *root = NULL, *events = NULL;
	struct agent *a;
	unsigned mask = 0;
	int account;

	if (name == NULL || name[0] == '\0') {
		http_reply_error(req, 403, "Extension.InvalidExtensionName", "Empty extension name");
		return;
	}
	account = wants_account_id(req);
	if (parse_register_body(req, &root, &events) != 0)
		goto out;
	a = find_by_name(emu, name, 1);
	if (check_events(req, events, a == NULL, emu->opt.managed, &mask) != 0)
		goto out;
	if (a != NULL && a->state != AG_STARTED) {
		http_reply_error(req, 403, E_STATE,
		    "State transition from %s to Registered failed for extension %s. Error: %s",
		    ext_state_name(a->state), a->name, NOT_ALLOWED);
		goto out;
	}
	if (a == NULL) {
		a = create_internal(emu, req, name);
		if (a == NULL)
			goto out;
	}
	if (emu_uuid4(a->id) != 0) {
		a->id[0] = '\0';
		http_reply_abort(req);
		goto out;
	}
	a->events = mask;
	a->t_register = emu_mono_ms();
	a->state = AG_REGISTERED;
	a->registered = 1;
	if (evhttp_add_header(evhttp_request_get_output_headers(req), H_ID, a->id) != 0) {
		http_reply_abort(req);
		goto out;
	}
	http_reply_json(req, 200, register_answer(emu, account));
	phase_on_registered(emu, a);
out:
	json_object_put(root);
}

void
ext_handle_next(struct emu *emu, struct evhttp_request *req)
{
	char id[EMU_ID_LEN + 1];
	struct agent *a;

	if (ext_check_identifier(req, id) != 0)
		return;
	a = ext_find(emu, id);
	if (a == NULL) {
		http_reply_error(req, 403, "Extension.UnknownExtensionIdentifier",
		    "Unknown extension %s", id);
		return;
	}
	if (a->state != AG_REGISTERED && a->state != AG_RUNNING) {
		http_reply_error(req, 403, E_STATE,
		    "State transition from %s to Ready failed for extension %s. Error: %s",
		    ext_state_name(a->state), id, NOT_ALLOWED);
		return;
	}
	if (emu->opt.fail_next_after >= 0 && a->nexts++ >= emu->opt.fail_next_after) {
		/* Fault injection: what Lambda answers when the sandbox is beyond repair. */
		http_reply_error(req, 500, "Extension.ContainerError",
		    "Container error. Non-recoverable state. Extension should exit promptly.");
		return;
	}
	if (a->t_first_next <= 0)
		a->t_first_next = emu_mono_ms();
	a->state = AG_READY;
	a->next_req = req;	/* parked: answered by a release, or at teardown */
	phase_on_agent_next(emu, a);
}

/* Keeps errorMessage from a JSON error body, else the start of the raw body. */
static char *
error_message(struct evhttp_request *req)
{
	struct json_object *root = NULL, *msg = NULL;
	char err[64];
	char *body, *out = NULL;
	size_t len = 0;

	body = http_body(req, &len);
	if (body == NULL || len == 0) {
		free(body);
		return NULL;
	}
	if (http_parse_json(body, len, &root, err, sizeof(err)) == 0 &&
	    json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "errorMessage", &msg) &&
	    json_object_is_type(msg, json_type_string)) {
		out = strdup(json_object_get_string(msg));
	} else {
		if (len > 512)
			body[512] = '\0';
		out = strdup(body);
	}
	json_object_put(root);
	free(body);
	return out;
}

void
ext_handle_error(struct emu *emu, struct evhttp_request *req, int exit_error)
{
	const char *target = exit_error ? "ExitError" : "InitError";
	char id[EMU_ID_LEN + 1];
	const char *type;
	struct agent *a;
	char *message;
	int allowed;

	if (ext_check_identifier(req, id) != 0)
		return;
	type = http_header(req, H_ERROR_TYPE);
	if (type == NULL || type[0] == '\0') {
		http_reply_error(req, 403, "Extension.MissingHeader", "%s not found", H_ERROR_TYPE);
		return;
	}
	a = ext_find(emu, id);
	if (a == NULL) {
		http_reply_error(req, 403, "Extension.UnknownExtensionIdentifier",
		    "Unknown " H_ID);
		return;
	}
	if ((exit_error && a->state == AG_EXIT_ERROR) || (!exit_error && a->state == AG_INIT_ERROR)) {
		http_reply_accepted(req);	/* repeated calls: only the first counts */
		return;
	}
	allowed = exit_error ? (a->state == AG_REGISTERED || a->state == AG_READY ||
	    a->state == AG_RUNNING) : a->state == AG_REGISTERED;
	if (!allowed) {
		http_reply_error(req, 403, E_STATE,
		    "State transition from %s to %s failed for extension %s. Error: %s",
		    ext_state_name(a->state), target, id, NOT_ALLOWED);
		return;
	}
	message = error_message(req);
	a->state = exit_error ? AG_EXIT_ERROR : AG_INIT_ERROR;
	ext_add_error(a, exit_error ? "exit/error" : "init/error", type, message);
	free(message);
	http_reply_accepted(req);
	phase_on_agent_error(emu, a, exit_error);
}

static void
reply_event(struct agent *a, struct json_object *ev, const char *ctype, int with_event_id)
{
	struct evhttp_request *req = a->next_req;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char event_id[EMU_ID_LEN + 1];
	const char *text;

	a->next_req = NULL;
	a->state = AG_RUNNING;
	if (ev == NULL) {
		http_reply_abort(req);
		return;
	}
	if (with_event_id && (emu_uuid4(event_id) != 0 ||
	    evhttp_add_header(out, "Lambda-Extension-Event-Identifier", event_id) != 0))
		emu_warnx("cannot add Lambda-Extension-Event-Identifier for '%s'", a->name);
	text = http_json_text(ev);
	/* json.Marshal output: no trailing newline. */
	http_reply_text(req, 200, ctype, text);
	json_object_put(ev);
}

void
ext_release_invoke(struct emu *emu, struct agent *a)
{
	struct json_object *ev, *tr;

	if (a->next_req == NULL)
		return;
	ev = json_object_new_object();
	tr = json_object_new_object();
	if (json_set(tr, "type", json_object_new_string("X-Amzn-Trace-Id")) != 0 ||
	    json_set(tr, "value", json_object_new_string(emu->inv.cur.trace)) != 0) {
		json_object_put(tr);
		tr = NULL;
	}
	if (json_set(ev, "eventType", json_object_new_string("INVOKE")) != 0 ||
	    json_set(ev, "deadlineMs", json_object_new_int64(emu->inv.cur.deadline_epoch_ms)) != 0 ||
	    json_set(ev, "requestId", json_object_new_string(emu->inv.cur.id)) != 0 ||
	    json_set(ev, "invokedFunctionArn", json_object_new_string(emu->fn.arn)) != 0 ||
	    json_set(ev, "tracing", tr) != 0) {
		json_object_put(ev);
		ev = NULL;
	}
	reply_event(a, ev, "application/json", 1);
}

void
ext_release_shutdown(struct emu *emu, struct agent *a)
{
	struct json_object *ev;

	if (a->next_req == NULL)
		return;
	ev = json_object_new_object();
	if (json_set(ev, "eventType", json_object_new_string("SHUTDOWN")) != 0 ||
	    json_set(ev, "deadlineMs", json_object_new_int64(emu->shut.deadline_epoch_ms)) != 0 ||
	    json_set(ev, "shutdownReason", json_object_new_string(emu->shut.reason)) != 0) {
		json_object_put(ev);
		ev = NULL;
	}
	a->shutdown_pending = 0;
	a->shutdown_sent = 1;
	/* The RIE sets no Content-Type here; Go's server then sniffs this one. */
	reply_event(a, ev, "text/plain; charset=utf-8", 0);
}
