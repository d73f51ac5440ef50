/*
** A driver for libFuzzer-style targets without libFuzzer: replays every file
** named on the command line (or found in a named directory), then feeds
** HASVC_FUZZ_RANDOM (default 20000) pseudo-random inputs derived from a fixed
** seed and from mutations of the corpus.  Under ASan/UBSan this makes every
** decoder's fuzz target a regression test in `make test`; `make fuzz` links
** the same targets against real libFuzzer.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (64 * 1024)

static uint8_t *corpus[4096];
static size_t corpus_len[4096];
static size_t ncorpus;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	buf = malloc(FUZZ_MAX_INPUT);
	n = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	if (ncorpus < 4096) {
		corpus[ncorpus] = buf;
		corpus_len[ncorpus++] = n;
	} else {
		free(buf);
	}
}

static void
run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	while ((de = readdir(d)) != NULL) {
		char p[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		run_file(p);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	const char *env = getenv("HASVC_FUZZ_RANDOM");
	long iters = env ? atol(env) : 20000;
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	long i;
	int a;

	for (a = 1; a < argc; a++)
		run_path(argv[a]);
	for (i = 0; i < iters; i++) {
		size_t n, k;

		if (ncorpus > 0 && (next_rand() & 3) != 0) {
			size_t c = next_rand() % ncorpus;

			n = corpus_len[c];
			memcpy(buf, corpus[c], n);
			for (k = 0; k < 1 + next_rand() % 8 && n > 0; k++)
				buf[next_rand() % n] ^= (uint8_t)(1u << (next_rand() % 8));
			if ((next_rand() & 7) == 0 && n > 0)
				n = next_rand() % n;
		} else {
			n = next_rand() % 1024;
			for (k = 0; k < n; k++)
				buf[k] = (uint8_t)next_rand();
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%s: %zu corpus inputs, %ld generated inputs, no crash\n", argv[0], ncorpus, iters);
	for (i = 0; i < (long)ncorpus; i++)
		free(corpus[i]);
	free(buf);
	return 0;
}
