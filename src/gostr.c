/* gostr.c -- Go's string encodings in logrus output: %q quoting and encoding/json strings. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gostr.h"

/* ---- UTF-8 and Go's notion of printable ---------------------------------- */

/* Go's utf8.DecodeRune: a code point and its width, or -1 and width 1 for a bad byte. */
static long
utf8_decode(const unsigned char *s, int *width)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	long		 cp;
	int		 n, i;

	*width = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;	/* no overlong forms */
		hi = s[0] == 0xed ? 0x9f : 0xbf;	/* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;	/* nothing above U+10FFFF */
	} else
		return -1;
	for (i = 1; i < n; i++) {
		if (s[i] < lo || s[i] > hi)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*width = n;
	return cp;
}

/*
 * Non-ASCII code points that Go's strconv.IsPrint rejects (Unicode 15.0, as in
 * Go 1.22): controls, format characters, spaces other than U+0020, separators,
 * surrogates, private use, noncharacters, and the unassigned runs of 512 code
 * points or more. Smaller unassigned gaps are not listed (they print as is).
 */
static const struct { long lo, hi; } nonprint[] = {
	{ 0x0080, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x0600, 0x0605 }, { 0x061c, 0x061c },
	{ 0x06dd, 0x06dd }, { 0x070f, 0x070f }, { 0x0890, 0x0891 }, { 0x08e2, 0x08e2 },
	{ 0x1680, 0x1680 }, { 0x180e, 0x180e }, { 0x2000, 0x200f }, { 0x2028, 0x202f },
	{ 0x205f, 0x2064 }, { 0x2066, 0x206f }, { 0x3000, 0x3000 }, { 0xd800, 0xf8ff },
	{ 0xfdd0, 0xfdef }, { 0xfeff, 0xfeff }, { 0xfff0, 0xfffb }, { 0xfffe, 0xffff },
	{ 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x12544, 0x12f8f }, { 0x13430, 0x1343f },
	{ 0x13456, 0x143ff }, { 0x14647, 0x167ff }, { 0x16b90, 0x16e3f }, { 0x18d09, 0x1afef },
	{ 0x1b2fc, 0x1bbff }, { 0x1bca0, 0x1ceff }, { 0x1d173, 0x1d17a }, { 0x1dab0, 0x1deff },
	{ 0x1e4fa, 0x1e7df }, { 0x1e960, 0x1ec70 }, { 0x1fbfa, 0x1ffff }, { 0x2ebe1, 0x2f7ff },
	{ 0x2fa1e, 0x2ffff }, { 0x323b0, 0xe00ff }, { 0xe01f0, 0x10ffff },
};

static bool
go_isprint(long cp)
{
	size_t	 lo = 0, hi = sizeof(nonprint) / sizeof(nonprint[0]), mid;

	if (cp < 0x80)
		return cp >= 0x20 && cp < 0x7f;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp > nonprint[mid].hi)
			lo = mid + 1;
		else if (cp < nonprint[mid].lo)
			hi = mid;
		else
			return false;
	}
	return true;
}

/* ---- value encoders ------------------------------------------------------ */

/* logrus' needsQuoting: anything outside [A-Za-z0-9-._/@^+] (an empty value is not quoted). */
static bool
needs_quoting(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._/@^+", *s) != NULL))
			return true;
	}
	return false;
}

/* The letter of a one-letter escape (\n, \t, ...), or 0; JSON has no \a or \v. */
static char
letter_escape(long cp, bool json)
{
	switch (cp) {
	case '\a':	return json ? 0 : 'a';
	case '\b':	return 'b';
	case '\f':	return 'f';
	case '\n':	return 'n';
	case '\r':	return 'r';
	case '\t':	return 't';
	case '\v':	return json ? 0 : 'v';
	default:	return 0;
	}
}

void
gostr_text_value(FILE *f, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	long			 cp;
	int			 width;
	char			 letter;

	if (!needs_quoting(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *u != '\0'; u += width) {
		cp = utf8_decode(u, &width);
		letter = letter_escape(cp, false);
		if (cp < 0)
			fprintf(f, "\\x%02x", *u);
		else if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (go_isprint(cp))
			fwrite(u, 1, (size_t)width, f);
		else if (letter != 0)
			fprintf(f, "\\%c", letter);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\x%02lx", cp);
		else if (cp < 0x10000)
			fprintf(f, "\\u%04lx", cp);
		else
			fprintf(f, "\\U%08lx", cp);
	}
	fputc('"', f);
}

void
gostr_json_string(FILE *f, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	long			 cp;
	int			 width;
	char			 letter;

	fputc('"', f);
	for (; *u != '\0'; u += width) {
		cp = utf8_decode(u, &width);
		letter = letter_escape(cp, true);
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (letter != 0)
			fprintf(f, "\\%c", letter);
		else if (cp < 0)
			fputs("\\ufffd", f);
		else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' ||
		    cp == 0x2028 || cp == 0x2029)
			fprintf(f, "\\u%04lx", cp);
		else
			fwrite(u, 1, (size_t)width, f);
	}
	fputc('"', f);
}
