/* report.h -- platform lines on stdout, the final summary, the JSON report, the exit status. */
#ifndef EMU_REPORT_H
#define EMU_REPORT_H

#include "emu.h"

/* One platform-like line on stdout (unless --quiet), flushed. */
void	rep_line(const struct emu *emu, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Peak RSS (VmHWM) of the running process-group leaders, in MB (at least 1). */
int	rep_max_memory_mb(const struct emu *emu);
/* 1 when an extension's record is not what Lambda accepts as a clean run. */
int	rep_agent_failed(const struct agent *a);
/* 0 when Lambda would accept the whole run, else 1. */
int	rep_exit_status(const struct emu *emu);
/* The summary on stdout (unless --quiet). */
void	rep_summary(const struct emu *emu);
/* Writes --report FILE (if set). 0, or -1 after a message. */
int	rep_write_json(const struct emu *emu);

#endif
