#include "actors/node/reseed.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/node/file_lock.hpp"
#include "core/clock.hpp"
#include "core/crc32c.hpp"
#include "storage/dal/snapshot_store.hpp"
#include "storage/net/http_client.hpp"

namespace ezone {

namespace {

using nlohmann::json;

constexpr int64_t kCallTimeoutMs = 30000;
constexpr int64_t kPollFirstMs = 10;  // a small database's copy is ready in milliseconds
constexpr int64_t kPollMaxMs = 200;
constexpr int kPieceAttempts = 3;

int64_t steady_ms() { return SystemClock::instance().now_ms(); }

struct Peer {
  std::string ezone;
  HostPort admin;
  std::string admin_token;  // this node's [admin] token: the cluster's nodes share one
  net::TlsContextPtr tls;   // [tls]'s client context; null: plain HTTP
  std::string where() const { return "'" + ezone + "' (admin " + admin.to_string() + ")"; }
  net::HttpRequest request(const std::string& method, const std::string& target) const {
    net::HttpRequest req{method, target, "", "", {}};
    net::add_bearer_token(req, admin_token);
    return req;
  }
};

Result<Peer> find_peer(const NodeConfig& config, const std::string& name) {
  std::string known;
  for (const PeerConfig& p : config.peers) {
    if (p.ezone == name) {
      if (p.admin.port == 0) {
        return Status(Errc::invalid_argument, config.source + ": peer '" + name + "' has no admin address; add it to " +
                                                  "its [[peers]] entry");
      }
      return Peer{p.ezone, p.admin, config.admin_api.token.sent(), config.tls.client};
    }
    known += (known.empty() ? "" : ", ") + p.ezone;
  }
  return Status(Errc::invalid_argument, "'" + name + "' is not a peer in " + config.source + " (peers: " + known + ")");
}

// One admin call; a non-2xx answer becomes an error carrying its text.
Result<json> call(const Peer& peer, const std::string& method, const std::string& target) {
  auto r = net::HttpConnection(peer.admin, peer.tls).request(peer.request(method, target), kCallTimeoutMs);
  if (!r) return Status(Errc::unavailable, "asking " + peer.where() + ": " + r.status().message());
  if (r->status == 401)
    return Status(Errc::unavailable, peer.where() + " refused this config's admin token (401): the re-seed sends "
                                                    "[admin] token, which must be the same at every node");
  json body = json::parse(r->body, nullptr, false);
  if (r->status / 100 != 2) {
    const std::string why = body.is_object() && body.contains("error") ? body["error"].dump() : r->body.substr(0, 200);
    return Status(r->status == 409 ? Errc::conflict : Errc::unavailable,
                  peer.where() + " answered " + std::to_string(r->status) + " to " + method + " " + target + ": " + why);
  }
  if (!body.is_object()) return Status(Errc::unavailable, peer.where() + " answered " + target + " with no JSON object");
  return body;
}

// A ready copy's description; parse_error when the peer's answer has the
// wrong shape (nlohmann's value() throws on a field of another type).
Result<dal::SnapshotInfo> ready_copy(const Peer& peer, const std::string& id, const json& info) {
  try {
    dal::SnapshotInfo out;
    out.id = id;
    out.state = "ready";
    out.bytes = info.value("bytes", uint64_t{0});
    out.crc32c = info.value("crc32c", uint32_t{0});
    out.ezone = info.value("ezone", "");
    out.lineage = info.value("lineage", uint64_t{0});
    return out;
  } catch (const json::exception& e) {
    return Status(Errc::parse_error, peer.where() + " described its copy in an unexpected shape: " + e.what());
  }
}

// Asks for a copy and waits until it is ready.
Result<dal::SnapshotInfo> make_copy(const Peer& peer, int64_t deadline_ms, const ReseedOptions& options) {
  auto made = call(peer, "POST", "/admin/v1/dal/snapshots");
  if (!made) return made.status();
  const json& id_field = (*made)["id"];
  if (!id_field.is_string() || id_field.get<std::string>().find_first_of("/?#% ") != std::string::npos) {
    return Status(Errc::parse_error, peer.where() + " answered its copy request without a usable id");
  }
  const std::string id = id_field.get<std::string>();
  if (options.progress) options.progress("asked " + peer.where() + " for a copy of its database (" + id + ")");
  for (int64_t wait_ms = kPollFirstMs; steady_ms() < deadline_ms; wait_ms = std::min(wait_ms * 2, kPollMaxMs)) {
    auto info = call(peer, "GET", "/admin/v1/dal/snapshots/" + id);
    if (!info) return info.status();
    const json& state_field = (*info)["state"];
    const std::string state = state_field.is_string() ? state_field.get<std::string>() : "";
    if (state == "failed") return Status(Errc::unavailable, peer.where() + " could not copy: " + (*info)["error"].dump());
    if (state == "ready") return ready_copy(peer, id, *info);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
  return Status(Errc::timeout, peer.where() + " did not finish its copy in time");
}

// Downloads the copy to `path`, checking its size and CRC-32C.
Status download(const Peer& peer, const dal::SnapshotInfo& info, const std::string& path, int64_t deadline_ms) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(Errc::io_error, "cannot write " + path);
  net::HttpConnection conn(peer.admin, peer.tls);
  uint64_t offset = 0;
  uint32_t crc = 0;
  while (offset < info.bytes) {
    const net::HttpRequest req =
        peer.request("GET", "/admin/v1/dal/snapshots/" + info.id + "/data?offset=" + std::to_string(offset));
    Result<net::HttpResponse> r = Status(Errc::unavailable, "not asked");
    for (int attempt = 0; attempt < kPieceAttempts && steady_ms() < deadline_ms; ++attempt) {
      r = conn.request(req, kCallTimeoutMs);
      if (r && r->status == 200 && !r->body.empty()) break;
    }
    if (!r) return Status(Errc::unavailable, "downloading from " + peer.where() + ": " + r.status().message());
    if (r->status != 200 || r->body.empty()) {
      return Status(Errc::unavailable, peer.where() + " answered " + std::to_string(r->status) + " for the copy at " +
                                           std::to_string(offset) + ": " + r->body.substr(0, 200));
    }
    out.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
    crc = crc32c(r->body, crc);
    offset += r->body.size();
  }
  out.flush();
  if (!out) return Status(Errc::io_error, "writing " + path + " failed");
  if (offset != info.bytes || crc != info.crc32c) {
    return Status(Errc::unavailable, "the copy from " + peer.where() + " arrived damaged (" + std::to_string(offset) +
                                         " bytes, CRC-32C " + std::to_string(crc) + "; expected " +
                                         std::to_string(info.bytes) + ", " + std::to_string(info.crc32c) + ")");
  }
  return Status::ok();
}

struct Locks {
  FileLock data_dir, db;
};

Result<Locks> lock_node(const NodeConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  const std::filesystem::path db_dir = std::filesystem::path(config.dal.db_file).parent_path();
  if (!db_dir.empty()) std::filesystem::create_directories(db_dir, ec);
  Locks locks;
  auto dir = FileLock::acquire(config.data_dir + "/LOCK", config.data_dir, config.source, "node.data_dir");
  if (!dir) return dir.status();
  locks.data_dir = std::move(*dir);
  auto db = FileLock::acquire(config.dal.db_file + ".lock", config.dal.db_file, config.source, "dal.db_file");
  if (!db) return db.status();
  locks.db = std::move(*db);
  return locks;
}

// How much of this ezone each peer other than the source applied (their
// GET /admin/v1/drc), for dal::seed_shortfalls.
std::vector<dal::PeerCursor> ask_other_peers(const NodeConfig& config, const std::string& source) {
  std::vector<dal::PeerCursor> out;
  for (const PeerConfig& p : config.peers) {
    if (p.ezone == source) continue;
    dal::PeerCursor c;
    c.ezone = p.ezone;
    const Peer peer{p.ezone, p.admin, config.admin_api.token.sent(), config.tls.client};
    auto drc = p.admin.port == 0 ? Result<json>(Status(Errc::invalid_argument, "no admin address in the config"))
                                 : call(peer, "GET", "/admin/v1/drc");
    if (!drc) {
      c.error = drc.status().message();
    } else {
      try {
        for (const json& origin : drc->value("peers", json::array())) {
          if (!origin.is_object() || origin.value("origin", "") != config.ezone) continue;
          c.seq = origin.value("cursor", uint64_t{0});
          c.lineage = origin.value("lineage", uint64_t{0});
        }
      } catch (const json::exception& e) {
        c.error = std::string("its /admin/v1/drc has an unexpected shape: ") + e.what();
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

// With three sites or more, the source must be the peer that applied the
// most of this ezone's old outbox (storage/dal/reseed.hpp).
Status check_source(const NodeConfig& config, const ReseedOptions& options, const dal::SeedReport& seed) {
  const std::vector<std::string> shortfalls = dal::seed_shortfalls(seed, ask_other_peers(config, options.peer));
  if (shortfalls.empty()) return Status::ok();
  std::string all;
  for (const std::string& s : shortfalls) {
    if (options.force && options.progress) options.progress("warning: " + s);
    all += (all.empty() ? "" : "; ") + s;
  }
  if (options.force) return Status::ok();
  return Status(Errc::conflict, "'" + options.peer + "' may not hold all that the other sites applied of this ezone: " +
                                    all + ". To go on anyway, add --force");
}

// Steps 3 and 4 of reseed.hpp, on the downloaded copy.
Result<dal::SeedReport> adopt_and_install(const NodeConfig& config, const ReseedOptions& options,
                                          const dal::SnapshotInfo& info, const std::string& copy) {
  auto seed = dal::adopt_seed(copy, config.ezone, options.peer);
  if (!seed) return seed.status();
  if (seed->source_lineage != info.lineage) {
    return Status(Errc::invalid_argument, "the copy's lineage (" + std::to_string(seed->source_lineage) +
                                              ") is not the one '" + options.peer + "' announced (" +
                                              std::to_string(info.lineage) + ")");
  }
  if (Status s = check_source(config, options, *seed); !s) return s;
  if (options.progress) options.progress("adopted; installing it at " + config.dal.db_file);
  auto unreplicated = dal::count_unreplicated(config.dal.db_file, *seed);
  if (!unreplicated) return unreplicated.status();
  seed->unreplicated = *unreplicated;
  if (seed->unreplicated > 0 && !options.force) {
    return Status(Errc::conflict,
                  "the database at " + config.dal.db_file + " holds " + std::to_string(seed->unreplicated) +
                      " outbox entries that '" + options.peer + "' never applied: no peer has those writes. "
                      "Re-seeding keeps that file (moved aside) but its writes reach nobody. To go on anyway, "
                      "add --force");
  }
  auto saved = dal::install_seed(copy, config.dal.db_file, SystemClock::instance().wall_ms());
  if (!saved) return saved.status();
  seed->saved_old = *saved;
  return seed;
}

}  // namespace

Result<dal::SeedReport> reseed_from_peer(const NodeConfig& config, const ReseedOptions& options) {
  if (!config.dal.enabled) return Status(Errc::invalid_argument, config.source + " has no [dal]: nothing to re-seed");
  auto peer = find_peer(config, options.peer);
  if (!peer) return peer.status();
  auto locks = lock_node(config);
  if (!locks) return locks.status();
  const int64_t deadline_ms = steady_ms() + options.timeout_ms;
  auto info = make_copy(*peer, deadline_ms, options);
  if (!info) return info.status();
  if (info->ezone != peer->ezone) {
    return Status(Errc::invalid_argument, peer->where() + " serves ezone '" + info->ezone + "', not '" + peer->ezone + "'");
  }
  const std::string copy = config.dal.db_file + ".seed";
  std::remove(copy.c_str());
  if (options.progress) options.progress("downloading " + std::to_string(info->bytes) + " bytes to " + copy);
  Status got = download(*peer, *info, copy, deadline_ms);
  call(*peer, "DELETE", "/admin/v1/dal/snapshots/" + info->id);  // best effort: it expires anyway
  if (got && options.progress) options.progress("downloaded; size and CRC-32C match; adopting it as ezone " + config.ezone);
  auto seed = got ? adopt_and_install(config, options, *info, copy) : Result<dal::SeedReport>(got);
  if (!seed) std::remove(copy.c_str());
  return seed;
}

}  // namespace ezone
