/* proc.h -- process supervision: environment, spawning in own process groups, reaping, freeze. */
#ifndef EMU_PROC_H
#define EMU_PROC_H

#include "emu.h"

/*
 * Resolves the function metadata (name, memory, region, handler, ARN) and
 * builds the environments of the extensions and the function. Needs
 * emu->api_addr. 0, or -1 after a message.
 */
int	proc_setup_env(struct emu *emu);
void	proc_free_env(struct emu *emu);
/* Starts argv[0] in its own process group. 0, or a positive errno. */
int	proc_spawn(struct child *c, char *const argv[], char *const envp[]);
/* Sends sig to c's process group; nothing if c is not running. */
void	proc_signal(struct child *c, int sig);
/* SIGKILL to c's process group; marks it killed (expected: Lambda does so too). */
void	proc_kill(struct child *c, int expected);
/* SIGSTOP (freeze 1) or SIGCONT (0) every running process group. */
void	proc_freeze(struct emu *emu, int freeze);
/* Reaps every exited child (SIGCHLD) and tells the dispatcher. */
void	proc_reap(struct emu *emu);
/* SIGKILL to every process group ever started (stragglers after their leader). */
void	proc_kill_groups(struct emu *emu);
/*
 * SIGKILL to every live child of the emulator. Those outside the supervised
 * process groups (orphans adopted as subreaper) are counted in emu->strays.
 * 0, or -1 with errno when /proc cannot be read.
 */
int	proc_kill_strays(struct emu *emu);
/*
 * Kills every child left, including those that left their process group:
 * Lambda tears the whole sandbox down. Orphans reach us (the subreaper) as
 * their parents die, so this runs on every tick until no child is left. When
 * /proc cannot be read, warns once and stops trying.
 */
void	proc_sweep(struct emu *emu);
/* 1 while any supervised leader is running. */
int	proc_any_running(const struct emu *emu);
/* 1 while the emulator has any child process at all (not reaped). */
int	proc_children_left(void);

#endif
