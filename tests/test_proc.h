/* tests/test_proc.h - a command stopped by Ctrl-C, for the POSIX-only tests (test_scripts, test_torch).
   Include it after <unistd.h>, <signal.h>, <sys/wait.h> and <time.h>. */
#ifndef INH_TEST_PROC_H
#define INH_TEST_PROC_H
/* run cmd in its own process group; after `after` appears in its output (or `delay_ms` without one),
   SIGINT to the whole group, as a terminal's Ctrl-C; the exit status (128 + signal if killed) */
static int run_ctrl_c(const char *cmd, const char *after, int delay_ms, char *o, size_t cap) {
    int fd[2];
    o[0] = 0;
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(fd[1], 1); dup2(fd[1], 2);
        close(fd[0]); close(fd[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    setpgid(pid, pid);
    if (!after) { struct timespec ts = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L}; nanosleep(&ts, NULL); kill(-pid, SIGINT); }
    FILE *f = fdopen(fd[0], "r");
    char line[4096];
    size_t n = 0;
    int sent = !after;
    while (f && fgets(line, sizeof line, f)) {
        size_t k = strlen(line);
        if (n + k + 1 < cap) { memcpy(o + n, line, k + 1); n += k; }
        if (!sent && strstr(line, after)) { kill(-pid, SIGINT); sent = 1; }
    }
    if (f) fclose(f);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#endif
