/* folded.h -- stacks counted by their frames, written as Pyroscope's folded text ("a;b;c 3"). */
#ifndef RELAY_FOLDED_H
#define RELAY_FOLDED_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct folded;

/* The stack all samples are counted under once the distinct stacks fill the byte budget. */
#define FOLDED_OVERFLOW	"[truncated]"

/*
 * An empty profile whose distinct stacks may take `max_bytes` of text at
 * most (what folded_write() would write for them). NULL on OOM.
 */
struct folded *folded_new(size_t max_bytes);
/*
 * Count `count` samples of the stack frames[0..n-1], root first (n > 0).
 * Samples of a stack already seen add to its count; a new stack that does
 * not fit the byte budget is counted under FOLDED_OVERFLOW. In a name, ';',
 * spaces and control characters become '_' (they would break the format);
 * an empty name is "_". 0, -EINVAL (n is 0), -ENOMEM (nothing counted).
 */
int	folded_add(struct folded *f, const char *const *frames, size_t n, uint64_t count);
/* Samples counted, and distinct stacks, since the last reset. */
uint64_t folded_samples(const struct folded *f);
size_t	folded_stacks(const struct folded *f);
/* Append one line per stack, in the order first seen: "root;...;leaf count\n". 0 or -ENOMEM. */
int	folded_write(const struct folded *f, struct evbuffer *out);
/* Forget every stack (the memory is kept for the next window). */
void	folded_reset(struct folded *f);
/* NULL-safe. */
void	folded_free(struct folded *f);

#endif
