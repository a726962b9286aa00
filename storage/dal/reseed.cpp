#include "storage/dal/reseed.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "storage/dal/sqlite_db.hpp"
#include "storage/dal/timeline_check.hpp"

namespace ezone::dal {

namespace {

int64_t int_at(const std::vector<Row>& rows, size_t col = 0) {
  return rows.empty() ? 0 : std::get<int64_t>(rows[0][col]);
}

Status check_copy(Db& db, const std::string& path) {
  auto check = db.query("PRAGMA quick_check", {}, 10);
  if (!check) return Status(Errc::invalid_argument, "the copy at " + path + " cannot be checked: " + check.status().message());
  const std::string* verdict =
      check.value().empty() ? nullptr : std::get_if<std::string>(&check.value()[0][0]);
  if (!verdict || *verdict != "ok") {
    return Status(Errc::invalid_argument, "the copy at " + path + " is damaged (SQLite quick_check: " +
                                              (verdict ? *verdict : std::string("no answer")) + ")");
  }
  auto tables = db.query(
      "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN "
      "('_ezone_meta', '_ezone_outbox', '_ezone_cursor', '_ezone_feed', '_ezone_parked')");
  if (!tables) return tables.status();
  if (int_at(tables.value()) != 5) {
    return Status(Errc::invalid_argument, "the copy at " + path + " is not an ezone DAL database of this format");
  }
  return Status::ok();
}

// Step 2 of reseed.hpp, inside the open transaction.
Status rewrite(Db& db, const std::string& ezone, const std::string& source, SeedReport& r) {
  auto lineage = db.query("SELECT value FROM _ezone_meta WHERE name='lineage'");
  if (!lineage) return lineage.status();
  r.source_lineage = static_cast<uint64_t>(int_at(lineage.value()));
  auto head = db.query("SELECT seq, hlc, wall_ms FROM _ezone_outbox ORDER BY seq DESC LIMIT 1");
  if (!head) return head.status();
  r.source_head = static_cast<uint64_t>(int_at(head.value(), 0));
  const int64_t head_hlc = int_at(head.value(), 1), head_wall_ms = int_at(head.value(), 2);
  auto old = db.query("SELECT seq, hlc, lineage FROM _ezone_cursor WHERE origin=?1", {Value(ezone)});
  if (!old) return old.status();
  r.replaced_seq = static_cast<uint64_t>(int_at(old.value(), 0));
  r.replaced_hlc = static_cast<HlcTime>(int_at(old.value(), 1));
  r.replaces = static_cast<uint64_t>(int_at(old.value(), 2));
  auto parked = db.run("DELETE FROM _ezone_parked WHERE origin=?1", {Value(ezone)});
  if (!parked) return parked.status();
  r.parked_dropped = static_cast<uint64_t>(parked.value());
  // The outbox starts again at seq 1, so the seqs where the source's
  // columns changed mean nothing here (Dal::open records them afresh).
  for (const char* sql : {"DELETE FROM _ezone_outbox", "DELETE FROM _ezone_feed", "DROP TABLE IF EXISTS _ezone_schemas"}) {
    if (Status s = db.exec(sql); !s) return s;
  }
  auto cursors = db.run("DELETE FROM _ezone_cursor WHERE origin=?1", {Value(ezone)});
  if (!cursors) return cursors.status();
  auto mine = db.run(
      "INSERT OR REPLACE INTO _ezone_cursor(origin, seq, hlc, wall_ms, applied_wall_ms, lineage) "
      "VALUES(?1, ?2, ?3, ?4, ?4, ?5)",
      {Value(source), Value(static_cast<int64_t>(r.source_head)), Value(head_hlc), Value(head_wall_ms),
       Value(static_cast<int64_t>(r.source_lineage))});
  if (!mine) return mine.status();
  r.lineage = make_lineage();
  // The versions this ezone wrote before are in the copy, and the cursor
  // that bounded their HLCs is gone with the rest: Dal::open lifts the
  // clock above this floor too, or the ezone's next write to such a row
  // could carry a smaller HLC than the version it replaces.
  auto meta = db.run(
      "INSERT OR REPLACE INTO _ezone_meta(name, value) VALUES('lineage', ?1), ('replaces', ?2), "
      "('hlc_floor', MAX(?3, COALESCE((SELECT value FROM _ezone_meta WHERE name='hlc_floor'), 0)))",
      {Value(static_cast<int64_t>(r.lineage)), Value(static_cast<int64_t>(r.replaces)),
       Value(static_cast<int64_t>(r.replaced_hlc))});
  return meta.status();
}

// fsync of a file, or of a directory's entries.
Status sync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return Status(Errc::io_error, "cannot open " + path + " to sync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status(Errc::io_error, "cannot sync " + path);
  return Status::ok();
}

}  // namespace

Result<SeedReport> adopt_seed(const std::string& copy_path, const std::string& ezone, const std::string& source) {
  if (source == ezone) {
    return Status(Errc::invalid_argument, "a re-seed takes a peer's copy; '" + source + "' is this ezone itself");
  }
  auto db = Db::open(copy_path, false);
  if (!db) return db.status();
  if (Status s = check_copy(*db.value(), copy_path); !s) return s;
  SeedReport report;
  report.source = source;
  Db& d = *db.value();
  // The copy is nobody's database until install_seed() syncs and renames
  // it, and a failed adoption discards it: no journal, no syncs here (they
  // took a second for a 170 MB copy, most of the adoption).
  Status s = d.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN IMMEDIATE");
  if (s) s = rewrite(d, ezone, source, report);
  if (s) s = d.exec("COMMIT");
  if (!s) {
    return Status(s.code(), "turning the copy of '" + source + "' into ezone '" + ezone + "''s database: " + s.message() +
                                " (the copy is discarded)");
  }
  return report;
}

Result<uint64_t> count_unreplicated(const std::string& db_path, const SeedReport& seed) {
  std::error_code ec;
  if (!std::filesystem::exists(db_path, ec)) return uint64_t{0};
  auto db = Db::open(db_path, true);
  if (!db) return db.status();
  auto n = db.value()->query("SELECT COUNT(*) FROM _ezone_outbox WHERE hlc > ?1",
                             {Value(static_cast<int64_t>(seed.replaced_hlc))});
  if (!n) {
    return Status(n.status().code(), "reading the outbox of the database being replaced (" + db_path +
                                         "): " + n.status().message());
  }
  return static_cast<uint64_t>(int_at(n.value()));
}

std::vector<std::string> seed_shortfalls(const SeedReport& seed, const std::vector<PeerCursor>& others) {
  std::vector<std::string> out;
  for (const PeerCursor& p : others) {
    if (!p.error.empty()) {
      out.push_back("'" + p.ezone + "' could not be asked how much of this ezone it applied (" + p.error + ")");
    } else if (p.lineage != 0 && p.lineage != seed.replaces) {
      // The new outbox names seed.replaces as the one it replaces; a peer
      // whose cursor is of another lineage refuses it (check_timeline) and
      // stops replicating this ezone: it has not followed an earlier
      // re-seed, or the source has not.
      out.push_back("'" + p.ezone + "' applied this ezone's outbox of lineage " + std::to_string(p.lineage) + ", '" +
                    seed.source + "' " +
                    (seed.replaces == 0 ? std::string("none of it")
                                        : "that of lineage " + std::to_string(seed.replaces)) +
                    " (one of them has not followed an earlier re-seed): '" + p.ezone +
                    "' would refuse the new outbox and stop replicating this ezone (wait until both have applied "
                    "the same lineage, GET /admin/v1/drc, or re-seed '" + p.ezone + "' from '" + seed.source +
                    "' as well)");
    } else if (seed.replaces != 0 && p.lineage == seed.replaces && p.seq > seed.replaced_seq) {
      out.push_back("'" + p.ezone + "' applied this ezone's old outbox up to seq " + std::to_string(p.seq) + ", '" +
                    seed.source + "' only up to " + std::to_string(seed.replaced_seq) + ": seed from '" + p.ezone +
                    "', or '" + p.ezone + "' keeps " + std::to_string(p.seq - seed.replaced_seq) +
                    " changes that no other site gets");
    } else if (seed.replaced_seq > 0 && ((seed.replaces != 0 && p.lineage == seed.replaces) || p.lineage == 0) &&
               p.seq < seed.replaced_seq) {
      // The re-seeded outbox starts again at seq 1: the entries between
      // were only in the old one, and nobody re-ships another site's.
      out.push_back("'" + p.ezone + "' applied this ezone's old outbox only up to seq " + std::to_string(p.seq) +
                    ", '" + seed.source + "' up to " + std::to_string(seed.replaced_seq) + ": '" + p.ezone +
                    "' would never get the " + std::to_string(seed.replaced_seq - p.seq) +
                    " changes between, which only the lost outbox held (re-seed '" + p.ezone + "' from '" +
                    seed.source + "' as well, or accept that it differs on those rows)");
    }
  }
  return out;
}

Result<std::string> install_seed(const std::string& copy_path, const std::string& db_path, int64_t wall_ms) {
  namespace fs = std::filesystem;
  // The copy's bytes are on disk before its name is: a machine crash then
  // leaves the old database or the whole new one, never a torn new one.
  if (Status s = sync_path(copy_path, false); !s) return s;
  std::error_code ec;
  std::string saved;
  if (fs::exists(db_path, ec)) {
    saved = db_path + ".replaced-" + std::to_string(wall_ms);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string from = db_path + suffix;
      if (!fs::exists(from, ec)) continue;
      fs::rename(from, saved + suffix, ec);
      if (ec) return Status(Errc::io_error, "cannot move " + from + " aside to " + saved + suffix + ": " + ec.message());
    }
  }
  fs::rename(copy_path, db_path, ec);
  if (ec) return Status(Errc::io_error, "cannot rename " + copy_path + " to " + db_path + ": " + ec.message());
  const fs::path dir = fs::path(db_path).parent_path();
  if (Status s = sync_path(dir.empty() ? "." : dir.string(), true); !s) return s;
  return saved;
}

}  // namespace ezone::dal
