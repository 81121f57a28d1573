/* options.h -- the emulator's command line, parsed and validated once. */
#ifndef EMU_OPTIONS_H
#define EMU_OPTIONS_H

enum freeze_mode { FREEZE_SIGSTOP, FREEZE_NONE };
enum telemetry_mode { TELEMETRY_ON, TELEMETRY_OFF, TELEMETRY_STUB202 };

#define RTDONE_NEVER (-1L)

struct emu_options {
	const char	*extensions_dir;	/* borrowed from argv; NULL: no extensions */
	const char	*function_cmd;		/* borrowed from argv; run by /bin/sh -c */
	char		 listen_host[64];	/* numeric address, no brackets */
	long		 listen_port;		/* 0 picks a free port */
	const char	*port_file;		/* borrowed; NULL: none */
	long		 invokes;
	long		 gap_ms;		/* the gap, or the low end of --gap-ms LO-HI */
	long		 gap_max_ms;		/* the high end (= gap_ms for a fixed gap) */
	long		 timeout_ms;
	long		 init_timeout_ms;
	long		 shutdown_ms;
	const char	*shutdown_reason;	/* borrowed */
	enum freeze_mode freeze;
	enum telemetry_mode telemetry;
	long		 runtime_done_delay_ms;	/* RTDONE_NEVER: never delivered */
	long		 fail_next_after;	/* -1: never; else event/next calls answered before a 500 */
	const char	*payload;		/* borrowed; valid JSON */
	const char	*report_file;		/* borrowed; NULL: none */
	int		 quiet;
	int		 managed;		/* --managed-instances */
	long		 concurrency;		/* invokes at once (Managed Instances) */
};

/*
 * Parses argv into *opt. Returns 0 to run, 1 when --help or --version was
 * printed (exit 0), -1 after printing a one-line error to stderr (exit 2).
 */
int	options_parse(int argc, char **argv, struct emu_options *opt);

#endif
