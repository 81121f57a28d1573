/* report.c -- platform lines on stdout, the final summary, the JSON report, the exit status. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "report.h"
#include "telemetry.h"
#include "util.h"

void
rep_line(const struct emu *emu, const char *fmt, ...)
{
	va_list ap;

	if (emu->opt.quiet)
		return;
	va_start(ap, fmt);
	if (vfprintf(stdout, fmt, ap) < 0 || fputc('\n', stdout) == EOF)
		clearerr(stdout);
	va_end(ap);
	if (fflush(stdout) != 0)
		clearerr(stdout);
}

static long
vm_hwm_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *end = NULL;
		if (strncmp(line, "VmHWM:", 6) != 0)
			continue;
		errno = 0;
		kb = strtol(line + 6, &end, 10);
		if (errno != 0 || end == line + 6 || kb < 0)
			kb = 0;
		break;
	}
	(void)fclose(f);
	return kb;
}

int
rep_max_memory_mb(const struct emu *emu)
{
	long kb = 0;
	int i;

	if (emu->sb.rt.proc.running)
		kb += vm_hwm_kb(emu->sb.rt.proc.pid);
	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->proc.running)
			kb += vm_hwm_kb(emu->sb.agents[i]->proc.pid);
	}
	return kb < 1024 ? 1 : (int)((kb + 1023) / 1024);
}

int
rep_agent_failed(const struct agent *a)
{
	const struct child *c = &a->proc;

	if (a->nerrors > 0 || !a->registered)
		return 1;
	if (a->path == NULL)
		return 0;	/* internal: no process of its own */
	if (c->running || (c->killed && !c->kill_expected))
		return 1;
	if (c->killed && c->kill_expected)
		return 0;
	return c->exit_code != 0;
}

/* The first init, which the report's init fields describe; NULL before it. */
static const struct init_rec *
first_init(const struct emu *emu)
{
	return emu->init.n > 0 ? &emu->init.recs[0] : NULL;
}

static int
any_init_failed(const struct emu *emu)
{
	int i;

	for (i = 0; i < emu->init.n; i++) {
		if (emu->init.recs[i].status != NULL && strcmp(emu->init.recs[i].status, "success") != 0)
			return 1;
	}
	return 0;
}

int
rep_exit_status(const struct emu *emu)
{
	int i;

	if (any_init_failed(emu) || emu->ph.resets > 0 || emu->ph.interrupted ||
	    emu->shut.reason == NULL ||
	    strcmp(emu->shut.reason, emu->opt.shutdown_reason) != 0)
		return 1;
	for (i = 0; i < emu->sb.nretired; i++) {
		if (rep_agent_failed(emu->sb.retired[i]))
			return 1;
	}
	for (i = 0; i < emu->sb.nagents; i++) {
		if (rep_agent_failed(emu->sb.agents[i]))
			return 1;
	}
	return 0;
}

static void
describe_exit(const struct emu *emu, const struct child *c, const struct agent *a, char *buf,
    size_t bufsz)
{
	int n;

	if (c->pid <= 0)
		n = snprintf(buf, bufsz, "not started");
	else if (c->running)
		n = snprintf(buf, bufsz, "still running");
	else if (c->killed && emu->ph.interrupted)
		n = snprintf(buf, bufsz, "SIGKILLed (the emulator was interrupted)");
	else if (c->killed && c->kill_expected && a == NULL)
		n = snprintf(buf, bufsz, "SIGKILLed (no extensions: the runtime gets 0 ms)");
	else if (c->killed && c->kill_expected && !a->registered)
		n = snprintf(buf, bufsz, "SIGKILLed (never registered)");
	else if (c->killed && c->kill_expected)
		n = snprintf(buf, bufsz, "SIGKILLed (not subscribed to SHUTDOWN, as Lambda does)");
	else if (c->killed)
		n = snprintf(buf, bufsz, "SIGKILLed (did not exit in time)");
	else if (c->term_signal != 0)
		n = snprintf(buf, bufsz, "ended by signal %d", c->term_signal);
	else
		n = snprintf(buf, bufsz, "exited %d", c->exit_code);
	if (n < 0 || (size_t)n >= bufsz)
		buf[0] = '\0';
}

