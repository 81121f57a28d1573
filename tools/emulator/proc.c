/* proc.c -- process supervision: environment, spawning in own process groups, reaping, freeze. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emu.h"
#include "phase.h"
#include "proc.h"
#include "util.h"

extern char **environ;

/* Variables Lambda does not pass to extensions (lambda-api.md A.1). */
static const char *const hidden_from_extensions[] = {
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR",
	"LAMBDA_TASK_ROOT", "_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT", "_HANDLER",
	NULL
};

struct envlist {
	char	**v;	/* owned strings, NULL-terminated */
	size_t	  n;
	size_t	  cap;
};

static int
env_name_is(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static void
env_unset(struct envlist *e, const char *name)
{
	size_t i = 0;

	while (i < e->n) {
		if (env_name_is(e->v[i], name)) {
			free(e->v[i]);
			e->v[i] = e->v[e->n - 1];
			e->v[--e->n] = NULL;
		} else {
			i++;
		}
	}
}

static int
env_push(struct envlist *e, char *entry)
{
	if (entry == NULL)
		return -1;
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		char **v = realloc(e->v, cap * sizeof(*v));
		if (v == NULL) {
			free(entry);
			return -1;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = entry;
	e->v[e->n] = NULL;
	return 0;
}

static int
env_set(struct envlist *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *entry = malloc(len);
	int n;

	if (entry == NULL)
		return -1;
	n = snprintf(entry, len, "%s=%s", name, value);
	if (n < 0 || (size_t)n >= len) {
		free(entry);
		return -1;
	}
	env_unset(e, name);
	return env_push(e, entry);
}

static void
env_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
env_copy_environ(struct envlist *e)
{
	size_t i;

	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		if (strchr(environ[i], '=') == NULL)
			continue;
		if (env_push(e, strdup(environ[i])) != 0)
			return -1;
	}
	return e->v == NULL ? env_push(e, NULL) : 0;
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : fallback;
}

static int
resolve_metadata(struct emu *emu)
{
	const char *mem = getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
	char arn[512];
	char *end = NULL;
	int n;

	emu->fn.memory_mb = 128;
	if (mem != NULL && mem[0] != '\0') {
		errno = 0;
		emu->fn.memory_mb = strtol(mem, &end, 10);
		if (mem[0] < '0' || mem[0] > '9' || errno != 0 || *end != '\0' ||
		    emu->fn.memory_mb < 128 || emu->fn.memory_mb > 10240) {
			emu_warnx("invalid AWS_LAMBDA_FUNCTION_MEMORY_SIZE '%s' (expected 128..10240)",
			    mem);
			return -1;
		}
	}
	emu->fn.fn_name = strdup(env_or("AWS_LAMBDA_FUNCTION_NAME", "test_function"));
	emu->fn.region = strdup(env_or("AWS_REGION", "us-east-1"));
	emu->fn.handler = strdup(env_or("_HANDLER", "handler"));
	if (emu->fn.fn_name == NULL || emu->fn.region == NULL || emu->fn.handler == NULL)
		return -1;
	n = snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:%s:function:%s", emu->fn.region,
	    EMU_ACCOUNT_ID, emu->fn.fn_name);
	if (n < 0 || (size_t)n >= sizeof(arn)) {
		emu_warnx("AWS_LAMBDA_FUNCTION_NAME or AWS_REGION is too long");
		return -1;
	}
	emu->fn.arn = strdup(arn);
	return emu->fn.arn != NULL ? 0 : -1;
}

