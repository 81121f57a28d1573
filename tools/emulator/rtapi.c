/* rtapi.c -- the Runtime API: invocation next/response/error and init/error, as the RIE answers. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "emu.h"
#include "httpd.h"
#include "lmi.h"
#include "phase.h"
#include "rtapi.h"
#include "util.h"

#define E_TRANSITION	"InvalidStateTransition"
#define NOT_ALLOWED	"State transition is not allowed"
#define H_ERROR_TYPE	"Lambda-Runtime-Function-Error-Type"
#define RESPONSE_KEEP	4096	/* bytes of each answer kept for the report */

const char *
rt_state_name(enum rt_state st)
{
	switch (st) {
	case RT_NONE: return "Started";
	case RT_STARTED: return "Started";
	case RT_READY: return "Ready";
	case RT_RUNNING: return "Running";
	case RT_RESPONDED: return "RuntimeResponseSentState";
	case RT_INIT_ERROR: return "InitError";
	default: return "Unknown";
	}
}

static void
refuse(struct emu *emu, struct evhttp_request *req, const char *target)
{
	http_reply_error(req, 403, E_TRANSITION,
	    "State transition from %s to %s failed for runtime. Error: %s",
	    rt_state_name(emu->sb.rt.state), target, NOT_ALLOWED);
}

/* Managed Instances: every worker of the runtime may wait in next at once. */
static void
lmi_next(struct emu *emu, struct evhttp_request *req)
{
	if (emu->sb.rt.state == RT_NONE || emu->sb.rt.state == RT_INIT_ERROR) {
		refuse(emu, req, "Ready");
		return;
	}
	lmi_on_runtime_next(emu, req);
	if (emu->sb.rt.state == RT_STARTED) {
		emu->sb.rt.state = RT_READY;
		phase_on_runtime_next(emu);
	}
}

void
rt_handle_next(struct emu *emu, struct evhttp_request *req)
{
	if (emu->opt.managed) {
		lmi_next(emu, req);
		return;
	}
	if (emu->sb.rt.state != RT_STARTED && emu->sb.rt.state != RT_RESPONDED) {
		refuse(emu, req, "Ready");
		return;
	}
	emu->sb.rt.state = RT_READY;
	emu->sb.rt.next_req = req;	/* parked: answered by rt_release_invoke or at teardown */
	phase_on_runtime_next(emu);
}

static char *
keep_response(struct evhttp_request *req, size_t *len)
{
	char *body = http_body(req, len);

	if (body != NULL && *len > RESPONSE_KEEP)
		body[RESPONSE_KEEP] = '\0';
	return body;
}

void
rt_handle_result(struct emu *emu, struct evhttp_request *req, const char *id, int is_error)
{
	const char *type = NULL;
	size_t len = 0;
	char *body;

	if (emu->opt.managed) {
		if (!lmi_known(emu, id)) {
			http_reply_error(req, 400, "InvalidRequestID", "Invalid request ID");
			return;
		}
		body = keep_response(req, &len);
		if (body == NULL) {
			http_reply_abort(req);
			return;
		}
		if (is_error) {
			type = http_header(req, H_ERROR_TYPE);
			if (type == NULL || type[0] == '\0')
				type = "Runtime.Unknown";
		}
		/* The invoke is recorded before the answer goes: type lives in req until then. */
		lmi_on_result(emu, id, is_error, len, type, body);
		http_reply_accepted(req);
		return;
	}
	/* The RIE checks the request id first (AwsRequestIDValidator), then the state. */
	if (emu->ph.phase != PH_INVOKE || strcmp(id, emu->inv.cur.id) != 0) {
		http_reply_error(req, 400, "InvalidRequestID", "Invalid request ID");
		return;
	}
	if (emu->sb.rt.state != RT_RUNNING) {
		refuse(emu, req, is_error ? "InvocationErrorResponse" : "InvocationResponse");
		return;
	}
	body = keep_response(req, &len);
	if (body == NULL) {
		http_reply_abort(req);
		return;
	}
	free(emu->inv.cur.response);
	emu->inv.cur.response = body;
	emu->sb.rt.state = RT_RESPONDED;
	if (!is_error && len > (size_t)EMU_MAX_PAYLOAD) {
		http_reply_error(req, 413, "RequestEntityTooLarge",
		    "Exceeded maximum allowed payload size (%ld bytes).", EMU_MAX_PAYLOAD);
		phase_on_runtime_result(emu, 1, len, "Function.ResponseSizeTooLarge");
		return;
	}
	if (is_error) {
		type = http_header(req, H_ERROR_TYPE);
		if (type == NULL || type[0] == '\0')
			type = "Runtime.Unknown";
	}
	http_reply_accepted(req);
	phase_on_runtime_result(emu, is_error, len, type);
}

void
rt_handle_init_error(struct emu *emu, struct evhttp_request *req)
{
	const char *type;

	if (emu->sb.rt.state != RT_STARTED) {
		refuse(emu, req, "InitError");
		return;
	}
	type = http_header(req, H_ERROR_TYPE);
	if (type == NULL || type[0] == '\0')
		type = "Runtime.Unknown";
	emu->sb.rt.state = RT_INIT_ERROR;
	http_reply_accepted(req);
	phase_on_runtime_init_error(emu, type);
}

void
rt_release_invoke(struct emu *emu)
{
	struct evhttp_request *req = emu->sb.rt.next_req;
	struct evkeyvalq *out;
	char deadline[32];
	int n, bad = 0;

	if (req == NULL)
		return;
	emu->sb.rt.next_req = NULL;
	emu->sb.rt.state = RT_RUNNING;
	out = evhttp_request_get_output_headers(req);
	n = snprintf(deadline, sizeof(deadline), "%lld", (long long)emu->inv.cur.deadline_epoch_ms);
	if (n < 0 || (size_t)n >= sizeof(deadline))
		bad = 1;
	if (bad || evhttp_add_header(out, "Lambda-Runtime-Aws-Request-Id", emu->inv.cur.id) != 0 ||
	    evhttp_add_header(out, "Lambda-Runtime-Trace-Id", emu->inv.cur.trace) != 0 ||
	    evhttp_add_header(out, "Lambda-Runtime-Invoked-Function-Arn", emu->fn.arn) != 0 ||
	    evhttp_add_header(out, "Lambda-Runtime-Deadline-Ms", deadline) != 0) {
		emu_warnx("cannot build the invoke headers");
		http_reply_abort(req);
		return;
	}
	http_reply_text(req, 200, "application/json", emu->opt.payload);
}
