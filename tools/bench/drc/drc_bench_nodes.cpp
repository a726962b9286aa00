#include "tools/bench/drc/drc_bench_nodes.hpp"

#include <stdlib.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/clock.hpp"
#include "tests/support/ports.hpp"

namespace ezone::drc {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"toml(
[[table]]
name = "rows"
kind = "sharding-zone"
shard_column = "shard"
ddl = "CREATE TABLE rows(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, payload TEXT NOT NULL, created_at_us INTEGER NOT NULL)"
)toml";

}  // namespace

NodePair::~NodePair() {
  for (auto* node : {&sh, &bj})
    if (*node) {
      (*node)->stop();
      node->reset();
    }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

Status NodePair::setup() {
  std::string parent = options_.work_dir.empty() ? (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") : options_.work_dir;
  std::string tmpl = parent + "/ezone-drc-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Status(Errc::io_error, "cannot make a temp dir under " + parent);
  dir_ = tmpl;
  schema_file_ = dir_ + "/schema.toml";
  std::ofstream(schema_file_) << kSchema;
  store_ = std::make_shared<meta::MemoryMetaStore>(SystemClock::instance());
  if (const std::string& d = options_.cluster_tls_dir; !d.empty()) {
    auto admin = net::TlsContext::server({d + "/node.crt", d + "/node.key", ""});
    auto cluster = net::TlsContext::server({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
    auto client = net::TlsContext::client({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
    for (const auto* loaded : {&admin, &cluster, &client})
      if (!loaded->ok()) return Status(loaded->status().code(), "--cluster-tls: " + loaded->status().message());
    tls_.cert_file = d + "/node.crt";
    tls_.server = *admin;
    tls_.cluster_server = *cluster;
    tls_.client = *client;
    tls_.cluster = true;
  }
  for (ZonePorts* p : {&bj_ports_, &sh_ports_}) {
    *p = {test::free_loopback_port(), test::free_loopback_port(), test::free_loopback_port()};
    if (!p->http || !p->admin || !p->cluster) return Status(Errc::unavailable, "no free loopback port");
  }
  return Status::ok();
}

NodeConfig NodePair::config(const std::string& ezone) const {
  const bool is_bj = ezone == "bj";
  const ZonePorts& self = is_bj ? bj_ports_ : sh_ports_;
  const ZonePorts& peer = is_bj ? sh_ports_ : bj_ports_;
  NodeConfig c;
  c.source = "drc-bench-" + ezone + ".toml";
  c.ezone = ezone;
  c.http = {"127.0.0.1", self.http};
  c.admin = {"127.0.0.1", self.admin};
  c.cluster = {"127.0.0.1", self.cluster};
  c.data_dir = dir_ + "/" + ezone;
  c.log_level = options_.verbose ? "info" : "warn";
  c.peers.push_back({is_bj ? "sh" : "bj", {"127.0.0.1", peer.cluster}, {"127.0.0.1", peer.admin},
                     {"127.0.0.1", peer.http}});
  c.etcd.endpoints.push_back({"127.0.0.1", 1});  // unused: the memory store is injected
  c.timeouts.etcd_check_interval_ms = 50;
  c.limits.caf_worker_threads = 1;
  c.limits.http_threads = 1;
  c.gzs.shards_file = std::string(EZONE_SOURCE_DIR) + "/config/shards/test-fences.toml";
  c.dal.enabled = true;
  c.dal.schema_file = schema_file_;
  c.dal.db_file = c.data_dir + "/" + ezone + ".db";
  c.dal.synchronous_full = options_.sync_full;
  c.tls = tls_;
  return c;
}

Result<double> NodePair::start(const std::string& ezone) {
  NodeOptions no;
  no.meta = store_;
  no.logger = options_.verbose ? spdlog::stderr_color_mt("node-" + ezone + "-" + std::to_string(++starts_))
                               : std::make_shared<spdlog::logger>(ezone, std::make_shared<spdlog::sinks::null_sink_mt>());
  const auto t0 = std::chrono::steady_clock::now();
  auto node = Node::start(config(ezone), no);
  const auto t1 = std::chrono::steady_clock::now();
  if (!node) return Status(node.status().code(), "starting " + ezone + ": " + node.status().message());
  if (!(*node)->dal()) return Status(Errc::internal, ezone + " started without a DAL");
  (ezone == "bj" ? bj : sh) = std::move(*node);
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

void NodePair::stop(const std::string& ezone) {
  auto& node = ezone == "bj" ? bj : sh;
  if (!node) return;
  node->stop();
  node.reset();
}

}  // namespace ezone::drc
