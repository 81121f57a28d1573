/* frames.h -- the names of a sample's frames: the program's functions, the shared objects loaded. */
#ifndef RELAY_FRAMES_H
#define RELAY_FRAMES_H

#include <stddef.h>

#include "sampler.h"

#define FRAME_UNKNOWN		"[unknown]"
#define FRAME_OTHER_THREAD	"[other thread]"
#define FRAMES_MAX		(SAMPLER_DEPTH + 2)	/* names of one sample, at most */

struct frames;

/*
 * Names for this program's samples: the function symbols of `exe` (this
 * program's file, /proc/self/exe in production; see symtab_load) and the
 * executable segments of the objects loaded now (dl_iterate_phdr). When the
 * file cannot be read, functions go unnamed (FRAME_UNKNOWN) and *ret_symerr
 * tells why (a negative errno; 0 when read). NULL on OOM.
 */
struct frames *frames_new(const char *exe, int *ret_symerr);
/* How many function names the program's symbol table gave. */
size_t	frames_functions(const struct frames *fr);
/*
 * The names of sample `s`, root first, into out[0..max-1] (FRAMES_MAX
 * holds them all); returns how many. A leaf of the program without a frame
 * record of its own gets its caller from the sample's link. A function of
 * the program by its name; code of a shared object by the
 * name of the exported function that holds it (glibc), else as
 * "[object file name]"; code of the program outside its functions as
 * FRAME_UNKNOWN; consecutive equal bracketed names as one. A return address
 * in no loaded object (a frame of code built without frame pointers, read
 * as one) ends the stack there: what lies beyond it is not a stack. A sample
 * of another thread is FRAME_OTHER_THREAD;<leaf>. The names stay valid
 * until the next call.
 */
size_t	frames_names(struct frames *fr, const struct sample *s, const char **out, size_t max);
/* NULL-safe. */
void	frames_free(struct frames *fr);

#endif
