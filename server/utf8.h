#ifndef MAITRED_UTF8_H
#define MAITRED_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Returns the length (1 to 4) of the well-formed UTF-8 sequence at p, of
 * at most left bytes, or 0 when p does not start one (a stray
 * continuation byte, an overlong form, a surrogate, past U+10FFFF). */
size_t utf8_sequence(const unsigned char *p, size_t left);

/* Returns true when len bytes of text are well-formed UTF-8 with no NUL. */
bool utf8_valid(const char *text, size_t len);

#endif
