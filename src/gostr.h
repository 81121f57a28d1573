/* gostr.h -- Go's string encodings in logrus output: %q quoting and encoding/json strings. */
#ifndef RELAY_GOSTR_H
#define RELAY_GOSTR_H

#include <stdio.h>

/*
 * A logrus text-format value: bare when made only of [A-Za-z0-9-._/@^+]
 * (or empty), otherwise Go's %q (strconv.Quote: escapes, invalid UTF-8 as
 * \xNN, non-printable code points as \uNNNN).
 */
void	gostr_text_value(FILE *f, const char *s);
/* A JSON string as Go's encoding/json writes it with HTML escaping on. */
void	gostr_json_string(FILE *f, const char *s);

#endif
