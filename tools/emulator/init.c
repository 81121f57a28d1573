/* init.c -- the Init phase: start extensions, the registration gate, start the runtime, init failure. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "init.h"
#include "phase.h"
#include "proc.h"
#include "report.h"
#include "telemetry.h"
#include "util.h"

struct init_rec *
init_cur(struct emu *emu)
{
	return emu->init.n > 0 ? &emu->init.recs[emu->init.n - 1] : NULL;
}

static const char *
phase_name(const struct init_rec *r)
{
	return r->in_invoke ? "invoke" : "init";
}

static void
emit_init_report(struct emu *emu, const char *status, const char *error_type)
{
	const struct init_rec *r = init_cur(emu);
	struct json_object *rec = json_object_new_object(), *m = json_object_new_object();
	int bad = 0;

	bad |= json_set(m, "durationMs", json_ms(r->t_end - r->t_start));
	bad |= json_set(rec, "initializationType", json_object_new_string(emu->opt.managed ? "lambda-managed-instances" : "on-demand"));
	bad |= json_set(rec, "phase", json_object_new_string(phase_name(r)));
	bad |= json_set(rec, "status", json_object_new_string(status));
	if (error_type != NULL)
		bad |= json_set(rec, "errorType", json_object_new_string(error_type));
	bad |= json_set(rec, "metrics", m);
	tel_emit_checked(emu->tel, "platform.initReport", rec, bad);
}

void
init_fail(struct emu *emu, const char *type, const char *msg, const char *status)
{
	struct init_rec *r = init_cur(emu);
	char dur[32];

	if (r->status != NULL)
		return;
	r->status = status;
	r->t_end = emu_mono_ms();
	r->error = strdup(type);
	r->error_msg = strdup(msg);
	emu_fmt_ms(r->t_end - r->t_start, dur, sizeof(dur));
	rep_line(emu, "INIT_REPORT Init Duration: %s ms\tPhase: %s\tStatus: %s\tError Type: %s",
	    dur, phase_name(r), status, type);
	emu_warnx("init failed: %s: %s", type, msg);
	emit_init_report(emu, status, type);
	phase_init_failed(emu, type, status);
}

void
init_on_timer(struct emu *emu)
{
	int in_invoke = init_cur(emu)->in_invoke;
	char msg[160];

	emu_msg(msg, sizeof(msg), "init did not complete within %s%ld ms%s",
	    in_invoke ? "the function timeout of " : "",
	    in_invoke ? emu->opt.timeout_ms : emu->opt.init_timeout_ms,
	    emu->init.stage == INIT_EXT ? " (an extension did not register)" : "");
	init_fail(emu, "Sandbox.Timedout", msg, "timeout");
}

static void
start_runtime(struct emu *emu)
{
	char *argv[4];
	int rc;

	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)emu->opt.function_cmd;
	argv[3] = NULL;
	emu->sb.rt.state = RT_STARTED;
	emu->init.stage = INIT_RT;
	rc = proc_spawn(&emu->sb.rt.proc, argv, emu->fn.env_fn);
	if (rc != 0)
		init_fail(emu, "Runtime.LaunchError", strerror(rc), "error");
}

static int
all_external_registered(const struct emu *emu)
{
	int i;

	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->path != NULL && !emu->sb.agents[i]->registered)
			return 0;
	}
	return 1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Executable regular files in dir (symlinks followed), sorted. -1 on error. */
static int
list_extensions(const char *dir, char ***names, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	int len;

	if (d == NULL)
		return -1;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		len = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (len < 0 || (size_t)len >= sizeof(path) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (access(path, X_OK) != 0) {
			emu_warnx("ignoring '%s': not executable", path);
			continue;
		}
		if (n == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*nv));
			if (nv == NULL)
				break;
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n] = strdup(de->d_name);
		if (v[n] == NULL)
			break;
		n++;
	}
	len = errno;
	(void)closedir(d);
	if (len != 0) {
		while (n > 0)
			free(v[--n]);
		free(v);
		errno = len;
		return -1;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
}

