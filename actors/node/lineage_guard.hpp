// The cluster's record of which database is each ezone's, and the fence of
// a node whose database is not that one (storage/dal/timeline_check.hpp
// explains lineages).
//
// etcd holds /ezone/v1/lineage/<ezone> = {"lineage": L, "replaces": R,
// "db_file": ..., "since_wall_ms": ...}. A node with a DAL confirms its
// database's lineage once per process, after it registered:
//   - no record: this ezone's first database in this cluster; it is recorded;
//   - the record names this database: confirmed;
//   - the record names the lineage this database replaced (it was re-seeded
//     from a peer, `ezoned --reseed-from`): the record moves to this one
//     (compare-and-swap), confirmed;
//   - anything else: the database was lost or replaced (a new disk, a
//     deleted file, a restore), and it lacks what the cluster acknowledged
//     for this ezone. The node stays fenced: it refuses writes, so it never
//     acknowledges new ones on top of a database its peers refuse to pull
//     from. The operator re-seeds it.
// Until it is confirmed, the node is fenced as well.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

std::string lineage_record_key(const std::string& ezone);

class LineageGuard {
 public:
  // store, logger and metrics must outlive the guard.
  LineageGuard(meta::MetaStore& store, std::string ezone, std::string db_file, std::shared_ptr<spdlog::logger> logger,
               Metrics& metrics);
  // The database's lineage and the one it replaced (dal::Dal::lineage()),
  // once it is open; confirm() waits for it.
  void set_database(uint64_t lineage, uint64_t replaces);
  // Decides once (later calls return at once): ok when confirmed, or when
  // the record names another database (a decision too: confirmed() stays
  // false and says why; logged once); unavailable when etcd could not be
  // asked (call again).
  Status confirm();
  // Whether this node's database is the cluster's for its ezone; `why`
  // receives the reason when not.
  bool confirmed(std::string* why) const;

 private:
  Status decide(std::string reason_if_refused);

  meta::MetaStore& store_;
  std::string ezone_, db_file_, key_;
  std::atomic<uint64_t> lineage_{0}, replaces_{0};
  std::shared_ptr<spdlog::logger> logger_;
  Gauge& gauge_;
  std::atomic<bool> decided_{false};
  std::atomic<bool> confirmed_{false};
  mutable std::mutex mutex_;
  std::string refusal_;  // why not, once decided against
};

}  // namespace ezone
