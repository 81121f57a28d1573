/* symtab.c -- the function symbols of an ELF file (the relay's own, for the self-profiler). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symtab.h"

#define MAX_SECTIONS	65535
#define MAX_TABLE_BYTES	(256u << 20)	/* a symbol or string table larger than this is refused */
#define DEBUG_DIR	"/usr/lib/debug/.build-id/"
#define ANCHOR		"symtab_load"

struct sym {
	uintptr_t	 lo;
	uintptr_t	 hi;		/* one past the end */
	const char	*name;		/* in names */
	bool		 open;		/* no size: it ends at the next symbol (or its section's end) */
};

struct symtab {
	struct sym	*syms;		/* sorted by lo */
	size_t		 nsyms;
	char		*names;		/* owned: every name, NUL-terminated */
	uintptr_t	 anchor;	/* the file's address of symtab_load (not a clone of it), or 0 */
};

struct elf_file {
	int		 fd;
	uint64_t	 size;
	Elf64_Shdr	*sh;		/* owned: the section headers */
	size_t		 nsh;
};

/* Read `len` bytes at `off` into a new buffer (one more byte, NUL); NULL if out of the file or OOM. */
static void *
read_at(const struct elf_file *f, uint64_t off, uint64_t len, int *err)
{
	char *buf;
	size_t done = 0;

	if (off > f->size || len > f->size - off || len > MAX_TABLE_BYTES) {
		*err = -EINVAL;
		return NULL;
	}
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	while (done < len) {
		ssize_t n = pread(f->fd, buf + done, (size_t)len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			*err = n < 0 ? -errno : -EINVAL;
			return NULL;
		}
		done += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static bool
native_elf64(const Elf64_Ehdr *eh)
{
	const uint16_t one = 1;
	unsigned char data = *(const unsigned char *)&one == 1 ? ELFDATA2LSB : ELFDATA2MSB;

	return memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	    eh->e_ident[EI_DATA] == data;
}

static int
elf_open(const char *path, struct elf_file *f)
{
	Elf64_Ehdr *eh;
	struct stat sb;
	int err = 0;

	memset(f, 0, sizeof(*f));
	if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(f->fd, &sb) < 0 || sb.st_size < 0)
		return -EINVAL;
	f->size = (uint64_t)sb.st_size;
	if ((eh = read_at(f, 0, sizeof(*eh), &err)) == NULL)
		return err;
	if (!native_elf64(eh) || (eh->e_shnum > 0 && eh->e_shentsize != sizeof(Elf64_Shdr))) {
		free(eh);
		return -EINVAL;
	}
	f->nsh = eh->e_shnum;	/* 0: no sections (extended numbering is not used by executables) */
	if (f->nsh > 0)
		f->sh = read_at(f, eh->e_shoff, (uint64_t)f->nsh * sizeof(Elf64_Shdr), &err);
	free(eh);
	return f->nsh > 0 && f->sh == NULL ? err : 0;
}

static void
elf_close(struct elf_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->sh);
}

/* Copy a name up to its first '.' (kept when first), anything unfit for a folded frame as '_'. */
static size_t
copy_name(char *dst, const char *src)
{
	size_t n = 0;

	for (; src[n] != '\0' && !(src[n] == '.' && n > 0); n++) {
		unsigned char c = (unsigned char)src[n];

		dst[n] = (c <= 0x20 || c == ';' || c == 0x7f) ? '_' : (char)c;
	}
	dst[n] = '\0';
	return n + 1;
}

/* By address; at one address a sized symbol first (the one kept), then by name. */
static int
by_address(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->open != y->open)
		return x->open ? 1 : -1;
	return strcmp(x->name, y->name);
}

/*
 * A function symbol worth keeping: defined, with a name, and either sized or
 * in an executable section (then it ends where the next symbol begins: the
 * static build's markers of each library's code are such symbols).
 */
static bool
usable(const struct elf_file *f, const Elf64_Sym *s, uint64_t strsize)
{
	const Elf64_Shdr *sec;

	if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF || s->st_name >= strsize ||
	    s->st_value > UINTPTR_MAX - s->st_size)
		return false;
	if (s->st_size > 0)
		return true;
	if (s->st_shndx >= f->nsh)
		return false;
	sec = &f->sh[s->st_shndx];
	return (sec->sh_flags & SHF_EXECINSTR) && s->st_value >= sec->sh_addr &&
	    s->st_value - sec->sh_addr < sec->sh_size;
}

/* Keep the defined functions of one SHT_SYMTAB section; *ret_count 0 when it has none. */
static int
take_symbols(struct symtab *st, const struct elf_file *f, const Elf64_Shdr *sh)
{
	const Elf64_Shdr *strsh;
	Elf64_Sym *syms = NULL;
	char *strs = NULL, *w;
	size_t n, names_len = 0;
	int err = 0;

	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= f->nsh)
		return -EINVAL;
	strsh = &f->sh[sh->sh_link];
	if (strsh->sh_type != SHT_STRTAB)
		return -EINVAL;
	n = (size_t)(sh->sh_size / sizeof(Elf64_Sym));
	if ((syms = read_at(f, sh->sh_offset, (uint64_t)n * sizeof(Elf64_Sym), &err)) == NULL ||
	    (strs = read_at(f, strsh->sh_offset, strsh->sh_size, &err)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)	/* the names are bounded by the table (read_at adds a NUL) */
		if (usable(f, &syms[i], strsh->sh_size))
			names_len += strlen(strs + syms[i].st_name) + 1;
	st->syms = calloc(n > 0 ? n : 1, sizeof(*st->syms));
	st->names = malloc(names_len + 1);
	if (st->syms == NULL || st->names == NULL) {
		err = -ENOMEM;
		goto out;
	}
	w = st->names;
	for (size_t i = 0; i < n; i++) {
		const Elf64_Sym *s = &syms[i];
		const Elf64_Shdr *sec;

		if (!usable(f, s, strsh->sh_size))
			continue;
		sec = s->st_size == 0 ? &f->sh[s->st_shndx] : NULL;
		if (strcmp(strs + s->st_name, ANCHOR) == 0)
			st->anchor = (uintptr_t)s->st_value;
		st->syms[st->nsyms++] = (struct sym){
			.lo = (uintptr_t)s->st_value,
			.hi = sec != NULL ? (uintptr_t)(sec->sh_addr + sec->sh_size) : (uintptr_t)(s->st_value + s->st_size),
			.name = w,
			.open = sec != NULL,
		};
		w += copy_name(w, strs + s->st_name);
	}
out:
	free(syms);
	free(strs);
	return err;
}

