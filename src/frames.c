/* frames.c -- the names of a sample's frames: the program's functions, the shared objects loaded. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "request.h"
#include "symtab.h"

#define MAX_OBJECTS	64
#define CACHE_SLOTS	1024	/* names of shared objects' code addresses, remembered */
#define REFRESH_NS	(1000LL * 1000 * 1000)	/* look for newly loaded objects at most this often */

/* One executable segment of a loaded object. */
struct object {
	uintptr_t	 lo;
	uintptr_t	 hi;
	bool		 program;	/* this program's own file */
	char		 name[64];	/* "[libfoo.so.1]" */
};

/* A code address of a shared object and its function's name (NULL: none exported there). */
struct cached {
	uintptr_t	 pc;
	const char	*name;		/* in the object's dynamic string table */
};

struct frames {
	struct symtab	*syms;		/* owned: this program's functions */
	struct object	 obj[MAX_OBJECTS];
	size_t		 nobj;
	int64_t		 refreshed_ns;
	struct cached	 cache[CACHE_SLOTS];
};

static int
add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct frames *fr = arg;
	const char *path = info->dlpi_name != NULL ? info->dlpi_name : "";
	const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	uintptr_t self = (uintptr_t)&frames_new;
	size_t first = fr->nobj;
	bool program = false;

	(void)size;
	for (size_t i = 0; i < info->dlpi_phnum && fr->nobj < MAX_OBJECTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		struct object *o;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		o = &fr->obj[fr->nobj++];
		o->lo = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
		o->hi = o->lo + (uintptr_t)ph->p_memsz;
		snprintf(o->name, sizeof(o->name), "[%s]", *base != '\0' ? base : "unknown");
		if (o->lo <= self && self < o->hi)
			program = true;
	}
	for (size_t i = first; i < fr->nobj; i++)
		fr->obj[i].program = program;
	return 0;
}

static void
refresh(struct frames *fr)
{
	fr->nobj = 0;
	fr->refreshed_ns = relay_now_ns();
	memset(fr->cache, 0, sizeof(fr->cache));
	dl_iterate_phdr(add_object, fr);
}

static const struct object *
find_object(const struct frames *fr, uintptr_t pc)
{
	for (size_t i = 0; i < fr->nobj; i++)
		if (fr->obj[i].lo <= pc && pc < fr->obj[i].hi)
			return &fr->obj[i];
	return NULL;
}

struct frames *
frames_new(const char *exe, int *ret_symerr)
{
	struct frames *fr = calloc(1, sizeof(*fr));

	if (fr == NULL)
		return NULL;
	*ret_symerr = symtab_load(exe, &fr->syms);
	if (*ret_symerr == -ENOMEM) {
		free(fr);
		return NULL;
	}
	refresh(fr);
	return fr;
}

size_t
frames_functions(const struct frames *fr)
{
	return symtab_count(fr->syms);
}

/*
 * The exported function of a shared object that holds `pc`, by its dynamic
 * symbol table (dladdr1 gives the symbol's size: an address past the end of
 * the nearest exported function belongs to an internal one, not named).
 */
static const char *
exported_name(struct frames *fr, uintptr_t pc)
{
#ifdef __GLIBC__
	struct cached *c = &fr->cache[(pc >> 2) % CACHE_SLOTS];
	const ElfW(Sym) *sym = NULL;
	Dl_info di;

	if (c->pc == pc)
		return c->name;
	c->pc = pc;
	c->name = NULL;
	if (dladdr1((void *)pc, &di, (void **)&sym, RTLD_DL_SYMENT) != 0 && sym != NULL && di.dli_sname != NULL &&
	    di.dli_saddr != NULL && pc - (uintptr_t)di.dli_saddr < sym->st_size)
		c->name = di.dli_sname;
	return c->name;
#else
	(void)fr;
	(void)pc;
	return NULL;
#endif
}