/* An init's duration so far; 0 for none. */
static double
init_ms(const struct init_rec *r)
{
	if (r == NULL)
		return 0;
	return (r->t_end > 0 ? r->t_end : emu_mono_ms()) - r->t_start;
}

static double
shutdown_ms(const struct emu *emu)
{
	if (!emu->shut.started)
		return 0;
	return (emu->shut.t_end > 0 ? emu->shut.t_end : emu_mono_ms()) - emu->shut.t_start;
}

/* Nearest-rank percentile p (0..100] of the sorted v[0..n). */
static double
percentile(const double *v, int n, double p)
{
	int k = (int)(p / 100.0 * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * p50, mean and p99 of post-runtime (what = 0) or post-response (1) time over
 * the warm invokes: successful ones that were not the first of their sandbox.
 * Returns how many there were (0: no figures).
 */
static int
warm_stats(const struct emu *emu, int what, double *p50, double *mean, double *p99)
{
	double *v = calloc((size_t)emu->inv.n + 1, sizeof(*v)), sum = 0;
	int i, n = 0;

	*p50 = *mean = *p99 = 0;
	if (v == NULL)
		return 0;
	for (i = 0; i < emu->inv.n; i++) {
		const struct invoke_rec *r = &emu->inv.recs[i];
		if (r->cold || strcmp(r->status, "success") != 0)
			continue;
		v[n] = what == 0 ? r->post_runtime_ms : r->post_response_ms;
		sum += v[n++];
	}
	if (n > 0) {
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
		*p50 = percentile(v, n, 50);
		*p99 = percentile(v, n, 99);
		*mean = sum / n;
	}
	free(v);
	return n;
}

/* exec -> register and exec -> first next of an extension process; -1: not reached. */
static double
since_exec(const struct agent *a, double t)
{
	return a->t_exec > 0 && t > 0 ? t - a->t_exec : -1;
}

static void
summary_warm(const struct emu *emu)
{
	static const char *const label[2] = { "post-runtime (warm)", "post-response (warm)" };
	double p50, mean, p99;
	char a[32], b[32], c[32];
	int what, n;

	for (what = 0; what < 2; what++) {
		n = warm_stats(emu, what, &p50, &mean, &p99);
		if (n == 0)
			continue;
		emu_fmt_ms(p50, a, sizeof(a));
		emu_fmt_ms(mean, b, sizeof(b));
		emu_fmt_ms(p99, c, sizeof(c));
		rep_line(emu, "  %-21s p50 %s ms, mean %s ms, p99 %s ms (%d invokes)", label[what],
		    a, b, c, n);
	}
}

static void
summary_init_times(const struct emu *emu, const struct agent *ag)
{
	char a[32] = "-", b[32] = "-";
	double reg = since_exec(ag, ag->t_register), next = since_exec(ag, ag->t_first_next);

	if (ag->path == NULL)
		return;
	if (reg >= 0)
		emu_fmt_ms(reg, a, sizeof(a));
	if (next >= 0)
		emu_fmt_ms(next, b, sizeof(b));
	rep_line(emu, "  extension init %s (environment %d): exec -> register %s ms, "
	    "exec -> first next %s ms", ag->name, ag->environment, a, b);
}

static void
summary_invoke(const struct emu *emu, int i)
{
	const struct invoke_rec *r = &emu->inv.recs[i];
	char a[32], b[32], c[32], init[96] = "";

	if (r->reinit > 0) {
		const struct init_rec *in = &emu->init.recs[r->reinit - 1];
		emu_fmt_ms(init_ms(in), a, sizeof(a));
		emu_msg(init, sizeof(init), ", after a re-init of %s ms (%s)", a,
		    in->status != NULL ? in->status : "not done");
	}
	emu_fmt_ms(r->runtime_ms, a, sizeof(a));
	emu_fmt_ms(r->post_runtime_ms, b, sizeof(b));
	emu_fmt_ms(r->post_response_ms, c, sizeof(c));
	rep_line(emu, "  invoke %-6d runtime %s ms, post-runtime %s ms, post-response %s ms, %s (%s)%s",
	    i + 1, a, b, c, r->status, r->request_id, init);
}

/* One extension's line; a header first when the run had several environments. */
static void
summary_agent(const struct emu *emu, const struct agent *ag, int *env)
{
	char what[128], events[32];

	if (emu->init.n > 1 && ag->environment != *env)
		rep_line(emu, "  environment %d:", ag->environment);
	*env = ag->environment;
	ext_events_text(ag->events, events, sizeof(events));
	if (ag->path == NULL)
		emu_msg(what, sizeof(what), "internal");
	else
		describe_exit(emu, &ag->proc, ag, what, sizeof(what));
	rep_line(emu, "  extension %s: %s, events %s, %s%s%s", ag->name,
	    ag->registered ? "registered" : "NOT registered", events, what,
	    ag->nerrors > 0 ? ", error " : "", ag->nerrors > 0 ? ag->errors[0].type : "");
}

void
rep_summary(const struct emu *emu)
{
	const struct init_rec *first = first_init(emu);
	char a[32], what[128];
	int i, env = 0, status = rep_exit_status(emu);

	if (emu->opt.quiet)
		return;
	rep_line(emu, "SUMMARY");
	emu_fmt_ms(init_ms(first), a, sizeof(a));
	rep_line(emu, "  init:          %s ms (%s%s%s)", a,
	    first != NULL && first->status != NULL ? first->status : "not done",
	    first != NULL && first->error != NULL ? ", " : "",
	    first != NULL && first->error != NULL ? first->error : "");
	for (i = 0; i < emu->sb.nretired; i++)
		summary_init_times(emu, emu->sb.retired[i]);
	for (i = 0; i < emu->sb.nagents; i++)
		summary_init_times(emu, emu->sb.agents[i]);
	for (i = 0; i < emu->inv.n; i++)
		summary_invoke(emu, i);
	summary_warm(emu);
	if (emu->opt.managed)
		rep_line(emu, "  concurrency:   at most %d invokes at once (of %ld allowed)",
		    emu->inv.max_concurrent, emu->opt.concurrency);
	emu_fmt_ms(shutdown_ms(emu), a, sizeof(a));
	rep_line(emu, "  shutdown:      %s ms (reason %s)", a,
	    emu->shut.reason ? emu->shut.reason : "none");
	rep_line(emu, "  resets:        %d", emu->ph.resets);
	for (i = 0; i < emu->sb.nretired; i++)
		summary_agent(emu, emu->sb.retired[i], &env);
	for (i = 0; i < emu->sb.nagents; i++)
		summary_agent(emu, emu->sb.agents[i], &env);
	describe_exit(emu, &emu->sb.rt.proc, NULL, what, sizeof(what));
	rep_line(emu, "  runtime: %s", what);
	rep_line(emu, "  result: %s (exit %d)%s", status == 0 ? "OK, Lambda would accept this run" :
	    "FAILED", status, emu->ph.interrupted ? " (interrupted)" : "");
}

static struct json_object *
string_or_null(const char *s, int *bad)
{
	struct json_object *v;

	if (s == NULL)
		return NULL;
	v = json_object_new_string(s);
	if (v == NULL)
		*bad = 1;
	return v;
}

/* Adds key: val, where val NULL means JSON null (not an error). */
static int
set_nullable(struct json_object *o, const char *key, struct json_object *val)
{
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int
add_item(struct json_object *arr, struct json_object *item)
{
	if (item == NULL || json_object_array_add(arr, item) != 0) {
		json_object_put(item);
		return -1;
	}
	return 0;
}

static void
child_json(const struct child *c, struct json_object *o, int *bad)
{
	*bad |= set_nullable(o, "exit_code", !c->running && c->pid > 0 && c->term_signal == 0 ?
	    json_object_new_int(c->exit_code) : NULL);
	*bad |= set_nullable(o, "signal", c->term_signal != 0 ? json_object_new_int(c->term_signal) :
	    NULL);
	*bad |= json_set(o, "killed", json_object_new_boolean(c->killed));
}

static struct json_object *
agent_json(const struct agent *a)
{
	struct json_object *o = json_object_new_object(), *errs = json_object_new_array();
	struct json_object *evs = json_object_new_array();
	int bad = o == NULL, i;

	if (evs != NULL && (((a->events & EMU_EV_INVOKE) &&
	    add_item(evs, json_object_new_string("INVOKE")) != 0) ||
	    ((a->events & EMU_EV_SHUTDOWN) && add_item(evs, json_object_new_string("SHUTDOWN")) != 0)))
		bad = 1;
	for (i = 0; errs != NULL && i < a->nerrors; i++) {
		struct json_object *e = json_object_new_object();
		int ebad = 0;
		ebad |= json_set(e, "source", json_object_new_string(a->errors[i].source));
		ebad |= json_set(e, "type", json_object_new_string(a->errors[i].type));
		ebad |= set_nullable(e, "message", string_or_null(a->errors[i].message, &ebad));
		if (ebad) {
			json_object_put(e);
			bad = 1;
		} else if (add_item(errs, e) != 0) {
			bad = 1;
		}
	}
	bad |= json_set(o, "name", json_object_new_string(a->name));
	bad |= json_set(o, "environment", json_object_new_int(a->environment));
	bad |= json_set(o, "internal", json_object_new_boolean(a->path == NULL));
	bad |= json_set(o, "registered", json_object_new_boolean(a->registered));
	bad |= json_set(o, "events", evs);
	bad |= json_set(o, "state", json_object_new_string(ext_state_name(a->state)));
	if (o != NULL)
		child_json(&a->proc, o, &bad);
	bad |= json_set(o, "kill_expected", json_object_new_boolean(a->proc.kill_expected));
	if (o != NULL) {
		double reg = since_exec(a, a->t_register), next = since_exec(a, a->t_first_next);
		bad |= set_nullable(o, "exec_to_register_ms", reg >= 0 ? json_ms(reg) : NULL);
		bad |= set_nullable(o, "exec_to_first_next_ms", next >= 0 ? json_ms(next) : NULL);
	}
	bad |= json_set(o, "ok", json_object_new_boolean(!rep_agent_failed(a)));
	bad |= json_set(o, "errors", errs);
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* {"name": ms after the response} per INVOKE subscriber. */
static struct json_object *
nexts_json(const struct invoke_rec *r)
{
	struct json_object *o = json_object_new_object();
	int i;

	for (i = 0; o != NULL && i < r->nnext; i++) {
		if (json_set(o, r->next[i].agent->name, json_ms(r->next[i].ms)) != 0) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

static struct json_object *
warm_json(const struct emu *emu)
{
	struct json_object *o = json_object_new_object();
	double p50, mean, p99;
	int bad = 0, n;

	n = warm_stats(emu, 0, &p50, &mean, &p99);
	bad |= json_set(o, "warm_invokes", json_object_new_int(n));
	bad |= json_set(o, "post_runtime_p50_ms", json_ms(p50));
	bad |= json_set(o, "post_runtime_mean_ms", json_ms(mean));
	bad |= json_set(o, "post_runtime_p99_ms", json_ms(p99));
	(void)warm_stats(emu, 1, &p50, &mean, &p99);
	bad |= json_set(o, "post_response_p50_ms", json_ms(p50));
	bad |= json_set(o, "post_response_mean_ms", json_ms(mean));
	bad |= json_set(o, "post_response_p99_ms", json_ms(p99));
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Epoch ms with 3 decimals; JSON null for 0 (not happened). */
static struct json_object *
instant_json(double epoch_ms)
{
	char text[32];
	int n;

	if (epoch_ms <= 0)
		return NULL;
	n = snprintf(text, sizeof(text), "%.3f", epoch_ms);
	if (n < 0 || (size_t)n >= sizeof(text))
		return NULL;
	return json_object_new_double_s(epoch_ms, text);
}

static struct json_object *
freezes_json(const struct emu *emu)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; arr != NULL && i < emu->ph.nfreezes; i++) {
		struct json_object *f = json_object_new_object();
		int bad = 0;

		bad |= json_set(f, "frozen_at_ms", instant_json(emu->ph.freezes[i].frozen_at));
		if (f != NULL)
			bad |= set_nullable(f, "thawed_at_ms", instant_json(emu->ph.freezes[i].thawed_at));
		if (bad || add_item(arr, f) != 0) {
			if (bad)
				json_object_put(f);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *
invoke_json(const struct emu *emu, const struct invoke_rec *r)
{
	const struct init_rec *in = r->reinit > 0 ? &emu->init.recs[r->reinit - 1] : NULL;
	struct json_object *o = json_object_new_object();
	int bad = 0;

	bad |= json_set(o, "request_id", json_object_new_string(r->request_id));
	bad |= json_set(o, "runtime_ms", json_ms(r->runtime_ms));
	bad |= json_set(o, "post_runtime_ms", json_ms(r->post_runtime_ms));
	bad |= json_set(o, "post_response_ms", json_ms(r->post_response_ms));
	bad |= json_set(o, "extension_next_ms", nexts_json(r));
	bad |= json_set(o, "cold", json_object_new_boolean(r->cold));
	bad |= json_set(o, "duration_ms", json_ms(r->duration_ms));
	bad |= json_set(o, "status", json_object_new_string(r->status));
	bad |= json_set(o, "produced_bytes", json_object_new_int64((int64_t)r->produced_bytes));
	bad |= json_set(o, "max_memory_used_mb", json_object_new_int(r->max_memory_mb));
	if (o != NULL)
		bad |= set_nullable(o, "response", string_or_null(r->response, &bad));
	bad |= json_set(o, "reinit", json_object_new_boolean(in != NULL));
	if (o != NULL) {
		bad |= set_nullable(o, "init_ms", in != NULL ? json_ms(init_ms(in)) : NULL);
		bad |= set_nullable(o, "init_status", string_or_null(in != NULL ? in->status : NULL,
		    &bad));
	}
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
build_report(const struct emu *emu)
{
	struct json_object *o = json_object_new_object(), *inv = json_object_new_array();
	struct json_object *exts = json_object_new_array(), *rt = json_object_new_object();
	const struct init_rec *first = first_init(emu);
	int bad = 0, i;

	for (i = 0; inv != NULL && i < emu->inv.n; i++)
		bad |= add_item(inv, invoke_json(emu, &emu->inv.recs[i]));
	for (i = 0; exts != NULL && i < emu->sb.nretired; i++)
		bad |= add_item(exts, agent_json(emu->sb.retired[i]));
	for (i = 0; exts != NULL && i < emu->sb.nagents; i++)
		bad |= add_item(exts, agent_json(emu->sb.agents[i]));
	if (rt != NULL)
		child_json(&emu->sb.rt.proc, rt, &bad);
	bad |= json_set(o, "init_ms", json_ms(init_ms(first)));
	bad |= json_set(o, "init_status", json_object_new_string(first != NULL &&
	    first->status != NULL ? first->status : "incomplete"));
	if (o != NULL) {
		bad |= set_nullable(o, "init_error",
		    string_or_null(first != NULL ? first->error : NULL, &bad));
		bad |= set_nullable(o, "init_error_message",
		    string_or_null(first != NULL ? first->error_msg : NULL, &bad));
	}
	bad |= json_set(o, "invokes", inv);
	bad |= json_set(o, "managed_instances", json_object_new_boolean(emu->opt.managed));
	bad |= json_set(o, "max_concurrent_invokes", json_object_new_int(emu->opt.managed ?
	    emu->inv.max_concurrent : emu->inv.n > 0));
	bad |= json_set(o, "warm", warm_json(emu));
	bad |= json_set(o, "freezes", freezes_json(emu));
	bad |= json_set(o, "shutdown_ms", json_ms(shutdown_ms(emu)));
	bad |= json_set(o, "resets", json_object_new_int(emu->ph.resets));
	if (o != NULL)
		bad |= set_nullable(o, "shutdown_reason", string_or_null(emu->shut.reason, &bad));
	bad |= json_set(o, "extensions", exts);
	bad |= json_set(o, "runtime", rt);
	bad |= json_set(o, "telemetry", tel_stats_json(emu->tel));
	bad |= json_set(o, "interrupted", json_object_new_boolean(emu->ph.interrupted));
	bad |= json_set(o, "exit_status", json_object_new_int(rep_exit_status(emu)));
	if (bad) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int
rep_write_json(const struct emu *emu)
{
	struct json_object *root;
	const char *text;
	char *line;
	size_t n;
	int rc;

	if (emu->opt.report_file == NULL)
		return 0;
	root = build_report(emu);
	if (root == NULL) {
		emu_warnx("out of memory while building the report");
		return -1;
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(text);
	line = malloc(n + 2);
	if (line == NULL) {
		json_object_put(root);
		return -1;
	}
	memcpy(line, text, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	rc = emu_write_file_atomic(emu->opt.report_file, line, n + 1);
	free(line);
	json_object_put(root);
	if (rc != 0) {
		emu_warnx("cannot write --report '%s': %s", emu->opt.report_file, strerror(-rc));
		return -1;
	}
	return 0;
}
