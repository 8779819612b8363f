/*
 * What one wakeup costs the woken process on this machine, in CPU time: the number under the
 * OneBot benchmark's floor (docs/benchmarks.md, "Run R's round").
 *
 * A child writes one byte every GAP_US microseconds into a socket pair; the parent waits for
 * each byte in epoll_wait (with TIMEOUT_MS, or none when it is -1) and reads it. Printed: the
 * parent's CPU time per wakeup. GAP_US 0 writes without pause (no sleep between bytes): the
 * cost of the system calls alone.
 *
 *   cc -O2 -o /tmp/wakeup-cost scripts/wakeup-cost.c
 *   /tmp/wakeup-cost 2000 5000 -1     # 2,000 wakeups 5 ms apart, epoll_wait without timeout
 *   /tmp/wakeup-cost 2000 5000 1000   # the same, each wait with a 1 s timeout
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s WAKEUPS GAP_US [TIMEOUT_MS]\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    long gap_us = atol(argv[2]);
    int timeout_ms = argc > 3 ? atoi(argv[3]) : -1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("socketpair");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        char c = 'x';
        struct timespec gap = {gap_us / 1000000, (gap_us % 1000000) * 1000};
        for (int i = 0; i < n; i++) {
            if (gap_us) nanosleep(&gap, 0);
            if (write(sv[1], &c, 1) != 1) _exit(1);
        }
        _exit(0);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = sv[0]};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
    double start = cpu_seconds();
    int got = 0;
    char buf[64];
    while (got < n) {
        struct epoll_event e;
        epoll_wait(ep, &e, 1, timeout_ms);
        int r;
        while ((r = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT)) > 0) got += r;
    }
    double spent = cpu_seconds() - start;
    waitpid(child, 0, 0);
    printf("%d wakeups %ld us apart, timeout %d ms: %.2f us CPU per wakeup\n", n, gap_us, timeout_ms, spent / n * 1e6);
    return 0;
}