/* The GNU build id of the file, as lowercase hex into hex (at least 129 bytes); false if none. */
static bool
build_id(const struct elf_file *f, char *hex, size_t hexsize)
{
	for (size_t i = 0; i < f->nsh; i++) {
		const Elf64_Shdr *sh = &f->sh[i];
		unsigned char *p;
		uint64_t off = 0;
		int err = 0;

		if (sh->sh_type != SHT_NOTE || sh->sh_size > 4096 ||
		    (p = read_at(f, sh->sh_offset, sh->sh_size, &err)) == NULL)
			continue;
		while (off + sizeof(Elf64_Nhdr) <= sh->sh_size) {
			Elf64_Nhdr nh;
			uint64_t name_off = off + sizeof(nh), desc_off, next;

			memcpy(&nh, p + off, sizeof(nh));
			desc_off = name_off + (((uint64_t)nh.n_namesz + 3) & ~(uint64_t)3);
			next = desc_off + (((uint64_t)nh.n_descsz + 3) & ~(uint64_t)3);
			if (next > sh->sh_size)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(p + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz >= 2 && (uint64_t)nh.n_descsz * 2 < hexsize) {
				for (size_t k = 0; k < nh.n_descsz; k++)
					snprintf(hex + 2 * k, 3, "%02x", p[desc_off + k]);
				free(p);
				return true;
			}
			off = next;
		}
		free(p);
	}
	return false;
}

static int
load_file(const char *path, struct symtab *st, bool follow_build_id)
{
	struct elf_file f;
	char id[129], debug[sizeof(DEBUG_DIR) + sizeof(id) + 8];
	int err;

	if ((err = elf_open(path, &f)) == 0) {
		for (size_t i = 0; i < f.nsh; i++)
			if (f.sh[i].sh_type == SHT_SYMTAB) {
				err = take_symbols(st, &f, &f.sh[i]);
				break;
			}
		if (err == 0 && st->syms == NULL && follow_build_id && build_id(&f, id, sizeof(id))) {
			snprintf(debug, sizeof(debug), "%s%.2s/%s.debug", DEBUG_DIR, id, id + 2);
			if (load_file(debug, st, false) < 0) {
				free(st->syms);
				free(st->names);
				st->syms = NULL;
				st->names = NULL;
				st->nsyms = 0;
				st->anchor = 0;
			}
		}
	}
	elf_close(&f);
	return err;
}

/* Make the addresses run-time ones when the table is this program's. */
static void
relocate(struct symtab *st)
{
	uintptr_t bias = st->anchor != 0 ? (uintptr_t)&symtab_load - st->anchor : 0;

	for (size_t i = 0; i < st->nsyms; i++) {
		st->syms[i].lo += bias;
		st->syms[i].hi += bias;
	}
}

int
symtab_load(const char *path, struct symtab **ret)
{
	struct symtab *st = calloc(1, sizeof(*st));
	size_t kept = 0;
	int err;

	if (st == NULL)
		return -ENOMEM;
	if ((err = load_file(path, st, true)) < 0) {
		symtab_free(st);
		return err;
	}
	relocate(st);
	if (st->nsyms > 0)
		qsort(st->syms, st->nsyms, sizeof(*st->syms), by_address);
	for (size_t i = 0; i < st->nsyms; i++)	/* aliases: one name per address */
		if (kept == 0 || st->syms[i].lo != st->syms[kept - 1].lo)
			st->syms[kept++] = st->syms[i];
	st->nsyms = kept;
	for (size_t i = 0; i + 1 < st->nsyms; i++)
		if (st->syms[i].open && st->syms[i + 1].lo < st->syms[i].hi)
			st->syms[i].hi = st->syms[i + 1].lo;
	*ret = st;
	return 0;
}

const char *
symtab_lookup(const struct symtab *st, uintptr_t pc)
{
	uintptr_t lo, hi;

	return symtab_lookup_range(st, pc, &lo, &hi);
}

const char *
symtab_lookup_range(const struct symtab *st, uintptr_t pc, uintptr_t *ret_lo, uintptr_t *ret_hi)
{
	size_t lo = 0, hi;

	if (st == NULL || st->nsyms == 0)
		return NULL;
	hi = st->nsyms;
	while (hi - lo > 1) {	/* the last symbol starting at or before pc */
		size_t mid = lo + (hi - lo) / 2;

		if (st->syms[mid].lo <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if (pc < st->syms[lo].lo || pc >= st->syms[lo].hi)
		return NULL;
	*ret_lo = st->syms[lo].lo;
	*ret_hi = st->syms[lo].hi;
	return st->syms[lo].name;
}

size_t
symtab_count(const struct symtab *st)
{
	return st != NULL ? st->nsyms : 0;
}

void
symtab_free(struct symtab *st)
{
	if (st == NULL)
		return;
	free(st->syms);
	free(st->names);
	free(st);
}
