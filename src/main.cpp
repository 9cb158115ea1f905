// The mercato binary: `serve` runs the server, `console` talks to a running one over its admin
// socket, `version` and `help` say what they say.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include "app/server_app.hpp"
#include "config/config.hpp"
#include "console/console_client.hpp"
#include "log/log.hpp"

namespace {

constexpr const char* usage =
    "usage: mercato <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]    run the server (default config: config/mercato.toml if present)\n"
    "  console [options] [CMD]  admin console of a running server; `mercato console --help`\n"
    "  version                  print the version\n"
    "  help                     this text\n";

int serve(int argc, char** argv) {
  std::string config_path;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else {
      std::fprintf(stderr, "mercato serve: unknown argument '%s'\n%s", arg.c_str(), usage);
      return 2;
    }
  }
  if (config_path.empty() && ::access("config/mercato.toml", R_OK) == 0)
    config_path = "config/mercato.toml";

  mercato::config cfg;
  try {
    cfg = config_path.empty() ? mercato::parse_config("", "<defaults>")
                              : mercato::load_config_file(config_path);
  } catch (const mercato::config_error& e) {
    std::fprintf(stderr, "mercato: configuration error: %s\n", e.what());
    return 2;
  }

  // Signals are taken by one thread with sigwait, so no handler runs in a random thread. Block
  // them before any other thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  mercato::server_app app{std::move(cfg)};
  try {
    app.start();
  } catch (const std::exception& e) {
    mercato::log::error("server", "start_failed", {{"reason", e.what()}});
    return 1;
  }
  std::thread signal_watcher([&app, signals] {
    int received = 0;
    sigwait(&signals, &received);
    mercato::log::info("server", "signal_received", {{"signal", strsignal(received)}});
    app.request_shutdown();
  });
  signal_watcher.detach();  // blocked in sigwait until a signal; the process exits after wait()
  return app.wait();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  std::string command = argv[1];
  if (command == "serve") return serve(argc - 2, argv + 2);
  if (command == "console") return mercato::run_console(argc - 2, argv + 2);
  if (command == "version" || command == "--version") {
    std::puts("mercato " MERCATO_VERSION);
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::fputs(usage, stdout);
    return 0;
  }
  std::fprintf(stderr, "mercato: unknown command '%s'\n%s", command.c_str(), usage);
  return 2;
}
