#include "actors/node/lineage_guard.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"


namespace ezone {

namespace {

using nlohmann::json;

// The lineage a record names; 0 for a record this build cannot read.
uint64_t recorded_lineage(const std::string& value) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("lineage") || !j["lineage"].is_number_unsigned()) return 0;
  return j["lineage"].get<uint64_t>();
}

}  // namespace

std::string lineage_record_key(const std::string& ezone) { return "/ezone/v1/lineage/" + ezone; }

LineageGuard::LineageGuard(meta::MetaStore& store, std::string ezone, std::string db_file,
                           std::shared_ptr<spdlog::logger> logger, Metrics& metrics)
    : store_(store),
      ezone_(std::move(ezone)),
      db_file_(std::move(db_file)),
      key_(lineage_record_key(ezone_)),
      logger_(std::move(logger)),
      gauge_(metrics.gauge("ezone_dal_lineage_confirmed",
                           "1 once etcd confirmed that this node's database is its ezone's (lineage_guard.hpp); "
                           "0 while it is fenced for not being so")) {}

void LineageGuard::set_database(uint64_t lineage, uint64_t replaces) {
  replaces_ = replaces;
  lineage_ = lineage;
}

Status LineageGuard::confirm() {
  if (decided_.load()) return Status::ok();
  const uint64_t lineage = lineage_.load(), replaces = replaces_.load();
  if (lineage == 0) return Status(Errc::unavailable, "the database is not open yet");
  auto read = store_.range(key_);
  if (!read) return Status(Errc::unavailable, "reading " + key_ + ": " + read.status().message());
  const bool absent = read->kvs.empty();
  const uint64_t recorded = absent ? 0 : recorded_lineage(read->kvs[0].value);
  if (!absent && recorded == lineage) return decide("");
  const bool replacing = !absent && replaces != 0 && recorded == replaces;
  if (!absent && !replacing) {
    return decide("fenced: this database (" + db_file_ + ", lineage " + std::to_string(lineage) +
                  ") is not the one the cluster knows for ezone " + ezone_ + " (lineage " + std::to_string(recorded) +
                  ", in etcd at " + key_ + "): it was lost or replaced, and lacks what was acknowledged there. Fix: "
                  "stop this node and re-seed it from a peer (`ezoned --config <its config> --reseed-from <peer>`); "
                  "if no peer holds this ezone's data (a cluster started afresh), delete " + key_ + " in etcd");
  }
  meta::TxnRequest cas;
  cas.compares.push_back({key_, meta::Compare::Target::mod_revision, absent ? 0 : read->kvs[0].mod_revision, ""});
  cas.success.push_back({meta::Op::Kind::put, key_,
                         json{{"lineage", lineage}, {"replaces", replaces}, {"db_file", db_file_},
                              {"since_wall_ms", SystemClock::instance().wall_ms()}}
                             .dump(),
                         0});
  auto put = store_.txn(cas);
  if (!put) return Status(Errc::unavailable, "writing " + key_ + ": " + put.status().message());
  if (!put->succeeded) return Status(Errc::unavailable, key_ + " changed while it was written; reading it again");
  logger_->info("event=dal_lineage_recorded ezone={} lineage={} replaces={}", ezone_, lineage, replacing ? replaces : 0);
  return decide("");
}

Status LineageGuard::decide(std::string reason_if_refused) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refusal_ = std::move(reason_if_refused);
    confirmed_ = refusal_.empty();
  }
  decided_ = true;
  gauge_.set(confirmed_ ? 1 : 0);
  if (!confirmed_) logger_->error("event=dal_lineage_refused ezone={} detail=\"{}\"", ezone_, refusal_);
  return Status::ok();
}

bool LineageGuard::confirmed(std::string* why) const {
  if (confirmed_.load()) return true;
  if (why) {
    std::lock_guard<std::mutex> lock(mutex_);
    *why = decided_.load() ? refusal_ : "fenced: etcd has not confirmed yet that this database is ezone " + ezone_ + "'s";
  }
  return false;
}

}  // namespace ezone
