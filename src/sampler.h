/* sampler.h -- CPU samples of this process: SIGPROF, a frame-pointer stack walk, a lock-free ring. */
#ifndef RELAY_SAMPLER_H
#define RELAY_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#define SAMPLER_DEPTH		64	/* frames kept per sample, the leaf first */
#define SAMPLER_RING		256	/* samples waiting to be taken, at most */
#define SAMPLE_OTHER_THREAD	0x1u	/* taken in a thread other than the one that started the sampler */

/*
 * One sample. pc[0] is the interrupted instruction; pc[1..depth-1] are
 * return addresses (the call site is the address less one), found from the
 * frame pointer. `link` is where the interrupted function returns to if it
 * has no frame record (a leaf that needs no stack, or one in its prologue
 * or at its return): the word at the stack pointer on x86-64, the link
 * register on arm64; 0 when unknown. A sample of another thread holds pc[0]
 * only: only the starting thread's stack bounds are known, so only its
 * stack is walked.
 */
struct sample {
	uint32_t	 depth;
	uint32_t	 flags;
	uintptr_t	 link;
	uintptr_t	 pc[SAMPLER_DEPTH];
};

/*
 * Sample the process's CPU time `hz` times a second (ITIMER_PROF). The
 * calling thread is the one whose stack is walked (the event loop); the
 * SIGPROF handler runs in whichever thread was on the CPU, takes no lock,
 * allocates nothing and never reads outside that thread's stack. Frames are
 * found by frame pointers: code built without them is skipped over or ends
 * the walk. One sampler per process. 0, -EBUSY, -ENOTSUP (no stack walk for
 * this machine), -ENOMEM, or the failing call's -errno.
 */
int	sampler_start(int hz);
/* Move the oldest sample into *ret; false when none is ready. The starting thread only. */
bool	sampler_take(struct sample *ret);
/* Samples lost since the start because the ring was full. */
uint64_t sampler_lost(void);
/* Stop the timer, ignore SIGPROF from now on and free the ring; no-op when not started. */
void	sampler_stop(void);

#endif
