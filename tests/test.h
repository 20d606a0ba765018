/* tests/test.h - the few macros every tests/test_*.c uses. Each CHECK is one counted assertion;
   the runner prints "N passed, N failed" (", N skipped") as its closing line. */
#ifndef INH_TEST_H
#define INH_TEST_H
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static int test_passed, test_failed, test_skipped;

#define CHECK(cond, ...) do { \
    if (cond) test_passed++; \
    else { test_failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol, what) do { \
    double a_ = (double)(a), b_ = (double)(b); \
    CHECK(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_), "%s: got %.9g want %.9g (atol %g rtol %g)", what, a_, b_, (double)(atol), (double)(rtol)); \
} while (0)

#define SKIP(...) do { test_skipped++; printf("skip: "); printf(__VA_ARGS__); printf("\n"); } while (0)

/* ../shared/data, or NULL (with one clear line) when the folder is absent */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static const char *test_shared_dir(void) {
    static const char *d = "../shared/data";
    return access(d, R_OK) == 0 ? d : NULL;
}

static int test_summary(const char *name) {
    printf("%s: %d passed, %d failed", name, test_passed, test_failed);
    if (test_skipped) printf(", %d skipped", test_skipped);
    printf("\n");
    return test_failed ? 1 : 0;
}
#endif
