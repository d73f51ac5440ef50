/*
** Allocation that cannot fail: on out-of-memory the process ends through
** fatalx() (STYLE habit 5).  xfree(NULL) is a no-op like free().
*/
#ifndef HASVC_LIB_XMALLOC_H
#define HASVC_LIB_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grow-by-doubling helper: returns ptr resized to hold nmemb * size bytes,
** checking the multiplication for overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define xfree(p) free(p)

#include <stdlib.h>

#endif
