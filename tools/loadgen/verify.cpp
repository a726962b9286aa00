#include "tools/loadgen/verify.hpp"

#include <algorithm>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;

// Checks one site's row against what the run was told.
void check_row(const AckedOrder& o, const OrderRow& row, const std::string& site, std::vector<Problem>* out) {
  auto decoded = decode_order_id(static_cast<uint64_t>(o.id));
  const int64_t id_shard = decoded ? static_cast<int64_t>(decoded->shard) : -1;
  if (row.shard != static_cast<int64_t>(o.shard) || row.shard != id_shard) {
    out->push_back({ProblemKind::wrong_shard, o.id, site,
                    "row shard " + std::to_string(row.shard) + ", created in shard " + std::to_string(o.shard) +
                        ", id encodes shard " + std::to_string(id_shard)});
  }
  if (row.state != o.state && (o.maybe_state.empty() || row.state != o.maybe_state)) {
    out->push_back({ProblemKind::wrong_state, o.id, site,
                    "state '" + row.state + "', last acknowledged '" + o.state + "'" +
                        (o.maybe_state.empty() ? "" : " (or '" + o.maybe_state + "')")});
  }
  if (row.user_id != o.user_id || row.merchant_id != o.merchant_id || row.amount_cents != o.amount_cents) {
    out->push_back({ProblemKind::wrong_fields, o.id, site,
                    row.to_string() + "; sent user " + std::to_string(o.user_id) + " merchant " +
                        std::to_string(o.merchant_id) + " amount " + std::to_string(o.amount_cents)});
  }
}

using SiteIndex = std::unordered_map<int64_t, std::vector<const OrderRow*>>;

SiteIndex index_rows(const SiteRows& site) {
  SiteIndex index;
  for (const OrderRow& r : site.rows) index[r.id].push_back(&r);
  return index;
}

Result<int64_t> int_at(const json& row, size_t i, const char* name) {
  if (i >= row.size() || !row[i].is_number_integer()) {
    return Status(Errc::parse_error, std::string("column ") + name + " is not an integer in " + row.dump());
  }
  return row[i].get<int64_t>();
}

}  // namespace

std::string OrderRow::to_string() const {
  return "{id " + std::to_string(id) + ", shard " + std::to_string(shard) + ", user " + std::to_string(user_id) +
         ", merchant " + std::to_string(merchant_id) + ", state " + state + ", amount " +
         std::to_string(amount_cents) + "}";
}

const char* problem_kind_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::unreadable: return "unreadable";
    case ProblemKind::lost: return "lost";
    case ProblemKind::duplicated: return "duplicated";
    case ProblemKind::wrong_shard: return "wrong_shard";
    case ProblemKind::wrong_state: return "wrong_state";
    case ProblemKind::wrong_fields: return "wrong_fields";
    case ProblemKind::differs: return "differs";
  }
  return "?";
}

std::map<std::string, size_t> VerifyResult::counts() const {
  std::map<std::string, size_t> out;
  for (const Problem& p : problems) ++out[problem_kind_name(p.kind)];
  return out;
}

VerifyResult diff_orders(const std::vector<AckedOrder>& acked, const std::vector<SiteRows>& sites) {
  VerifyResult result;
  result.orders = acked.size();
  result.sites = sites.size();
  std::vector<SiteIndex> indexes;
  for (const SiteRows& s : sites) {
    indexes.push_back(index_rows(s));
    if (!s.error.empty()) result.problems.push_back({ProblemKind::unreadable, 0, s.site, s.error});
  }
  std::vector<const AckedOrder*> sorted;
  for (const AckedOrder& o : acked) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->id < b->id; });
  for (const AckedOrder* o : sorted) {
    const OrderRow* first = nullptr;  // the first site's row, which the others must equal
    std::string first_site;
    for (size_t i = 0; i < sites.size(); ++i) {
      if (!sites[i].error.empty()) continue;
      auto it = indexes[i].find(o->id);
      if (it == indexes[i].end()) {
        result.problems.push_back({ProblemKind::lost, o->id, sites[i].site, "no row"});
        continue;
      }
      if (it->second.size() > 1) {
        result.problems.push_back(
            {ProblemKind::duplicated, o->id, sites[i].site, std::to_string(it->second.size()) + " rows"});
      }
      const OrderRow& row = *it->second.front();
      check_row(*o, row, sites[i].site, &result.problems);
      if (!first) {
        first = &row;
        first_site = sites[i].site;
      } else if (row != *first) {
        result.problems.push_back(
            {ProblemKind::differs, o->id, sites[i].site, row.to_string() + " vs " + first_site + " " + first->to_string()});
      }
    }
  }
  return result;
}

