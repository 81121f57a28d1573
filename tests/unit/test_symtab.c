/* test_symtab.c -- the self-profiler's names: this program's symbol table, frame names, damaged ELF files, and live SIGPROF samples of known functions. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "folded.h"
#include "frames.h"
#include "sampler.h"
#include "symtab.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_symtab.XXXXXX";
static volatile unsigned long sink;

/* Functions whose names the tests look for: not inlined, not merged. */
__attribute__((noinline)) static void
spin_inner(void)
{
	for (int i = 0; i < 50000; i++)
		sink += (unsigned long)i * 7;
}

__attribute__((noinline)) static void
spin_outer(double seconds)
{
	clock_t end = clock() + (clock_t)(seconds * CLOCKS_PER_SEC);

	while (clock() < end)
		spin_inner();
	sink++;
}

int	test_symtab_visible(int x);
int	main(void);

__attribute__((noinline)) int
test_symtab_visible(int x)
{
	return x * 3 + (int)sink;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL)
		return NULL;
	do {
		if (n == cap && (buf = realloc(buf, cap = cap ? cap * 2 : 1 << 20)) == NULL)
			break;
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

static int
write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (fwrite(buf, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static void
test_own_table(void)
{
	struct symtab *st = NULL;
	int rc = symtab_load("/proc/self/exe", &st);

	is_int(rc, 0, "this program's symbol table loads");
	if (rc < 0)
		return;
	ok(symtab_count(st) > 50, "it has the program's functions");
	is_str(symtab_lookup(st, (uintptr_t)&test_symtab_visible), "test_symtab_visible", "a global function by its start address");
	is_str(symtab_lookup(st, (uintptr_t)&spin_inner + 1), "spin_inner", "a static function by an address inside it");
	is_str(symtab_lookup(st, (uintptr_t)&symtab_lookup), "symtab_lookup", "a function of the relay's library");
	is_str(symtab_lookup(st, (uintptr_t)&folded_add + 4), "folded_add", "another, inside it");
	ok(symtab_lookup(st, (uintptr_t)&sink) == NULL, "a data address names no function");
	ok(symtab_lookup(st, 0) == NULL && symtab_lookup(st, UINTPTR_MAX) == NULL, "0 and the top address name nothing");
	symtab_free(st);
}

static void
test_bad_files(void)
{
	struct symtab *st = NULL;
	char path[64], *exe, *copy;
	size_t len = 0;
	int rc, crashed_not = 1, loaded = 0, refused = 0;

	is_int(symtab_load("/nonexistent/file", &st), -ENOENT, "a missing file: -ENOENT");
	snprintf(path, sizeof(path), "%s/text", tmpdir);
	write_file(path, "#!/bin/sh\necho not an ELF file\n", 31);
	is_int(symtab_load(path, &st), -EINVAL, "not an ELF file: -EINVAL");
	exe = read_file("/proc/self/exe", &len);
	ok(exe != NULL && len > 4096, "read this program's file");
	if (exe == NULL)
		return;
	snprintf(path, sizeof(path), "%s/short", tmpdir);
	write_file(path, exe, 40);
	is_int(symtab_load(path, &st), -EINVAL, "an ELF header cut short: -EINVAL");
	write_file(path, exe, len / 2);
	rc = symtab_load(path, &st);
	ok(rc == -EINVAL || rc == 0, "a file cut in half: refused or loaded, never read past its end");
	if (rc == 0)
		symtab_free(st);
	/* Damage the section headers and the tables they point to, byte by byte. */
	copy = malloc(len);
	snprintf(path, sizeof(path), "%s/damaged", tmpdir);
	for (int i = 0; copy != NULL && i < 300; i++) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)exe;
		size_t at = (size_t)eh->e_shoff + (size_t)(i * 7919) % ((size_t)eh->e_shnum * sizeof(Elf64_Shdr));

		memcpy(copy, exe, len);
		if (at < len)
			copy[at] = (char)(copy[at] ^ (0x5a + i));
		if (i % 3 == 0 && at + 8 < len)
			memset(copy + at, 0xff, 8);
		write_file(path, copy, len);
		st = NULL;
		rc = symtab_load(path, &st);
		if (rc == 0) {
			loaded++;
			(void)symtab_lookup(st, (uintptr_t)&test_symtab_visible);
			symtab_free(st);
		} else if (rc == -EINVAL || rc == -ENOMEM) {
			refused++;
		} else {
			crashed_not = 0;
		}
	}
	ok(crashed_not && loaded + refused == 300, "300 damaged section tables: each loaded or refused with -EINVAL");
	printf("# damaged files: %d loaded, %d refused\n", loaded, refused);
	free(copy);
	free(exe);
	unlink(path);
	snprintf(path, sizeof(path), "%s/short", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/text", tmpdir);
	unlink(path);
}

/*
 * A small ELF file of our own: a .text at 0x1000 (4 KiB) with two sized
 * functions and two size-0 markers (as the static build keeps for the
 * libraries' code), which end at the next symbol or at the section's end.
 */
static void
test_markers(void)
{
	static const char strs[] = "\0f\0g\0[liba]\0[libb]\0data\0";
	struct {
		Elf64_Ehdr	eh;
		Elf64_Sym	sym[6];
		char		str[sizeof(strs)];
		Elf64_Shdr	sh[4];
	} img;
	struct symtab *st = NULL;
	char path[64];
	int rc;

	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = *(const unsigned char *)&(uint16_t){ 1 } ? ELFDATA2LSB : ELFDATA2MSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_ehsize = sizeof(Elf64_Ehdr);
	img.eh.e_shoff = offsetof(__typeof__(img), sh);
	img.eh.e_shentsize = sizeof(Elf64_Shdr);
	img.eh.e_shnum = 4;
	img.sym[1] = (Elf64_Sym){ .st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), .st_shndx = 1, .st_value = 0x1000, .st_size = 0x10 };
	img.sym[2] = (Elf64_Sym){ .st_name = 3, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_shndx = 1, .st_value = 0x1400, .st_size = 0x10 };
	img.sym[3] = (Elf64_Sym){ .st_name = 5, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_shndx = 1, .st_value = 0x1100 };
	img.sym[4] = (Elf64_Sym){ .st_name = 12, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_shndx = 1, .st_value = 0x1800 };
	img.sym[5] = (Elf64_Sym){ .st_name = 19, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT), .st_shndx = 1, .st_value = 0x1200, .st_size = 8 };
	memcpy(img.str, strs, sizeof(strs));
	img.sh[1] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = 0x1000, .sh_size = 0x1000 };
	img.sh[2] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = offsetof(__typeof__(img), sym), .sh_size = sizeof(img.sym),
	    .sh_link = 3, .sh_entsize = sizeof(Elf64_Sym) };
	img.sh[3] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = offsetof(__typeof__(img), str), .sh_size = sizeof(strs) };
	snprintf(path, sizeof(path), "%s/markers", tmpdir);
	write_file(path, (const char *)&img, sizeof(img));
	rc = symtab_load(path, &st);
	is_int(rc, 0, "a small ELF file with markers loads");
	if (rc == 0) {
		is_int(symtab_count(st), 4, "4 functions (a data symbol is no function)");
		is_str(symtab_lookup(st, 0x1005), "f", "a sized function");
		ok(symtab_lookup(st, 0x1050) == NULL, "after a sized function's end: nothing");
		is_str(symtab_lookup(st, 0x1100), "[liba]", "a marker, at its start");
		is_str(symtab_lookup(st, 0x13ff), "[liba]", "a marker, up to the next symbol");
		is_str(symtab_lookup(st, 0x140f), "g", "the next symbol");
		is_str(symtab_lookup(st, 0x1fff), "[libb]", "the last marker, up to its section's end");
		ok(symtab_lookup(st, 0x2000) == NULL, "past the section: nothing");
		symtab_free(st);
	}
	img.sh[1].sh_flags = SHF_ALLOC;		/* a marker outside executable code is no function */
	write_file(path, (const char *)&img, sizeof(img));
	if (symtab_load(path, &st) == 0) {
		is_int(symtab_count(st), 2, "without an executable section, the markers are not kept");
		symtab_free(st);
	} else {
		ok(0, "without an executable section, the markers are not kept");
	}
	img.sh[2].sh_size = 1 << 20;		/* a table past the end of the file */
	write_file(path, (const char *)&img, sizeof(img));
	is_int(symtab_load(path, &st), -EINVAL, "a symbol table past the end of the file: -EINVAL");
	unlink(path);
}

