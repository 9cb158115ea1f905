// Time from exec to "all agents healthy": fork/exec the server, then poll-connect to its gateway
// port on 127.0.0.1 and send GET /ready every --interval-us (default 500 µs) until it answers 200.
// Prints `startup_ms <elapsed>` (t0 = just before fork), then stops the server with SIGTERM and
// waits for it to exit (SIGKILL after --stop-timeout-ms) and prints `shutdown_ms <elapsed>`.
//
//   startup_probe --port P [--path /ready] [--timeout-ms 30000] [--interval-us 500]
//                 [--log FILE] [--stop-timeout-ms 15000] -- COMMAND [ARGS...]
//
// Exit status: 0 on success, 1 if the server did not become ready in time, exited early, or did
// not stop cleanly (status != 0 after SIGTERM).
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace {

using steady = std::chrono::steady_clock;

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// One GET on a fresh connection to 127.0.0.1:port. Returns the HTTP status, or -1 when the port
// does not accept yet / the exchange failed. Bounded by `timeout_ms` for the answer.
int http_get_status(uint16_t port, const std::string& path, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Loopback connect either succeeds or is refused at once (no listener): no need for a timeout.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  char buf[256];
  size_t have = 0;
  const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
  while (have < 12) {  // "HTTP/1.1 200"
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) break;
    ssize_t n = ::recv(fd, buf + have, sizeof buf - 1 - have, 0);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  if (have < 12 || std::strncmp(buf, "HTTP/1.", 7) != 0) return -1;
  buf[have] = '\0';
  return std::atoi(buf + 9);
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "startup_probe: %s\nusage: startup_probe --port P [--path /ready] "
               "[--timeout-ms N] [--interval-us N] [--log FILE] [--stop-timeout-ms N] -- "
               "COMMAND [ARGS...]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  long port = 0;
  std::string path = "/ready";
  long timeout_ms = 30000;
  long interval_us = 500;
  long stop_timeout_ms = 15000;
  std::string log_file = "/dev/null";
  std::vector<char*> command;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) command.push_back(argv[i]);
      break;
    }
    if (i + 1 >= argc) usage("missing value for " + arg);
    std::string value = argv[++i];
    if (arg == "--port") port = std::atol(value.c_str());
    else if (arg == "--path") path = value;
    else if (arg == "--timeout-ms") timeout_ms = std::atol(value.c_str());
    else if (arg == "--interval-us") interval_us = std::atol(value.c_str());
    else if (arg == "--stop-timeout-ms") stop_timeout_ms = std::atol(value.c_str());
    else if (arg == "--log") log_file = value;
    else usage("unknown argument " + arg);
  }
  if (port <= 0 || port > 65535) usage("--port must be 1..65535");
  if (command.empty()) usage("no command given after --");
  if (timeout_ms <= 0 || interval_us < 0 || stop_timeout_ms <= 0) usage("bad timing option");
  command.push_back(nullptr);

  // The port must be free: an answer before our child could have bound it would be a lie.
  if (http_get_status(static_cast<uint16_t>(port), path, 200) != -1) {
    std::fprintf(stderr, "startup_probe: something already answers on 127.0.0.1:%ld\n", port);
    return 1;
  }

  const auto t0 = steady::now();
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("startup_probe: fork");
    return 1;
  }
  if (child == 0) {
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    ::execvp(command[0], command.data());
    std::perror("startup_probe: exec");
    ::_exit(127);
  }

  double ready_ms = -1;
  long polls = 0;
  int status = 0;
  bool exited = false;
  while (ms_since(t0) < static_cast<double>(timeout_ms)) {
    ++polls;
    if (http_get_status(static_cast<uint16_t>(port), path, 1000) == 200) {
      ready_ms = ms_since(t0);
      break;
    }
    if (::waitpid(child, &status, WNOHANG) == child) {
      exited = true;
      break;
    }
    sleep_us(interval_us);
  }

  int rc = 0;
  if (ready_ms >= 0) {
    std::printf("startup_ms %.2f\npolls %ld\n", ready_ms, polls);
  } else {
    std::fprintf(stderr, "startup_probe: %s after %.0f ms (%ld polls)\n",
                 exited ? "server exited before it was ready" : "server not ready", ms_since(t0),
                 polls);
    rc = 1;
  }
  std::fflush(stdout);

  if (!exited) {
    const auto t_stop = steady::now();
    ::kill(child, SIGTERM);
    bool gone = false;
    while (ms_since(t_stop) < static_cast<double>(stop_timeout_ms)) {
      if (::waitpid(child, &status, WNOHANG) == child) {
        gone = true;
        break;
      }
      sleep_us(1000);
    }
    if (!gone) {
      std::fprintf(stderr, "startup_probe: server did not stop within %ld ms; SIGKILL\n",
                   stop_timeout_ms);
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      rc = 1;
    } else {
      std::printf("shutdown_ms %.2f\n", ms_since(t_stop));
    }
  }
  if (WIFEXITED(status)) {
    std::printf("exit_status %d\n", WEXITSTATUS(status));
    if (WEXITSTATUS(status) != 0) rc = 1;
  } else if (WIFSIGNALED(status)) {
    std::printf("exit_signal %d\n", WTERMSIG(status));
    rc = 1;
  }
  return rc;
}
