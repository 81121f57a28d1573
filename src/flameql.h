/* flameql.h -- the `name` label-set grammars (the original extension's and current Pyroscope's) and label injection. */
#ifndef RELAY_FLAMEQL_H
#define RELAY_FLAMEQL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Both grammars are the same state machine over name + "{" (app{k=v,...},
 * trimmed, a key without '=' dropped, the last value of a key wins, no
 * escaping); they differ in the characters allowed:
 */
enum flameql_grammar {
	FLAMEQL_ORIGINAL = 0,	/* the original extension's flameql: keys [A-Za-z0-9_]+, apps [A-Za-z0-9_.-]+ */
	FLAMEQL_LABELSET	/* current Pyroscope's labelset: keys [A-Za-z0-9_.]+, apps [A-Za-z0-9_./-]+ */
};

struct flameql_label {
	const char	*key;
	const char	*value;
};

/*
 * Given a decoded `name` query value, add the labels of `add` (in that order)
 * whose keys the name does not have yet, and return the name the way the
 * original extension writes it (ParseKey, then Normalized(): app{k=v,...}
 * with keys sorted by byte order). Keys must be valid in `grammar` and not
 * __name__; values must pass flameql_value_valid().
 * Returns 1 and sets *ret_name (malloc'd) when at least one label was added;
 * 0 when the name is left as it is (it does not parse, or already has every
 * key: what the client set wins); -EINVAL on bad arguments; -ENOMEM.
 */
int	flameql_add_labels(const char *name, enum flameql_grammar grammar,
	    const struct flameql_label *add, size_t nadd, char **ret_name);

/*
 * Whether `value` can be a label value in both grammars without being changed
 * or cut: 1 to 2048 visible ASCII characters (0x21 to 0x7e) other than
 * '{', '}', ',' and '=' (there is no escaping; the SDKs refuse these too).
 */
bool	flameql_value_valid(const char *value);

/*
 * flameql_add_labels() of __session_id__=<session_id> in the original
 * extension's grammar: 1 and *ret_name when added; 0 when the name is left as
 * it is (it does not parse, or already has __session_id__); -EINVAL (no id),
 * -ENOMEM.
 */
int	flameql_inject_session(const char *name, const char *session_id, char **ret_name);

#endif
