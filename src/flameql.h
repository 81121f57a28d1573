/* flameql.h -- the original extension's app-name grammar and session-id injection. */
#ifndef RELAY_FLAMEQL_H
#define RELAY_FLAMEQL_H

/*
 * Given a decoded `name` query value, add the label __session_id__=<session_id>
 * the way the original extension does (pyroscope flameql ParseKey, then
 * Normalized(): app{k=v,...} with keys sorted by byte order).
 * Returns 1 and sets *ret_name (malloc'd) when the label was added; 0 when the
 * name is left as it is (it does not parse, or already has __session_id__);
 * -ENOMEM on allocation failure.
 */
int	flameql_inject_session(const char *name, const char *session_id, char **ret_name);

#endif