static int
start_extensions(struct emu *emu)
{
	char **names = NULL;
	char path[4096], msg[512];
	size_t n = 0, i;
	int rc = 0, len;

	if (emu->opt.extensions_dir == NULL)
		return 0;
	if (list_extensions(emu->opt.extensions_dir, &names, &n) != 0) {
		emu_warnx("cannot read --extensions '%s': %s", emu->opt.extensions_dir,
		    strerror(errno));
		return -1;
	}
	if (n > EMU_MAX_AGENTS) {
		emu_msg(msg, sizeof(msg), "%zu extensions in '%s'; the limit is %d", n,
		    emu->opt.extensions_dir, EMU_MAX_AGENTS);
		init_fail(emu, "Extension.TooManyExtensions", msg, "error");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct agent *a;

		len = snprintf(path, sizeof(path), "%s/%s", emu->opt.extensions_dir, names[i]);
		a = len < 0 || (size_t)len >= sizeof(path) ? NULL :
		    ext_agent_new(names[i], path, emu->init.n);
		if (a == NULL) {
			emu_warnx("cannot add extension '%s': out of memory or path too long", names[i]);
			rc = -1;
			goto out;
		}
		emu->sb.agents[emu->sb.nagents++] = a;
	}
	for (i = 0; i < (size_t)emu->sb.nagents && init_cur(emu)->status == NULL; i++) {
		struct agent *a = emu->sb.agents[i];
		char *argv[2] = { a->path, NULL };
		int err;

		a->t_exec = emu_mono_ms();
		err = proc_spawn(&a->proc, argv, emu->fn.env_ext);
		if (err != 0) {
			a->state = AG_LAUNCH_ERROR;
			emu_msg(msg, sizeof(msg), "fork/exec %s: %s", a->path, strerror(err));
			ext_add_error(a, "platform", "Extension.LaunchError", msg);
			init_fail(emu, "Extension.LaunchError", msg, "error");
		}
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The phase timer's limit: 10 s for the Init phase, what is left of the invoke for a re-init. */
static double
init_limit_ms(const struct emu *emu, int in_invoke)
{
	if (!in_invoke)
		return (double)emu->opt.init_timeout_ms;
	return emu->inv.cur.t_start + (double)emu->opt.timeout_ms - emu_mono_ms();
}

int
init_begin(struct emu *emu, int in_invoke)
{
	struct json_object *rec = json_object_new_object();
	struct init_rec *r;
	int bad = 0;

	r = realloc(emu->init.recs, (size_t)(emu->init.n + 1) * sizeof(*r));
	if (r == NULL) {
		json_object_put(rec);
		emu_warnx("out of memory");
		return -1;
	}
	emu->init.recs = r;
	r = &emu->init.recs[emu->init.n++];
	memset(r, 0, sizeof(*r));
	r->t_start = emu_mono_ms();
	r->in_invoke = in_invoke;
	emu->init.stage = INIT_EXT;
	rep_line(emu, "INIT_START Runtime Version: provided:emulator\tRuntime Version ARN: "
	    "arn:aws:lambda:%s::runtime:emulator", emu->fn.region);
	bad |= json_set(rec, "initializationType", json_object_new_string(emu->opt.managed ? "lambda-managed-instances" : "on-demand"));
	bad |= json_set(rec, "phase", json_object_new_string(phase_name(r)));
	bad |= json_set(rec, "runtimeVersion", json_object_new_string("provided:emulator"));
	bad |= json_set(rec, "functionName", json_object_new_string(emu->fn.fn_name));
	bad |= json_set(rec, "functionVersion", json_object_new_string("$LATEST"));
	tel_emit_checked(emu->tel, "platform.initStart", rec, bad);
	phase_arm(emu, init_limit_ms(emu, in_invoke));
	if (start_extensions(emu) != 0) {
		r->status = "error";
		r->t_end = emu_mono_ms();
		return -1;
	}
	/* A launch error may have ended this init already. */
	if (r->status == NULL && emu->init.stage == INIT_EXT && all_external_registered(emu))
		start_runtime(emu);
	return 0;
}

void
init_on_runtime_next(struct emu *emu)
{
	struct json_object *rec = json_object_new_object();
	int bad = 0;

	if (emu->init.stage != INIT_RT)
		return;
	emu->sb.registration_closed = 1;
	bad |= json_set(rec, "initializationType", json_object_new_string(emu->opt.managed ? "lambda-managed-instances" : "on-demand"));
	bad |= json_set(rec, "phase", json_object_new_string(phase_name(init_cur(emu))));
	bad |= json_set(rec, "status", json_object_new_string("success"));
	tel_emit_checked(emu->tel, "platform.initRuntimeDone", rec, bad);
	init_check_done(emu);
}

static void
init_complete(struct emu *emu)
{
	char events[32];
	int i;

	init_cur(emu)->t_end = emu_mono_ms();
	init_cur(emu)->status = "success";
	phase_disarm(emu);
	for (i = 0; i < emu->sb.nagents; i++) {
		struct agent *a = emu->sb.agents[i];
		struct json_object *rec, *evs;
		int bad = 0;

		if (!a->registered)
			continue;
		ext_events_text(a->events, events, sizeof(events));
		rep_line(emu, "EXTENSION\tName: %s\tState: Ready\tEvents: %s", a->name, events);
		rec = json_object_new_object();
		evs = json_object_new_array();
		if (evs == NULL ||
		    ((a->events & EMU_EV_INVOKE) &&
		    json_object_array_add(evs, json_object_new_string("INVOKE")) != 0) ||
		    ((a->events & EMU_EV_SHUTDOWN) &&
		    json_object_array_add(evs, json_object_new_string("SHUTDOWN")) != 0))
			bad = 1;
		bad |= json_set(rec, "name", json_object_new_string(a->name));
		bad |= json_set(rec, "state", json_object_new_string("Ready"));
		bad |= json_set(rec, "events", evs);
		tel_emit_checked(emu->tel, "platform.extension", rec, bad);
	}
	emit_init_report(emu, "success", NULL);
	tel_close(emu->tel);
	phase_init_done(emu);
}

void
init_check_done(struct emu *emu)
{
	int i;

	if (emu->init.stage != INIT_RT || emu->sb.rt.state != RT_READY)
		return;
	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->registered && emu->sb.agents[i]->state != AG_READY)
			return;
	}
	init_complete(emu);
}