Result<std::vector<OrderRow>> parse_order_rows(const std::string& body) {
  const json doc = parse_json_or_discarded(body);
  if (doc.is_discarded() || !doc.is_object()) return Status(Errc::parse_error, "the DAL answer is not a JSON object");
  if (!doc.value("committed", false)) return Status(Errc::parse_error, "the DAL did not run the SELECT: " + body.substr(0, 200));
  const json* results = doc.contains("results") ? &doc["results"] : nullptr;
  if (!results || !results->is_array() || results->empty() || !(*results)[0].contains("rows") ||
      !(*results)[0]["rows"].is_array()) {
    return Status(Errc::parse_error, "the DAL answer has no results[0].rows");
  }
  std::vector<OrderRow> rows;
  for (const json& r : (*results)[0]["rows"]) {
    if (!r.is_array() || r.size() != 6 || !r[4].is_string()) {
      return Status(Errc::parse_error, "a row is not [id, shard, user_id, merchant_id, state, amount_cents]: " + r.dump());
    }
    OrderRow row;
    int64_t* ints[] = {&row.id, &row.shard, &row.user_id, &row.merchant_id};
    const char* names[] = {"id", "shard", "user_id", "merchant_id"};
    for (size_t i = 0; i < 4; ++i) {
      auto v = int_at(r, i, names[i]);
      if (!v) return v.status();
      *ints[i] = *v;
    }
    auto amount = int_at(r, 5, "amount_cents");
    if (!amount) return amount.status();
    row.amount_cents = *amount;
    row.state = r[4].get<std::string>();
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<DrcView> parse_drc_json(const std::string& body, const std::string& site) {
  const json doc = parse_json_or_discarded(body);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("outbox_head") || !doc["outbox_head"].is_number_integer() ||
      !doc.contains("peers") || !doc["peers"].is_array()) {
    return Status(Errc::parse_error, site + ": /admin/v1/drc lacks outbox_head or peers");
  }
  DrcView view{site, doc.value("ezone", ""), doc["outbox_head"].get<int64_t>(), {}, doc.value("lineage", uint64_t{0})};
  for (const json& p : doc["peers"]) {
    if (!p.is_object()) return Status(Errc::parse_error, site + ": a DRC peer is not an object");
    view.peers.push_back({p.value("origin", ""), p.value("cursor", int64_t{-1}), p.value("lag_rows", int64_t{-1}),
                          p.value("lineage", uint64_t{0})});
  }
  return view;
}

std::string replication_lag(const std::vector<DrcView>& views) {
  for (const DrcView& v : views) {
    for (const DrcView& other : views) {
      if (other.ezone == v.ezone) continue;
      auto it = std::find_if(v.peers.begin(), v.peers.end(), [&](const DrcPeer& p) { return p.origin == other.ezone; });
      if (it == v.peers.end()) return v.ezone + " (" + v.site + ") does not replicate from " + other.ezone;
    }
    for (const DrcPeer& p : v.peers) {
      if (p.lag_rows != 0) return v.ezone + " is " + std::to_string(p.lag_rows) + " rows behind " + p.origin;
      for (const DrcView& other : views) {
        if (other.ezone != p.origin) continue;
        if (p.cursor != other.outbox_head) {
          return v.ezone + " applied " + p.origin + " up to " + std::to_string(p.cursor) + ", its outbox head is " +
                 std::to_string(other.outbox_head);
        }
        if (other.outbox_head > 0 && p.lineage != 0 && other.lineage != 0 && p.lineage != other.lineage)
          return v.ezone + "'s cursor of " + p.origin + " is of a replaced outbox (lineage " +
                 std::to_string(p.lineage) + ", now " + std::to_string(other.lineage) + "): not pulled since its re-seed";
      }
    }
  }
  return "";
}

}  // namespace ezone::loadgen