/* The name of one code address; NULL when it is in no loaded object. */
static const char *
name_of(struct frames *fr, uintptr_t pc, bool leaf)
{
	const struct object *o = find_object(fr, pc);
	const char *fn;

	if (o == NULL && leaf && relay_now_ns() - fr->refreshed_ns > REFRESH_NS) {
		refresh(fr);
		o = find_object(fr, pc);
	}
	if (o == NULL)
		return leaf ? FRAME_UNKNOWN : NULL;
	if (o->program)
		return (fn = symtab_lookup(fr->syms, pc)) != NULL ? fn : FRAME_UNKNOWN;
	return (fn = exported_name(fr, pc)) != NULL ? fn : o->name;
}

/*
 * Whether the function whose code is [lo, hi) has no frame record of its own
 * at `pc`: its frame pointer is then still its caller's, whose return
 * address the walk found first, so its own caller is missing from the chain.
 * That is so at its first instruction, at a return, and everywhere in a
 * function that sets up no frame (GCC leaves out the frame of a leaf that
 * needs no stack, -fno-omit-frame-pointer or not). Our own code only: it is
 * read, and it is mapped.
 */
__attribute__((no_sanitize_address))
static bool
frameless_at(uintptr_t lo, uintptr_t hi, uintptr_t pc)
{
#if defined(__x86_64__)
	const unsigned char *p = (const unsigned char *)lo;

	if (hi - lo >= 5 && memcmp(p, "\xf3\x0f\x1e\xfa", 4) == 0)	/* endbr64 */
		p += 4;
	if (pc <= (uintptr_t)p || *p != 0x55)	/* at the entry, or no push %rbp */
		return true;
	return *(const unsigned char *)pc == 0xc3;	/* ret */
#elif defined(__aarch64__)
	const uint32_t *p = (const uint32_t *)lo;

	while ((uintptr_t)(p + 1) < hi && (*p & 0xfffff01fu) == 0xd503201fu)	/* hints: bti, paciasp */
		p++;
	if (pc <= (uintptr_t)p)
		return true;
	if ((*p & 0xffc07fffu) != 0xa9807bfdu &&	/* stp x29, x30, [sp, #-n]! */
	    (*p & 0xff8003ffu) != 0xd10003ffu)		/* sub sp, sp, #n */
		return true;
	return *(const uint32_t *)pc == 0xd65f03c0u;	/* ret */
#else
	(void)lo;
	(void)hi;
	(void)pc;
	return false;
#endif
}

/* The leaf's caller when the leaf has no frame record, from the sample's link; 0 otherwise. */
static uintptr_t
leaf_caller(const struct frames *fr, const struct sample *s)
{
	uintptr_t lo, hi;
	const struct object *o;

	if (s->link == 0 || (s->flags & SAMPLE_OTHER_THREAD) || (o = find_object(fr, s->pc[0])) == NULL ||
	    !o->program || symtab_lookup_range(fr->syms, s->pc[0], &lo, &hi) == NULL ||
	    !frameless_at(lo, hi, s->pc[0]))
		return 0;
	return s->link;
}

size_t
frames_names(struct frames *fr, const struct sample *s, const char **out, size_t max)
{
	const char *leaf_first[FRAMES_MAX];
	uintptr_t caller = leaf_caller(fr, s);
	size_t n = 0, w = 0;

	for (uint32_t i = 0; i < s->depth && i < SAMPLER_DEPTH; i++) {
		/* A return address is just past its call: the call is what the frame is doing. */
		const char *name = name_of(fr, i == 0 ? s->pc[i] : s->pc[i] - 1, i == 0);

		if (name == NULL)
			break;
		if (n > 0 && name[0] == '[' && strcmp(name, leaf_first[n - 1]) == 0)
			continue;
		leaf_first[n++] = name;
		if (s->flags & SAMPLE_OTHER_THREAD)
			break;
		if (i == 0 && caller != 0 && (name = name_of(fr, caller - 1, false)) != NULL)
			leaf_first[n++] = name;
	}
	if (s->flags & SAMPLE_OTHER_THREAD)
		leaf_first[n++] = FRAME_OTHER_THREAD;
	while (n > 0 && w < max)
		out[w++] = leaf_first[--n];
	return w;
}

void
frames_free(struct frames *fr)
{
	if (fr == NULL)
		return;
	symtab_free(fr->syms);
	free(fr);
}