/* Join the names of a sample root first with ';'. */
static void
joined(struct frames *fr, const struct sample *s, char *buf, size_t size)
{
	const char *names[FRAMES_MAX];
	size_t n = frames_names(fr, s, names, FRAMES_MAX), w = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && w < size; i++)
		w += (size_t)snprintf(buf + w, size - w, "%s%s", i ? ";" : "", names[i]);
}

static void
test_frame_names(void)
{
	struct frames *fr;
	struct sample s = { .depth = 3 };
	char buf[512];
	int symerr = 1;

	fr = frames_new("/proc/self/exe", &symerr);
	ok(fr != NULL && symerr == 0, "frames: this program's symbols");
	if (fr == NULL)
		return;
	ok(frames_functions(fr) > 50, "frames: the program's functions are named");
	/* A leaf in spin_inner, called from spin_outer, called from main (return addresses are past the call). */
	s.pc[0] = (uintptr_t)&spin_inner + 2;
	s.pc[1] = (uintptr_t)&spin_outer + 5;
	s.pc[2] = (uintptr_t)&main + 5;
	joined(fr, &s, buf, sizeof(buf));
	is_str(buf, "main;spin_outer;spin_inner", "a sample's frames, root first");
	s.pc[1] = 0x10;
	joined(fr, &s, buf, sizeof(buf));
	is_str(buf, "spin_inner", "a return address in no loaded object ends the stack");
	s.pc[0] = 0x10;
	s.depth = 1;
	joined(fr, &s, buf, sizeof(buf));
	is_str(buf, FRAME_UNKNOWN, "a leaf in no loaded object is " FRAME_UNKNOWN);
	s.pc[0] = (uintptr_t)&test_symtab_visible + 1;
	s.pc[1] = (uintptr_t)&spin_outer + 5;
	s.depth = 2;
	s.flags = SAMPLE_OTHER_THREAD;
	joined(fr, &s, buf, sizeof(buf));
	is_str(buf, FRAME_OTHER_THREAD ";test_symtab_visible", "another thread's sample: its leaf under " FRAME_OTHER_THREAD);
	frames_free(fr);
}

