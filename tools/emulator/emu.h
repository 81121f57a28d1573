/* emu.h -- the emulator's state, in one part per owner: sandbox, dispatcher, init, invokes, shutdown. */
#ifndef EMU_H
#define EMU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "options.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_request;
struct lmi;
struct telemetry;

#define EMU_PROG	"pyroscope-lambda-emulator"
#define EMU_MAX_AGENTS	10		/* MaxAgentsAllowed, as in Lambda */
#define EMU_ID_LEN	36		/* canonical UUID text */
#define EMU_MAX_ERRORS	8		/* errors kept per extension */
#define EMU_MAX_PAYLOAD	6291556L	/* response limit: 6 MiB + 100, as the RIE */
#define EMU_ACCOUNT_ID	"012345678912"
#define EMU_MAX_STRAYS	64		/* strays told apart; more are still killed */

/* Event subscriptions (register body). */
#define EMU_EV_INVOKE	1u
#define EMU_EV_SHUTDOWN	2u

/* Extension (agent) states, named as Lambda names them. */
enum agent_state {
	AG_STARTED, AG_REGISTERED, AG_READY, AG_RUNNING, AG_INIT_ERROR, AG_EXIT_ERROR,
	AG_SHUTDOWN_FAILED, AG_EXITED, AG_LAUNCH_ERROR
};

/* Runtime states, named as the RIE names them. */
enum rt_state { RT_NONE, RT_STARTED, RT_READY, RT_RUNNING, RT_RESPONDED, RT_INIT_ERROR };

/* The dispatcher's phases (phase.c owns every transition between them). */
enum emu_phase {
	PH_BOOT,	/* before phase_start */
	PH_INIT,	/* the Init phase, or a re-init inside an invoke (init.c) */
	PH_INVOKE,	/* an invoke is running (invoke.c) */
	PH_GAP,		/* between invokes: frozen */
	PH_SHUTDOWN,	/* the Shutdown phase, a reset's included (shutdown.c) */
	PH_DONE		/* finished: waiting for the last children, then exit */
};

/* Init's own stages. */
enum init_stage {
	INIT_EXT,	/* extensions started: waiting until all registered */
	INIT_RT		/* runtime started: waiting for everyone's first next */
};

/* Shutdown's own stages. */
enum shut_stage {
	SHUT_RT,	/* the runtime's share of the shutdown window */
	SHUT_EXT,	/* the extensions' share */
	SHUT_REAP	/* past the deadline (or interrupted): waiting for the kills to land */
};

/* One supervised process group (leader = pid). */
struct child {
	pid_t	 pid;		/* 0: never started */
	int	 running;
	int	 exit_code;	/* -1 unless it exited normally */
	int	 term_signal;	/* 0 unless a signal ended it */
	int	 killed;	/* the emulator sent SIGKILL */
	int	 kill_expected;	/* ...because Lambda does so (no SHUTDOWN subscription) */
	double	 exited_at;	/* monotonic ms */
};

/* Children that left their process group, SIGKILLed at the end of the run. */
struct strays {
	pid_t	 pid[EMU_MAX_STRAYS];	/* distinct ones killed so far */
	int	 n;
	int	 killed;		/* count; past the table, once per sighting */
	int	 unlisted;		/* /proc could not be read: no more sweeps */
};

struct agent_error {
	char	*source;	/* owned: "init/error", "exit/error" or "platform" */
	char	*type;		/* owned: e.g. Extension.Crash */
	char	*message;	/* owned, may be NULL */
};

struct agent {
	char		*name;		/* owned: file name, or the internal name */
	char		*path;		/* owned: executable; NULL for an internal extension */
	enum agent_state state;
	int		 registered;
	unsigned	 events;	/* EMU_EV_* */
	char		 id[EMU_ID_LEN + 1];	/* "" until registered */
	struct evhttp_request *next_req;	/* parked next: answered exactly once */
	int		 shutdown_pending;	/* give SHUTDOWN at its next call */
	long		 nexts;		/* event/next calls so far */
	int		 shutdown_sent;
	struct child	 proc;
	struct agent_error errors[EMU_MAX_ERRORS];
	int		 nerrors;
	int		 environment;	/* the init (1-based) that started it */
	double		 t_exec;	/* monotonic ms: started (0: never) */
	double		 t_register;	/* ...registered (0: not yet) */
	double		 t_first_next;	/* ...its first event/next (0: not yet) */
};

struct runtime {
	enum rt_state	 state;
	struct evhttp_request *next_req;	/* parked next: answered exactly once */
	struct child	 proc;
};

/* One run of the Init phase: the first, or a re-init inside an invoke. */
struct init_rec {
	double		 t_start, t_end;
	int		 in_invoke;		/* suppressed init: phase invoke, function timeout */
	const char	*status;		/* static: NULL while running, success, error, timeout */
	char		*error;			/* owned: error type */
	char		*error_msg;		/* owned */
};