static int
build_env(const struct emu *emu, int for_function, char ***out)
{
	struct envlist e = { NULL, 0, 0 };
	char mem[24];
	size_t i;
	int n;

	n = snprintf(mem, sizeof(mem), "%ld", emu->fn.memory_mb);
	if (n < 0 || (size_t)n >= sizeof(mem) || env_copy_environ(&e) != 0)
		goto fail;
	if (!for_function) {
		for (i = 0; hidden_from_extensions[i] != NULL; i++)
			env_unset(&e, hidden_from_extensions[i]);
	}
	if (env_set(&e, "AWS_LAMBDA_RUNTIME_API", emu->api_addr) != 0 ||
	    env_set(&e, "AWS_LAMBDA_FUNCTION_NAME", emu->fn.fn_name) != 0 ||
	    env_set(&e, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST") != 0 ||
	    env_set(&e, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", mem) != 0 ||
	    env_set(&e, "AWS_REGION", emu->fn.region) != 0 ||
	    env_set(&e, "AWS_LAMBDA_INITIALIZATION_TYPE", emu->opt.managed ?
	    "lambda-managed-instances" : "on-demand") != 0)
		goto fail;
	if (for_function && emu->opt.managed) {
		n = snprintf(mem, sizeof(mem), "%ld", emu->opt.concurrency);
		if (n < 0 || (size_t)n >= sizeof(mem) ||
		    env_set(&e, "AWS_LAMBDA_MAX_CONCURRENCY", mem) != 0)
			goto fail;
	}
	if (for_function && env_set(&e, "_HANDLER", emu->fn.handler) != 0)
		goto fail;
	*out = e.v;
	return 0;
fail:
	env_free(e.v);
	return -1;
}

int
proc_setup_env(struct emu *emu)
{
	if (resolve_metadata(emu) != 0)
		return -1;
	if (build_env(emu, 0, &emu->fn.env_ext) != 0 || build_env(emu, 1, &emu->fn.env_fn) != 0) {
		emu_warnx("out of memory while building the environment");
		return -1;
	}
	return 0;
}

void
proc_free_env(struct emu *emu)
{
	env_free(emu->fn.env_ext);
	env_free(emu->fn.env_fn);
	emu->fn.env_ext = NULL;
	emu->fn.env_fn = NULL;
	free(emu->fn.fn_name);
	free(emu->fn.region);
	free(emu->fn.handler);
	free(emu->fn.arn);
	emu->fn.fn_name = emu->fn.region = emu->fn.handler = emu->fn.arn = NULL;
}

int
proc_spawn(struct child *c, char *const argv[], char *const envp[])
{
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = 0;
	int rc;

	rc = posix_spawnattr_init(&attr);
	if (rc != 0)
		return rc;
	if (sigemptyset(&none) != 0 || sigfillset(&all) != 0 || sigdelset(&all, SIGKILL) != 0 ||
	    sigdelset(&all, SIGSTOP) != 0) {
		rc = EINVAL;
		goto out;
	}
	/* Own process group (freeze and kill act on the whole group); default signals. */
	rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc == 0)
		rc = posix_spawn(&pid, argv[0], NULL, &attr, argv, envp);
	if (rc == 0) {
		c->pid = pid;
		c->running = 1;
		c->exit_code = -1;
		c->term_signal = 0;
	}
out:
	(void)posix_spawnattr_destroy(&attr);
	return rc;
}

void
proc_signal(struct child *c, int sig)
{
	if (c->pid <= 0 || !c->running)
		return;
	if (kill(-c->pid, sig) != 0 && errno != ESRCH)
		emu_warnx("cannot send signal %d to process group %ld: %s", sig, (long)c->pid,
		    strerror(errno));
}

void
proc_kill(struct child *c, int expected)
{
	if (c->pid <= 0 || !c->running)
		return;
	c->killed = 1;
	c->kill_expected = expected;
	proc_signal(c, SIGKILL);
}

/*
 * Processes that left their process group (setsid, setpgid) are not frozen:
 * only a cgroup freezer could reach them. proc_kill_strays ends them at the
 * end of the run.
 */
void
proc_freeze(struct emu *emu, int freeze)
{
	int i;

	if (emu->opt.freeze == FREEZE_NONE || emu->sb.frozen == freeze)
		return;
	emu->sb.frozen = freeze;
	proc_signal(&emu->sb.rt.proc, freeze ? SIGSTOP : SIGCONT);
	for (i = 0; i < emu->sb.nagents; i++)
		proc_signal(&emu->sb.agents[i]->proc, freeze ? SIGSTOP : SIGCONT);
}

static void
record_exit(struct child *c, int status)
{
	c->running = 0;
	c->exited_at = emu_mono_ms();
	if (WIFEXITED(status)) {
		c->exit_code = WEXITSTATUS(status);
		c->term_signal = 0;
	} else if (WIFSIGNALED(status)) {
		c->exit_code = -1;
		c->term_signal = WTERMSIG(status);
	}
}

void
proc_reap(struct emu *emu)
{
	int status = 0, i;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (emu->sb.rt.proc.pid == pid && emu->sb.rt.proc.running) {
			record_exit(&emu->sb.rt.proc, status);
			phase_on_child_exit(emu, NULL);
			continue;
		}
		for (i = 0; i < emu->sb.nagents; i++) {
			struct agent *a = emu->sb.agents[i];
			if (a->proc.pid == pid && a->proc.running) {
				record_exit(&a->proc, status);
				phase_on_child_exit(emu, a);
				break;
			}
		}
		/* Anything else is an orphan we adopted as subreaper: reaped, ignored. */
	}
}

