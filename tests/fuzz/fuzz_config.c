/*
** Fuzz target for hasvc/config.c: any bytes given to config_parse() must give
** 0 or -1 with well-formed problem lines, never a crash, a leak or a read
** outside the buffer.  The input is copied so that a read past `size` is
** caught by ASan rather than hidden by the fuzzer's own buffer.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hasvc/config.h"
#include "lib/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	struct config_errors errs = {0};
	char *buf = malloc(size ? size : 1);
	size_t i;
	int rc;

	if (buf == NULL)
		return 0;
	if (size > 0)
		memcpy(buf, data, size);
	rc = config_parse(buf, size, "fuzz", &cfg, &errs);
	/* The contract: -1 exactly when something was reported, and every
	** report is a terminated "fuzz..." line within the cap. */
	ha_assert(rc == 0 || rc == -1);
	ha_assert((rc == -1) == (errs.n > 0));
	ha_assert(errs.n <= CONFIG_MAX_ERRORS);
	for (i = 0; i < errs.n; i++) {
		ha_assert(memchr(errs.v[i].msg, '\0', sizeof(errs.v[i].msg)) != NULL);
		ha_assert(strncmp(errs.v[i].text, "fuzz", 4) == 0);
		ha_assert(errs.v[i].line >= 0);
	}
	if (rc == 0) {
		ha_assert(cfg.naddrs >= 1 && cfg.naddrs <= CONFIG_MAX_ADDRS);
		ha_assert(cfg.watchdog_timeout_ms >= 1000 && cfg.watchdog_timeout_ms <= 600000);
		ha_assert(cfg.api_port >= 1);
		ha_assert(cfg.data_dir[0] == '/' && cfg.api_certificate[0] == '/');
	}
	config_errors_clear(&errs);
	free(buf);
	return 0;
}
