// ezoned: one ezone runtime per data centre. A thin main around ezone::Node.
//
//   ezoned --config FILE          run until SIGINT or SIGTERM; SIGHUP re-reads
//                                 the token files (Node::reload_tokens)
//   ezoned --config FILE --check  validate the config (and that its ports
//                                 are free), then exit
//   ezoned --config FILE --takeover
//                                 run even though another process of this
//                                 ezone holds its registration in etcd; that
//                                 process is fenced (without the flag, the
//                                 start fails naming it)
//   ezoned --config FILE --reseed-from PEER [--force]
//                                 replace this ezone's database by a copy of
//                                 peer PEER's, with the node stopped
//                                 (actors/node/reseed.hpp), then exit
//
// The application served next to the runtime's endpoints is chosen by the
// config's [app] name; the apps built in are listed in kApps.
//
// Exit codes: 0 clean stop, 1 start failure, 2 bad command line or config.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "actors/node/node.hpp"
#include "actors/node/reseed.hpp"
#include "core/build_info.hpp"
#include "examples/takeout/takeout_app.hpp"

namespace {

// Prints the usage, after `why` when there is one (bad usage: stderr, exit
// 2), or alone (--help: stdout, exit 0).
int usage(const char* why) {
  const bool help = *why == '\0';
  std::fprintf(help ? stdout : stderr,
               "%s%s%susage: ezoned --config FILE [--check | --takeover]\n"
               "         run a node; --check: validate the config and exit; --takeover: run even if another\n"
               "         process of this ezone is registered in etcd (that process is fenced)\n"
               "       ezoned --config FILE --reseed-from PEER [--force]\n"
               "         with the node stopped, replace its database by a copy of peer PEER's (its database\n"
               "         was lost or restored from an older copy); --force: even if the old one holds writes\n"
               "         no peer has, or another peer applied more of this ezone than PEER (or cannot be asked)\n"
               "       ezoned --version\n",
               help ? "" : "ezoned: ", why, help ? "" : "\n");
  return help ? 0 : 2;
}

struct KnownApp {
  const char* name;
  ezone::AppFactory (*factory)();
};
constexpr KnownApp kApps[] = {{"takeout", ezone::takeout_app}};

// The options for the config's [app] (none: no app). An unknown name is a
// config error naming the apps this binary knows.
bool choose_app(const ezone::NodeConfig& config, ezone::NodeOptions& options) {
  if (config.app.name.empty()) return true;
  std::string known;
  for (const KnownApp& app : kApps) {
    if (config.app.name != app.name) {
      known += known.empty() ? "" : ", ";
      known += std::string("\"") + app.name + "\"";
      continue;
    }
    if (!config.dal.enabled) {
      std::fprintf(stderr, "ezoned: config error: %s: [app] %s keeps its data in the DAL, but there is no [dal]. "
                   "Fix: add [dal] with schema_file (see config/examples/laptop/bj.toml)\n",
                   config.source.c_str(), app.name);
      return false;
    }
    options.app = app.factory();
    return true;
  }
  std::fprintf(stderr, "ezoned: config error: %s: key 'app.name': unknown app \"%s\". Fix: use one of %s, or remove [app]\n",
               config.source.c_str(), config.app.name.c_str(), known.c_str());
  return false;
}

// Blocks SIGINT/SIGTERM (stop) and SIGHUP (reload the token files) in this
// thread before any other thread exists, so every thread inherits the mask
// and sigwait() below receives them.
sigset_t block_handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int reseed(const ezone::NodeConfig& config, const std::string& peer, bool force) {
  ezone::ReseedOptions options;
  options.peer = peer;
  options.force = force;
  options.progress = [](const std::string& line) { std::printf("ezoned: %s\n", line.c_str()); };
  auto report = ezone::reseed_from_peer(config, options);
  if (!report) {
    std::fprintf(stderr, "ezoned: re-seed failed, nothing was replaced: %s\n", report.status().message().c_str());
    return 1;
  }
  const ezone::dal::SeedReport& r = *report;
  std::printf("ezoned: %s is now a copy of '%s' up to its outbox seq %llu (new lineage %llu).\n",
              config.dal.db_file.c_str(), peer.c_str(), static_cast<unsigned long long>(r.source_head),
              static_cast<unsigned long long>(r.lineage));
  std::printf("ezoned: '%s' had applied this ezone's changes up to seq %llu of lineage %llu; peers start this "
              "ezone's new outbox from seq 1.\n",
              peer.c_str(), static_cast<unsigned long long>(r.replaced_seq), static_cast<unsigned long long>(r.replaces));
  if (!r.saved_old.empty()) {
    std::printf("ezoned: the old database is kept at %s (%llu outbox entries no peer applied).\n", r.saved_old.c_str(),
                static_cast<unsigned long long>(r.unreplicated));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  bool takeover = false;
  bool force = false;
  std::string reseed_from;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--check")) {
      check_only = true;
    } else if (!std::strcmp(argv[i], "--takeover")) {
      takeover = true;
    } else if (!std::strcmp(argv[i], "--reseed-from") && i + 1 < argc) {
      reseed_from = argv[++i];
    } else if (!std::strcmp(argv[i], "--force")) {
      force = true;
    } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      return usage("");
    } else if (!std::strcmp(argv[i], "--version")) {
      std::printf("ezoned %s\n", ezone::build_version());
      return 0;
    } else {
      return usage((std::string("unknown argument ") + argv[i]).c_str());
    }
  }
  if (config_path.empty()) return usage("--config FILE is required");
  if (force && reseed_from.empty()) return usage("--force goes with --reseed-from");

  auto config = ezone::load_node_config(config_path);
  if (!config) {
    std::fprintf(stderr, "ezoned: config error: %s\n", config.status().message().c_str());
    return 2;
  }
  if (!reseed_from.empty()) {
    try {
      return reseed(*config, reseed_from, force);
    } catch (const std::exception& e) {  // a bug, not an input: say so rather than abort
      std::fprintf(stderr, "ezoned: re-seed failed (internal error: %s); nothing was replaced unless it says so "
                   "above\n", e.what());
      return 1;
    }
  }
  ezone::NodeOptions options;
  options.takeover = takeover;
  if (!choose_app(*config, options)) return 2;
  if (check_only) {
    ezone::Status ports = ezone::check_listen_addresses(*config);
    if (!ports) {
      std::fprintf(stderr, "ezoned: config error: %s\n", ports.message().c_str());
      return 2;
    }
    std::printf("%s: ok (ezone %s)\n", config_path.c_str(), config->ezone.c_str());
    return 0;
  }

  sigset_t handled_signals = block_handled_signals();
  auto node = ezone::Node::start(*config, std::move(options));
  if (!node) {
    std::fprintf(stderr, "ezoned: cannot start: %s\n", node.status().message().c_str());
    // A port in use is a config problem the operator fixes in the file.
    return node.status().code() == ezone::Errc::unavailable ? 2 : 1;
  }
  for (;;) {
    int signal = 0;
    if (sigwait(&handled_signals, &signal) != 0) continue;
    if (signal != SIGHUP) break;
    (*node)->reload_tokens("signal");  // logs what it did (event=tokens_reloaded)
  }
  (*node)->stop();
  return 0;
}