static void
on_runtime_due(evutil_socket_t fd, short what, void *arg)
{
	struct emu *emu = arg;
	const struct init_rec *r = init_cur(emu);

	(void)fd;
	(void)what;
	emu->init.runtime_due = 0;
	/* Only if this init still waits for it (it may have failed meanwhile). */
	if (emu->ph.phase == PH_INIT && emu->init.stage == INIT_EXT && r != NULL &&
	    r->status == NULL)
		start_runtime(emu);
}

void
init_on_registered(struct emu *emu, struct agent *a)
{
	if (emu->init.stage != INIT_EXT || a->path == NULL || !all_external_registered(emu) ||
	    emu->init.runtime_due)
		return;
	/*
	 * The runtime starts on the next turn of the loop: the register answer is
	 * written first, so the extension's register time does not include the
	 * runtime's spawn (Lambda starts the runtime once registered, in parallel).
	 */
	emu->init.runtime_due = 1;
	if (event_base_once(emu->base, -1, EV_TIMEOUT, on_runtime_due, emu, NULL) != 0) {
		emu->init.runtime_due = 0;
		start_runtime(emu);
	}
}

void
init_free(struct emu *emu)
{
	int i;

	for (i = 0; i < emu->init.n; i++) {
		free(emu->init.recs[i].error);
		free(emu->init.recs[i].error_msg);
	}
	free(emu->init.recs);
	emu->init.recs = NULL;
	emu->init.n = 0;
}
