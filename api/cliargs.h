/*
** xe-style command-line arguments: `COMMAND key=value ... [--flag]`.
**
** Parsing keeps every argument as written; getters convert and validate, and
** cliargs_check_known() rejects keys a command does not take, so that a typo
** is an error, never silently ignored.  Every getter reports a problem as one
** sentence in `err` naming the key and what was wrong with it.
*/
#ifndef HASVC_API_CLIARGS_H
#define HASVC_API_CLIARGS_H

#include <stddef.h>
#include <stdint.h>

struct cliarg {
	char *key;
	char *value; /* NULL for a --flag */
	int used;
};

struct cliargs {
	char *command;
	struct cliarg *v;
	size_t n;
	char err[256];
};

/* Parse argv[0..argc): the first word is the command; the rest are key=value
** pairs or --flags.  Returns 0, or -1 with args->err set (a bare word, an
** empty key, a key given twice). */
int cliargs_parse(struct cliargs *args, int argc, char *const argv[]);
void cliargs_clear(struct cliargs *args);

/* Value of `key`, or NULL if absent.  Marks the key used. */
const char *cliargs_get(struct cliargs *args, const char *key);
int cliargs_flag(struct cliargs *args, const char *flag);

/* Typed getters: 0 found and valid (stored in *out), 1 absent (*out untouched),
** -1 present but invalid (args->err set). */
int cliargs_get_int(struct cliargs *args, const char *key, int64_t min, int64_t max,
		    int64_t *out);
/* A size in bytes: a plain number, or with a KiB/MiB/GiB/TiB suffix. */
int cliargs_get_size(struct cliargs *args, const char *key, int64_t *out);
/* true/false, yes/no, on/off, 1/0. */
int cliargs_get_bool(struct cliargs *args, const char *key, int *out);

/* -1 with args->err naming the first key or flag that no getter asked for. */
int cliargs_check_known(struct cliargs *args);

/* Parsers shared with other front-ends; 0 ok, -1 invalid. */
int cliargs_parse_size(const char *s, int64_t *out);
int cliargs_parse_bool(const char *s, int *out);

#endif
