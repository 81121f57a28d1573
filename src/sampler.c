/* sampler.c -- CPU samples of this process: SIGPROF, a frame-pointer stack walk, a lock-free ring. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * The ring has several producers (the SIGPROF handler, in any thread) and
 * one consumer (the starting thread, outside the handler). A producer claims
 * a slot by moving `head` with a compare-and-swap while the ring has room,
 * fills it and publishes it by storing its sequence number; the consumer
 * takes slots in order, stopping at one not yet published, and frees it by
 * moving `tail`. Only lock-free atomics: nothing a handler does can wait for
 * the code it interrupted.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#include "sampler.h"

/*
 * A frame record or stack word may be stack memory never written (code
 * without frame pointers leaves anything in %rbp): it is only interpreted,
 * within the stack's bounds. Under valgrind, say so, or memcheck reports
 * every decision taken on it.
 */
#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#define READ_ON_PURPOSE(v)	VALGRIND_MAKE_MEM_DEFINED(&(v), sizeof(v))
#else
#define READ_ON_PURPOSE(v)	((void)0)
#endif

#if ATOMIC_LLONG_LOCK_FREE != 2 || ATOMIC_INT_LOCK_FREE != 2
#error "the sampler needs lock-free 64-bit atomics"
#endif

#if defined(__x86_64__)
#define UC_PC(uc)	((uintptr_t)(uc)->uc_mcontext.gregs[REG_RIP])
#define UC_FP(uc)	((uintptr_t)(uc)->uc_mcontext.gregs[REG_RBP])
#define UC_SP(uc)	((uintptr_t)(uc)->uc_mcontext.gregs[REG_RSP])
#define UC_LINK(uc, sp)	top_word(sp)
#elif defined(__aarch64__)
#define UC_PC(uc)	((uintptr_t)(uc)->uc_mcontext.pc)
#define UC_FP(uc)	((uintptr_t)(uc)->uc_mcontext.regs[29])
#define UC_SP(uc)	((uintptr_t)(uc)->uc_mcontext.sp)
#define UC_LINK(uc, sp)	((uintptr_t)(uc)->uc_mcontext.regs[30])
#endif

struct slot {
	_Atomic uint64_t	 seq;	/* n + 1 once sample n is in it */
	struct sample		 s;
};

static struct slot		*ring;		/* SAMPLER_RING slots, while started */
static _Atomic uint64_t		 head, tail, lost;
static _Atomic int		 enabled;	/* the handler records samples */
static _Atomic int		 in_handler;	/* handlers running now */
static uintptr_t		 stack_lo, stack_hi;	/* the starting thread's stack */

/*
 * Follow the frame records (saved frame pointer, return address) up from
 * `fp`: each must be aligned, inside [sp, stack_hi) and above the previous
 * one, so a frame of code built without frame pointers ends the walk rather
 * than leading anywhere unreadable.
 */
__attribute__((no_sanitize_address))
static uint32_t
walk(uintptr_t fp, uintptr_t sp, uintptr_t *out, uint32_t n)
{
	uintptr_t lo = sp;

	while (n < SAMPLER_DEPTH) {
		const uintptr_t *frame;
		uintptr_t next, ret;

		if (fp % sizeof(uintptr_t) != 0 || fp < lo || fp >= stack_hi ||
		    stack_hi - fp < 2 * sizeof(uintptr_t))
			break;
		frame = (const uintptr_t *)fp;
		next = frame[0];
		ret = frame[1];
		READ_ON_PURPOSE(next);
		READ_ON_PURPOSE(ret);
		if (ret == 0)
			break;
		out[n++] = ret;
		lo = fp + 2 * sizeof(uintptr_t);
		fp = next;
	}
	return n;
}

/* The word at the top of the starting thread's stack (a return address right after a call). */
__attribute__((no_sanitize_address, unused))
static uintptr_t
top_word(uintptr_t sp)
{
	uintptr_t word;

	if (sp % sizeof(uintptr_t) != 0 || sp < stack_lo || sp >= stack_hi || stack_hi - sp < sizeof(uintptr_t))
		return 0;
	word = *(const uintptr_t *)sp;
	READ_ON_PURPOSE(word);
	return word;
}

