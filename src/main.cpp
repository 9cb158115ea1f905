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
#include "db/database.hpp"
#include "log/log.hpp"

namespace {

constexpr const char* usage =
    "usage: mercato <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE]    run the server (default config: config/mercato.toml if present)\n"
    "  migrate [--config FILE]  apply pending database migrations, then exit\n"
    "  seed [--config FILE]     load db/seed demo data into a database never seeded, then exit\n"
    "  console [options] [CMD]  admin console of a running server; `mercato console --help`\n"
    "  version                  print the version\n"
    "  help                     this text\n";

// Parses `[--config FILE]` and loads the config (default: config/mercato.toml when present).
// Returns false (after printing why) on a bad argument or a bad config.
bool load_config(const char* command, int argc, char** argv, mercato::config& cfg) {
  std::string config_path;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--config" || arg == "-c") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(9);
    } else {
      std::fprintf(stderr, "mercato %s: unknown argument '%s'\n%s", command, arg.c_str(), usage);
      return false;
    }
  }
  if (config_path.empty() && ::access("config/mercato.toml", R_OK) == 0)
    config_path = "config/mercato.toml";
  try {
    cfg = config_path.empty() ? mercato::parse_config("", "<defaults>")
                              : mercato::load_config_file(config_path);
  } catch (const mercato::config_error& e) {
    std::fprintf(stderr, "mercato: configuration error: %s\n", e.what());
    return false;
  }
  if (auto lvl = mercato::log::parse_level(cfg.log.level)) mercato::log::set_level(*lvl);
  mercato::log::set_json(cfg.log.format == "json");
  return true;
}

// `migrate` and `seed`: one-shot database commands.
int run_database_command(const std::string& command, int argc, char** argv) {
  mercato::config cfg;
  if (!load_config(command.c_str(), argc, argv, cfg)) return 2;
  if (cfg.database.url.empty()) {
    std::fprintf(stderr, "mercato %s: no database configured (set DATABASE_URL or database.url)\n",
                 command.c_str());
    return 2;
  }
  try {
    if (command == "migrate") {
      auto report = mercato::db::migrate(cfg.database);
      std::printf("applied %zu migration(s), %zu already applied\n", report.applied.size(),
                  report.already_applied);
    } else {
      auto files = mercato::db::seed(cfg.database);
      std::printf(files ? "loaded %zu seed file(s)\n" : "nothing to seed (already seeded or no files)\n",
                  files);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mercato %s: %s\n", command.c_str(), e.what());
    return 1;
  }
}

int serve(int argc, char** argv) {
  mercato::config cfg;
  if (!load_config("serve", argc, argv, cfg)) return 2;

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
  if (command == "migrate" || command == "seed") return run_database_command(command, argc - 2, argv + 2);
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
