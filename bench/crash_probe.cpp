// Crash -> new incarnation serving, measured from outside the server with one clock:
// for each of --crashes rounds, read the agent's current "incarnation" from GET /health on its
// legacy port, take t0, write "crash <agent>\n" to the admin socket, then poll GET /health on the
// same port (keep-alive connection, reconnected when needed) until it answers 200 with a higher
// "incarnation"; that instant minus t0 is one sample. The admin reply line ({"ok":true,...}) is
// read and checked after the sample (it is buffered by the socket meanwhile, so reading it first
// cannot delay polling). Rounds are --gap-ms apart.
//
//   crash_probe --socket PATH --port P [--agent order] [--crashes 20] [--gap-ms 250]
//               [--timeout-ms 5000] [--interval-us 100] [--verbose]
//
// Prints `crash_to_serving_median_ms`, `_p99_ms`, `_min_ms`, `_max_ms`, `crashes`, `non_200_polls`
// (answers other than 200 seen while the agent was being replaced, e.g. 503) one per line as
// `<name> <value>`. Exit 1 if any round failed.
#include "bench_stats.hpp"
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

namespace {

using steady = std::chrono::steady_clock;

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void sleep_us(long us) {
  timespec ts{us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Reads into `buf` until `done(buf)` or the deadline; false on EOF/error/timeout.
template <class Done>
bool read_until(int fd, std::string& buf, steady::time_point deadline, Done done) {
  char chunk[4096];
  while (!done(buf)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

// A minimal keep-alive HTTP/1.1 GET client for 127.0.0.1 (responses carry Content-Length).
class http_client {
 public:
  explicit http_client(uint16_t port) : port_(port) {}
  ~http_client() { disconnect(); }

  struct response {
    int status = 0;
    std::string body;
  };

  std::optional<response> get(const std::string& path, int timeout_ms) {
    for (int attempt = 0; attempt < 2; ++attempt) {  // once more on a fresh connection
      if (fd_ < 0 && !connect()) return std::nullopt;
      if (auto r = exchange(path, timeout_ms)) return r;
      disconnect();
    }
    return std::nullopt;
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      disconnect();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  void disconnect() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    pending_.clear();
  }

  std::optional<response> exchange(const std::string& path, int timeout_ms) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return std::nullopt;
    const auto deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
    std::string& buf = pending_;
    if (!read_until(fd_, buf, deadline,
                    [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }))
      return std::nullopt;
    const size_t head_end = buf.find("\r\n\r\n") + 4;
    if (buf.compare(0, 7, "HTTP/1.") != 0 || buf.size() < 12) return std::nullopt;
    response r;
    r.status = std::atoi(buf.c_str() + 9);
    std::string head = buf.substr(0, head_end);
    for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    size_t length = 0;
    auto cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
    const bool close = head.find("\r\nconnection: close") != std::string::npos;
    if (!read_until(fd_, buf, deadline,
                    [&](const std::string& b) { return b.size() >= head_end + length; }))
      return std::nullopt;
    r.body = buf.substr(head_end, length);
    buf.erase(0, head_end + length);
    if (close) disconnect();
    return r;
  }

  uint16_t port_;
  int fd_ = -1;
  std::string pending_;
};

// "incarnation":N in a /health body, or -1.
long incarnation_of(const std::string& body) {
  auto at = body.find("\"incarnation\":");
  if (at == std::string::npos) return -1;
  return std::strtol(body.c_str() + at + 14, nullptr, 10);
}

int connect_admin(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "crash_probe: %s\nusage: crash_probe --socket PATH --port P [--agent NAME] "
               "[--crashes N] [--gap-ms N] [--timeout-ms N] [--interval-us N] [--verbose]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  std::string agent = "order";
  long port = 0, crashes = 20, gap_ms = 250, timeout_ms = 5000, interval_us = 100;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) usage("missing value for " + arg);
    std::string value = argv[++i];
    if (arg == "--socket") socket_path = value;
    else if (arg == "--agent") agent = value;
    else if (arg == "--port") port = std::atol(value.c_str());
    else if (arg == "--crashes") crashes = std::atol(value.c_str());
    else if (arg == "--gap-ms") gap_ms = std::atol(value.c_str());
    else if (arg == "--timeout-ms") timeout_ms = std::atol(value.c_str());
    else if (arg == "--interval-us") interval_us = std::atol(value.c_str());
    else usage("unknown argument " + arg);
  }
  if (socket_path.empty()) usage("--socket is required");
  if (port <= 0 || port > 65535) usage("--port must be 1..65535");
  if (crashes < 1 || crashes > 10000 || gap_ms < 0 || timeout_ms < 1 || interval_us < 0)
    usage("bad option value");

  int admin = connect_admin(socket_path);
  if (admin < 0) {
    std::fprintf(stderr, "crash_probe: cannot connect to admin socket %s: %s\n",
                 socket_path.c_str(), std::strerror(errno));
    return 1;
  }
  http_client http{static_cast<uint16_t>(port)};
  std::vector<double> samples;
  long non_200 = 0;
  int rc = 0;
  std::string admin_buf;

  for (long round = 0; round < crashes; ++round) {
    // Current incarnation (bounded wait: the previous round's agent must be serving).
    long before = -1;
    const auto settle_deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
    while (steady::now() < settle_deadline) {
      auto r = http.get("/health", 1000);
      if (r && r->status == 200 && (before = incarnation_of(r->body)) >= 0) break;
      sleep_us(1000);
    }
    if (before < 0) {
      std::fprintf(stderr, "crash_probe: round %ld: %s is not serving /health on port %ld\n",
                   round, agent.c_str(), port);
      rc = 1;
      break;
    }

    const std::string command = "crash " + agent + "\n";
    const auto t0 = steady::now();
    if (::send(admin, command.data(), command.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(command.size())) {
      std::fprintf(stderr, "crash_probe: writing to the admin socket failed: %s\n",
                   std::strerror(errno));
      rc = 1;
      break;
    }
    std::optional<double> sample;
    long after = before;
    const auto deadline = t0 + std::chrono::milliseconds(timeout_ms);
    while (steady::now() < deadline) {
      auto r = http.get("/health", static_cast<int>(timeout_ms));
      const auto t = steady::now();
      if (r && r->status == 200) {
        after = incarnation_of(r->body);
        if (after > before) {
          sample = ms_between(t0, t);
          break;
        }
      } else if (r) {
        ++non_200;
      }
      if (interval_us > 0) sleep_us(interval_us);
    }

    // The admin answer: one JSON line.
    const bool got_line =
        read_until(admin, admin_buf, steady::now() + std::chrono::milliseconds(timeout_ms),
                   [](const std::string& b) { return b.find('\n') != std::string::npos; });
    std::string line = got_line ? admin_buf.substr(0, admin_buf.find('\n')) : admin_buf;
    if (got_line) admin_buf.erase(0, admin_buf.find('\n') + 1);
    if (!got_line || line.find("\"ok\":true") == std::string::npos) {
      std::fprintf(stderr, "crash_probe: round %ld: admin reply was not ok: %s\n", round,
                   line.empty() ? "<none>" : line.c_str());
      rc = 1;
      break;
    }
    if (!sample) {
      std::fprintf(stderr,
                   "crash_probe: round %ld: no new incarnation serving within %ld ms "
                   "(incarnation %ld -> %ld)\n",
                   round, timeout_ms, before, after);
      rc = 1;
      break;
    }
    samples.push_back(*sample);
    if (verbose)
      std::printf("crash %ld incarnation %ld->%ld %.3f ms\n", round, before, after, *sample);
    if (gap_ms > 0) sleep_us(gap_ms * 1000);
  }
  ::close(admin);

  std::printf("crashes %zu\n", samples.size());
  if (!samples.empty()) {
    std::printf("crash_to_serving_median_ms %.3f\n", percentile(samples, 0.5));
    std::printf("crash_to_serving_p99_ms %.3f\n", percentile(samples, 0.99));
    std::printf("crash_to_serving_min_ms %.3f\n", *std::min_element(samples.begin(), samples.end()));
    std::printf("crash_to_serving_max_ms %.3f\n", *std::max_element(samples.begin(), samples.end()));
  }
  std::printf("non_200_polls %ld\n", non_200);
  return rc;
}