static void
kill_group(pid_t pgid)
{
	if (pgid > 0 && kill(-pgid, SIGKILL) != 0 && errno != ESRCH && errno != EPERM)
		emu_warnx("cannot kill process group %ld: %s", (long)pgid, strerror(errno));
}

void
proc_kill_groups(struct emu *emu)
{
	int i;

	kill_group(emu->sb.rt.proc.pid);
	for (i = 0; i < emu->sb.nagents; i++)
		kill_group(emu->sb.agents[i]->proc.pid);
}

/* 1 if pgrp is the process group of a supervised leader. */
static int
supervised_group(const struct emu *emu, pid_t pgrp)
{
	int i;

	if (pgrp > 0 && pgrp == emu->sb.rt.proc.pid)
		return 1;
	for (i = 0; i < emu->sb.nagents; i++) {
		if (pgrp > 0 && pgrp == emu->sb.agents[i]->proc.pid)
			return 1;
	}
	return 0;
}

/* State, parent and process group from /proc/PID/stat. 0, or -1 (gone or unreadable). */
static int
read_stat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp)
{
	char path[64], buf[512], *p;
	long pp, pg;
	size_t n;
	FILE *f;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	/* The command name may hold ')': the fields follow the last one. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %c %ld %ld", state, &pp, &pg) != 3)
		return -1;
	*ppid = (pid_t)pp;
	*pgrp = (pid_t)pg;
	return 0;
}

static void
note_stray(struct strays *s, pid_t pid)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (s->pid[i] == pid)
			return;
	}
	if (s->n < EMU_MAX_STRAYS)
		s->pid[s->n++] = pid;
	s->killed++;
}

/* SIGKILL to pid if it is a live child; counted when outside the supervised groups. */
static void
kill_child(struct emu *emu, pid_t pid, pid_t self)
{
	pid_t ppid, pgrp;
	char state;

	if (read_stat(pid, &state, &ppid, &pgrp) != 0 || ppid != self || state == 'Z' ||
	    state == 'X')
		return;
	/* A failure (gone, or EPERM after a set-user-ID exec) shows in proc_children_left. */
	if (kill(pid, SIGKILL) == 0 && !supervised_group(emu, pgrp))
		note_stray(&emu->sb.strays, pid);
}

int
proc_kill_strays(struct emu *emu)
{
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;

	d = opendir("/proc");
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *end = NULL;
		long pid = strtol(de->d_name, &end, 10);

		if (pid > 0 && end != de->d_name && *end == '\0')
			kill_child(emu, (pid_t)pid, self);
	}
	(void)closedir(d);
	return 0;
}

void
proc_sweep(struct emu *emu)
{
	if (emu->sb.strays.unlisted || proc_kill_strays(emu) == 0)
		return;
	emu->sb.strays.unlisted = 1;
	emu_warnx("cannot list child processes in /proc (%s): processes that left their "
	    "process group may outlive the run", strerror(errno));
}

int
proc_any_running(const struct emu *emu)
{
	int i;

	if (emu->sb.rt.proc.running)
		return 1;
	for (i = 0; i < emu->sb.nagents; i++) {
		if (emu->sb.agents[i]->proc.running)
			return 1;
	}
	return 0;
}

int
proc_children_left(void)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno != ECHILD;
	return 1;
}
