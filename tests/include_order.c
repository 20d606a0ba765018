/* tests/include_order.c - the header compiles whatever the program included first (issue 25 #4):
   <stdio.h>, <time.h> and <string.h> come before the implementation, so the header's own feature
   macros arrive too late for them. tests/test_usability.c builds this as C99, C11 and C++ (gcc, and
   clang where present) with -Wall -Wextra -pedantic -Werror, and runs it:
       include_order PATH   saves and loads a model at PATH, runs a command, times it; exit 0 when
                            all of it worked and the clock measured wall time (not processor time). */
#include <stdio.h>
#include <time.h>
#include <string.h>
#define INHERITUNE_IMPLEMENTATION
#include "../inheritune.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/include_order.bin";
    inh_config c;
    inh_model m, m2;
    char line[64] = "";
    inh_config_default(&c, 8, 16, 1, 1, 8);
    if (inh_model_init(&m, &c, 1) || inh_model_save(&m, path) || inh_model_load(&m2, path)) {
        fprintf(stderr, "error: %s\n", inh_error());
        return 1;
    }
    int same = m.num_params == m2.num_params && !memcmp(m.params_mem, m2.params_mem, m.num_params * sizeof(float));
    /* a command that sleeps 0.3 s: the clock must see it (a processor-time fallback would not) */
    double t0 = inh_now();
    inh_command *cmd = inh_command_start("sleep 0.3 && echo slept");
    int got = cmd ? inh_command_line(cmd, line, (int)sizeof line) : 0;
    int st = cmd ? inh_command_finish(cmd) : -1;
    double dt = inh_now() - t0;
    printf("include order: model %s (%s), command %s (%s), %.2f s of wall time, %d cores\n", same ? "saved and loaded" : "differs",
           inh_file_kind_name(inh_file_kind(path)), st == 0 && got ? "ran" : "failed", st == 0 ? line : inh_error(), dt,
           inh_num_cores());
    inh_model_free(&m);
    inh_model_free(&m2);
    return same && st == 0 && got && !strncmp(line, "slept", 5) && dt > 0.25 && dt < 30 ? 0 : 1;
}
