// drc_bench's two nodes: bj and sh, real ezone Nodes in this process with
// their own CAF systems, replicating over loopback TCP, sharing an
// in-memory metadata store instead of etcd, under a temp dir.
#pragma once

#include <memory>
#include <string>

#include "actors/node/node.hpp"
#include "core/ids.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "tools/bench/drc/drc_bench_options.hpp"

namespace ezone::drc {

constexpr ShardId kShard = 1;  // bj's in config/shards/test-fences.toml

struct ZonePorts {
  uint16_t http = 0, admin = 0, cluster = 0;
};

// bj and sh in this process, sharing a MemoryMetaStore, under a temp dir
// that the destructor removes after stopping both nodes.
class NodePair {
 public:
  explicit NodePair(const DrcBenchOptions& o) : options_(o) {}
  ~NodePair();

  Status setup();
  NodeConfig config(const std::string& ezone) const;
  // Starts a node; returns the milliseconds Node::start took.
  Result<double> start(const std::string& ezone);
  void stop(const std::string& ezone);
  const std::string& dir() const { return dir_; }

  std::unique_ptr<Node> bj, sh;

 private:
  const DrcBenchOptions& options_;
  std::string dir_, schema_file_;
  std::shared_ptr<meta::MemoryMetaStore> store_;
  TlsSettings tls_;  // options_.cluster_tls_dir's, loaded by setup()
  ZonePorts bj_ports_, sh_ports_;
  int starts_ = 0;
};

}  // namespace ezone::drc
