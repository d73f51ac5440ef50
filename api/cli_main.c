/*
** hasvc: the xe-style command-line client.
**
**     hasvc COMMAND [key=value ...] [--flag ...]
**
** Commands are rows of one table (name, synopsis, handler).  The commands
** that call the XAPI-compatible API join the table with the API work; today
** the CLI carries its own help and version.
*/
#include <stdio.h>
#include <string.h>

#include "api/cliargs.h"
#include "lib/check.h"

#define HASVC_VERSION "0.1.0"

struct command {
	const char *name;
	const char *synopsis;
	int (*run)(struct cliargs *args);
};

static int cmd_help(struct cliargs *args);
static int cmd_version(struct cliargs *args);

static const struct command commands[] = {
	{"help", "help [command=NAME]            describe the commands", cmd_help},
	{"version", "version                         print the version of this client",
	 cmd_version},
};

static const struct command *
lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
cmd_help(struct cliargs *args)
{
	const char *name = cliargs_get(args, "command");
	const struct command *c;
	size_t i;

	if (cliargs_check_known(args) < 0) {
		fprintf(stderr, "hasvc: %s\n", args->err);
		return 2;
	}
	if (name != NULL) {
		c = lookup(name);
		if (c == NULL) {
			fprintf(stderr, "hasvc: unknown command '%s'\n", name);
			return 2;
		}
		printf("usage: hasvc %s\n", c->synopsis);
		return 0;
	}
	printf("usage: hasvc COMMAND [key=value ...]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %s\n", commands[i].synopsis);
	return 0;
}

static int
cmd_version(struct cliargs *args)
{
	if (cliargs_check_known(args) < 0) {
		fprintf(stderr, "hasvc: %s\n", args->err);
		return 2;
	}
	printf("hasvc %s\n", HASVC_VERSION);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cliargs args;
	const struct command *c;
	int rc;

	if (argc < 2) {
		static char help[] = "help";
		char *hargv[] = {help};

		cliargs_parse(&args, 1, hargv);
		rc = cmd_help(&args);
		cliargs_clear(&args);
		return rc == 0 ? 2 : rc;
	}
	if (cliargs_parse(&args, argc - 1, argv + 1) < 0) {
		fprintf(stderr, "hasvc: %s\n", args.err);
		cliargs_clear(&args);
		return 2;
	}
	c = lookup(args.command);
	if (c == NULL) {
		fprintf(stderr, "hasvc: unknown command '%s' (try 'hasvc help')\n", args.command);
		cliargs_clear(&args);
		return 2;
	}
	rc = c->run(&args);
	cliargs_clear(&args);
	return rc;
}
