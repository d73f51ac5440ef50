/*
** Three kinds of check, kept apart (STYLE habit 4).
**
**   ha_assert(x)  an invariant of our own code.  On in every build: a pool host
**                 running on corrupt state is worse than one that stops; a crash
**                 under an armed watchdog becomes a clean self-fence.
**   ALWAYS(x)     a condition we believe is always true, guarding a defensive
**   NEVER(x)      branch.  In test builds (HASVC_TESTING) a surprise aborts so the
**                 test fails; in release builds the branch is simply taken.
**   fatal()       the environment makes going on pointless (see lib/log.h).
*/
#ifndef HASVC_LIB_CHECK_H
#define HASVC_LIB_CHECK_H

void ha_assert_fail(const char *expr, const char *file, int line, const char *func)
	__attribute__((noreturn));

#define ha_assert(x)                                                                               \
	((x) ? (void)0 : ha_assert_fail(#x, __FILE__, __LINE__, __func__))

#ifdef HASVC_TESTING
#define ALWAYS(x) ((x) ? 1 : (ha_assert_fail("ALWAYS(" #x ")", __FILE__, __LINE__, __func__), 0))
#define NEVER(x) ((x) ? (ha_assert_fail("NEVER(" #x ")", __FILE__, __LINE__, __func__), 1) : 0)
#else
#define ALWAYS(x) (__builtin_expect(!!(x), 1))
#define NEVER(x) (__builtin_expect(!!(x), 0))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
