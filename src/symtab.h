/* symtab.h -- the function symbols of an ELF file (the relay's own, for the self-profiler). */
#ifndef RELAY_SYMTAB_H
#define RELAY_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

struct symtab;

/*
 * Read the function symbols (STT_FUNC with a size, or without one in an
 * executable section: such a symbol ends where the next one begins, as the
 * markers the static build keeps for each library's code) of the 64-bit ELF file at
 * `path` from its .symtab, or, when it has none, from the detached debug file
 * its build id names under /usr/lib/debug/.build-id (what Debian's -dbgsym
 * packages install). Only the section headers, the symbol table and its
 * string table are read. Names are cut at their first '.' (GCC's clone
 * suffixes: foo.part.0, foo.cold) and never contain ';', ' ' or controls.
 * Addresses are made run-time addresses when the file is this program
 * (its symbol table names symtab_load, whose address is known): so a PIE's
 * load address needs no /proc/self/maps. A file without function symbols
 * gives an empty table. Returns 0, -ENOENT/-EACCES (cannot open), -EINVAL
 * (not a 64-bit ELF file of this machine's byte order, or inconsistent),
 * -ENOMEM. Never reads outside the file, whatever its contents.
 */
int	symtab_load(const char *path, struct symtab **ret);
/* The function containing address `pc`, or NULL. */
const char *symtab_lookup(const struct symtab *st, uintptr_t pc);
/* The same, and the function's code: [*ret_lo, *ret_hi) (set only when found). */
const char *symtab_lookup_range(const struct symtab *st, uintptr_t pc, uintptr_t *ret_lo, uintptr_t *ret_hi);
/* How many functions the table holds. */
size_t	symtab_count(const struct symtab *st);
/* NULL-safe. */
void	symtab_free(struct symtab *st);

#endif