/* When an extension called next after the runtime's response, in one invoke. */
struct ext_next {
	const struct agent *agent;		/* borrowed: agents live as long as the run */
	double		 ms;			/* response -> its next; 0 when before it */
};

struct invoke_rec {
	char		 request_id[EMU_ID_LEN + 1];
	double		 runtime_ms;		/* release -> response (or -> reset) */
	double		 post_runtime_ms;	/* runtime done -> last extension next */
	double		 post_response_ms;	/* runtime's response -> the invoke's end */
	struct ext_next	 next[EMU_MAX_AGENTS];	/* INVOKE subscribers */
	int		 nnext;
	int		 cold;			/* the first invoke of its sandbox */
	double		 duration_ms;		/* release -> invoke done */
	const char	*status;		/* static: success, error, timeout, failure */
	size_t		 produced_bytes;
	int		 max_memory_mb;
	char		*response;		/* owned: start of the function's answer */
	int		 reinit;		/* the init (1-based) it started with, or 0 */
};

struct invoke_cur {
	char		 id[EMU_ID_LEN + 1];
	char		 trace[96];
	int64_t		 deadline_epoch_ms;
	double		 t_start, t_response, t_rt_done;
	double		 t_release;		/* 0 until released (after a re-init, if any) */
	int		 reinit;		/* the init (1-based) run inside it, or 0 */
	int		 cold;			/* the first invoke of its sandbox */
	int		 responded;
	int		 rt_done;
	const char	*status;		/* static */
	const char	*error_type;		/* static, error_buf or NULL */
	char		 error_buf[128];
	size_t		 produced;
	int		 rtdone_emitted;
	char		*response;		/* owned: start of the function's answer */
	double		 t_next[EMU_MAX_AGENTS];	/* per agent slot: its next (0: none) */
};

/* One freeze of the sandbox, wall-clock epoch ms (thawed_at 0: still frozen). */
struct freeze_rec {
	double		 frozen_at;
	double		 thawed_at;
};

/* The function's identity and the environments its processes get (proc.c). */
struct fn_meta {
	char		*fn_name;		/* owned strings */
	char		*handler;
	char		*region;
	char		*arn;
	long		 memory_mb;
	char		**env_ext;		/* owned environment for extensions */
	char		**env_fn;		/* owned environment for the function */
};

/* The sandbox's processes and records: what a reset tears down (reset.c renews it). */
struct sandbox {
	struct agent	*agents[EMU_MAX_AGENTS];	/* file-backed first (extapi.c) */
	int		 nagents;
	int		 registration_closed;	/* internal registration, after runtime's next */
	struct runtime	 rt;			/* (rtapi.c) */
	int		 frozen;		/* (proc.c) */
	struct agent	**retired;		/* owned: agents of environments reset */
	int		 nretired;
	struct strays	 strays;		/* (proc.c) */
};

/* Every init of the run (init.c). */
struct init_state {
	struct init_rec	*recs;			/* owned: every init so far */
	int		 n;
	enum init_stage	 stage;			/* of the running one */
	int		 runtime_due;		/* the runtime starts on the next loop turn */
};

/* The running invoke and the finished ones (invoke.c). */
struct invoke_state {
	struct invoke_cur cur;
	struct invoke_rec *recs;		/* owned: opt.invokes entries */
	int		 n;
	struct event	*rtdone_timer;		/* delayed platform.runtimeDone */
	int		 max_concurrent;	/* most invokes running at once (Managed Instances) */
};

/* The Shutdown phase (shutdown.c). */
struct shutdown_state {
	const char	*reason;		/* static or opt.shutdown_reason */
	double		 t_start, t_end, deadline;
	int64_t		 deadline_epoch_ms;
	int		 started;
	enum shut_stage	 stage;
};

/* The dispatcher (phase.c). */
struct phase_state {
	enum emu_phase	 phase;
	struct event	*timer;			/* one timer; its meaning follows the phase */
	int		 need_init;		/* a reset tore the sandbox down: re-init first */
	int		 resets;		/* Shutdown phases for a timeout or failure */
	int		 resetting;		/* the running Shutdown phase is a reset */
	int		 interrupted;		/* SIGINT/SIGTERM count */
	int		 exit_status;
	double		 done_at;
	int		 warm;			/* invokes since the sandbox's init */
	struct freeze_rec *freezes;		/* owned: every freeze, for the report */
	int		 nfreezes;
};

struct emu {
	struct emu_options opt;
	struct event_base *base;
	struct evhttp	*http;			/* (httpd.c) */
	int		 port;
	char		 api_addr[96];		/* AWS_LAMBDA_RUNTIME_API */
	struct telemetry *tel;			/* (telemetry.c) */

	struct fn_meta	 fn;
	struct sandbox	 sb;
	struct phase_state ph;
	struct init_state init;
	struct invoke_state inv;
	struct shutdown_state shut;
	struct lmi	*lmi;			/* Managed Instances' invokes (lmi.c); NULL otherwise */
};

#endif
