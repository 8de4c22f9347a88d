/*
 * The real servers of bench/checkers.mjs: one process listening on every
 * address:port of a list, accepting and closing each connection, which is
 * all a TCP_CHECK needs. In C so that the listeners cost the emulated CPU as
 * little as possible (a node listener took ~4 ms of emulated CPU per accepted
 * connection, as much as the checker it served). Driven through stdin, one
 * command a line, one answer line each:
 *
 *   count          -> "count N": connections accepted so far
 *   close I,J,...  -> "closed N": the listeners at those indexes closed (the
 *                     port refuses connections from then on)
 *   open I,J,...   -> "opened N": those listeners listening again
 *
 * "ready N" once every listener is bound; exits when stdin ends.
 *
 *   cc -O2 -o listeners bench/vm/listeners.c && ./listeners TARGETS.txt   (one "ip port" a line)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_TARGETS 65536

static int fds[MAX_TARGETS];
static struct sockaddr_in addrs[MAX_TARGETS];
static int ep;

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Listen on target `n` (its address in addrs[n]), watched by epoll with n as its tag. */
static int listen_on(int n) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)n};
  if (bind(s, (struct sockaddr *)&addrs[n], sizeof addrs[n]) < 0 || listen(s, 128) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0) {
    close(s);
    return -1;
  }
  fds[n] = s;
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s TARGETS.txt\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) die("targets");
  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  char ip[64];
  int port, n = 0;
  while (n < MAX_TARGETS && fscanf(f, "%63s %d", ip, &port) == 2) {
    addrs[n] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &addrs[n].sin_addr) != 1) die("inet_pton");
    if (listen_on(n) < 0) die(ip);
    n++;
  }
  fclose(f);
  struct epoll_event in = {.events = EPOLLIN, .data.u32 = (unsigned)MAX_TARGETS};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) < 0) die("epoll_ctl stdin");
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready %d\n", n);

  unsigned long long accepted = 0;
  char line[1 << 20];
  size_t used = 0;
  struct epoll_event events[256];
  for (;;) {
    int k = epoll_wait(ep, events, 256, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < k; i++) {
      unsigned idx = events[i].data.u32;
      if (idx < MAX_TARGETS) {
        int c;
        while ((c = accept4(fds[idx], NULL, NULL, SOCK_CLOEXEC)) >= 0) {
          accepted++;
          close(c);
        }
        continue;
      }
      ssize_t r = read(0, line + used, sizeof line - 1 - used);
      if (r <= 0) return 0;
      used += (size_t)r;
      char *nl;
      while ((nl = memchr(line, '\n', used)) != NULL) {
        *nl = '\0';
        if (strncmp(line, "count", 5) == 0) {
          printf("count %llu\n", accepted);
        } else if (strncmp(line, "close ", 6) == 0 || strncmp(line, "open ", 5) == 0) {
          int opening = line[0] == 'o', done = 0;
          for (char *p = line + (opening ? 5 : 6); *p;) {
            int j = (int)strtol(p, &p, 10);
            if (j >= 0 && j < n && !opening && fds[j] >= 0) {
              close(fds[j]);
              fds[j] = -1;
              done++;
            } else if (j >= 0 && j < n && opening && fds[j] < 0 && listen_on(j) >= 0) {
              done++;
            }
            if (*p == ',') p++;
            else break;
          }
          printf("%s %d\n", opening ? "opened" : "closed", done);
        }
        size_t rest = used - (size_t)(nl + 1 - line);
        memmove(line, nl + 1, rest);
        used = rest;
      }
    }
  }
}