static void
on_sigprof(int sig, siginfo_t *si, void *arg)
{
#ifdef UC_PC
	const ucontext_t *uc = arg;
	int saved_errno = errno;
	uintptr_t sp = UC_SP(uc);
	uint64_t h;
	struct slot *sl;

	(void)sig;
	(void)si;
	atomic_fetch_add(&in_handler, 1);
	if (!atomic_load(&enabled))
		goto out;
	h = atomic_load(&head);
	do {
		if (h - atomic_load(&tail) >= SAMPLER_RING) {
			atomic_fetch_add(&lost, 1);
			goto out;
		}
	} while (!atomic_compare_exchange_weak(&head, &h, h + 1));
	sl = &ring[h % SAMPLER_RING];
	sl->s.pc[0] = UC_PC(uc);
	if (sp >= stack_lo && sp < stack_hi) {
		sl->s.flags = 0;
		sl->s.link = UC_LINK(uc, sp);
		sl->s.depth = walk(UC_FP(uc), sp, sl->s.pc, 1);
	} else {
		sl->s.flags = SAMPLE_OTHER_THREAD;
		sl->s.link = 0;
		sl->s.depth = 1;
	}
	atomic_store_explicit(&sl->seq, h + 1, memory_order_release);
out:
	atomic_fetch_sub(&in_handler, 1);
	errno = saved_errno;
#else
	(void)sig;
	(void)si;
	(void)arg;
#endif
}

/* The calling thread's stack: [lo, hi). */
static int
own_stack(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	int rc;

	if ((rc = pthread_getattr_np(pthread_self(), &attr)) != 0)
		return -rc;
	rc = pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
	return 0;
}

int
sampler_start(int hz)
{
	struct sigaction sa = { .sa_sigaction = on_sigprof, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerval it = { .it_interval = { .tv_usec = 1000000 / (hz > 0 ? hz : 1) } };
	int rc;

#ifndef UC_PC
	(void)sa;
	(void)it;
	(void)rc;
	return -ENOTSUP;
#else
	if (ring != NULL)
		return -EBUSY;
	if (hz <= 0 || hz > 1000)
		return -EINVAL;
	if ((rc = own_stack(&stack_lo, &stack_hi)) < 0)
		return rc;
	if ((ring = calloc(SAMPLER_RING, sizeof(*ring))) == NULL)
		return -ENOMEM;
	atomic_store(&head, 0);
	atomic_store(&tail, 0);
	atomic_store(&lost, 0);
	sigemptyset(&sa.sa_mask);
	atomic_store(&enabled, 1);
	it.it_value = it.it_interval;
	if (sigaction(SIGPROF, &sa, NULL) < 0 || setitimer(ITIMER_PROF, &it, NULL) < 0) {
		rc = -errno;
		sampler_stop();
		return rc;
	}
	return 0;
#endif
}

bool
sampler_take(struct sample *ret)
{
	uint64_t t;
	struct slot *sl;

	if (ring == NULL)
		return false;
	t = atomic_load(&tail);
	if (t == atomic_load(&head))
		return false;
	sl = &ring[t % SAMPLER_RING];
	if (atomic_load_explicit(&sl->seq, memory_order_acquire) != t + 1)
		return false;	/* claimed, not yet published */
	*ret = sl->s;
	if (ret->depth == 0 || ret->depth > SAMPLER_DEPTH)
		ret->depth = 1;
	atomic_store_explicit(&tail, t + 1, memory_order_release);
	return true;
}

uint64_t
sampler_lost(void)
{
	return atomic_load(&lost);
}

void
sampler_stop(void)
{
	struct itimerval off = { 0 };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct timespec pause = { .tv_nsec = 1000000 };

	if (ring == NULL)
		return;
	atomic_store(&enabled, 0);
	setitimer(ITIMER_PROF, &off, NULL);
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPROF, &ign, NULL);		/* one already on its way must not end the process */
	for (int i = 0; i < 1000 && atomic_load(&in_handler) > 0; i++)	/* another thread's, finishing */
		nanosleep(&pause, NULL);
	free(ring);
	ring = NULL;
}