/* Real SIGPROF samples of a known call chain, named and folded as the relay does. */
static void
test_live(void)
{
	struct folded *f = folded_new(1 << 20);
	struct evbuffer *out = evbuffer_new();
	struct frames *fr;
	const char *names[FRAMES_MAX];
	struct sample s;
	uint64_t taken = 0, inside = 0;
	char buf[2048];
	int symerr = 0, rc;

	fr = frames_new("/proc/self/exe", &symerr);
	rc = sampler_start(250);
	is_int(rc, 0, "the sampler starts at 250 Hz");
	if (rc < 0 || fr == NULL || f == NULL || out == NULL)
		return;
	is_int(sampler_start(100), -EBUSY, "one sampler per process");
	for (int round = 0; round < 8; round++) {	/* 0.4 s of CPU, well under the ring's 256 samples between takes */
		spin_outer(0.05);
		while (sampler_take(&s)) {
			size_t n = frames_names(fr, &s, names, FRAMES_MAX);

			joined(fr, &s, buf, sizeof(buf));
			taken++;
			if (strstr(buf, "main;") != NULL && strstr(buf, ";spin_outer;spin_inner") != NULL)
				inside++;
			if (n > 0)
				folded_add(f, names, n, 1);
		}
	}
	sampler_stop();
	ok(!sampler_take(&s), "no sample after the stop");
	printf("# %llu samples, %llu of them main;...;spin_outer;spin_inner, %llu lost\n", (unsigned long long)taken,
	    (unsigned long long)inside, (unsigned long long)sampler_lost());
	ok(taken >= 30, "about 100 samples of 0.4 s of CPU at 250 Hz (at least 30)");
	ok(inside * 10 >= taken * 7, "at least 70% of them are main;...;spin_outer;spin_inner (the rest: the clock() it calls)");
	folded_write(f, out);
	evbuffer_add(out, "", 1);
	ok(strstr((const char *)evbuffer_pullup(out, -1), ";spin_outer;spin_inner ") != NULL,
	    "the folded profile has a line main;...;spin_outer;spin_inner N");
	for (char *line = strtok((char *)evbuffer_pullup(out, -1), "\n"); line != NULL; line = strtok(NULL, "\n"))
		printf("#   %s\n", line);
	is_int(sampler_start(100), 0, "the sampler starts again after a stop");
	sampler_stop();
	evbuffer_free(out);
	folded_free(f);
	frames_free(fr);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_own_table();
	test_bad_files();
	test_markers();
	test_frame_names();
	test_live();
	rmdir(tmpdir);
	return done_testing();
}
