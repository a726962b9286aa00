#include "tools/loadgen/verifier.hpp"

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "storage/net/http_client.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;
constexpr int64_t kReplicationPollMs = 200;

// One round of /admin/v1/drc: the lag, or why it could not be read.
std::string replication_round(const std::vector<HostPort>& admins, const std::string& admin_token,
                              int64_t timeout_ms, const net::TlsContextPtr& tls) {
  net::HttpRequest request{"GET", "/admin/v1/drc", "", "", {}};
  net::add_bearer_token(request, admin_token);
  std::vector<DrcView> views;
  for (const HostPort& a : admins) {
    auto resp = net::HttpConnection(a, tls).request(request, timeout_ms);
    if (!resp) return "cannot read " + a.to_string() + "/admin/v1/drc: " + resp.status().message();
    if (resp->status != 200)
      return a.to_string() + "/admin/v1/drc answered " + std::to_string(resp->status) + ": " +
             resp->body.substr(0, 200);
    auto view = parse_drc_json(resp->body, a.to_string());
    if (!view) return view.status().message();
    views.push_back(std::move(*view));
  }
  return replication_lag(views);
}

std::string select_body(const std::vector<AckedOrder>& acked, size_t begin, size_t end) {
  std::string sql = "SELECT id, shard, user_id, merchant_id, state, amount_cents FROM orders WHERE id IN (";
  json params = json::array();
  for (size_t i = begin; i < end; ++i) {
    sql += (i == begin ? "?" : ",?") + std::to_string(i - begin + 1);
    params.push_back(acked[i].id);
  }
  sql += ")";
  return json{{"statements", json::array({json{{"sql", sql}, {"params", params}}})}}.dump();
}

}  // namespace

SiteRows read_site(const HostPort& node, const std::vector<AckedOrder>& acked, size_t batch,
                   const std::string& service_token, int64_t timeout_ms, const net::TlsContextPtr& tls) {
  SiteRows site{node.to_string(), {}, ""};
  net::HttpConnection conn(node, tls);
  for (size_t begin = 0; begin < acked.size(); begin += batch) {
    const size_t end = std::min(acked.size(), begin + batch);
    net::HttpRequest req{"POST", "/dal/v1/tx", select_body(acked, begin, end), "application/json", {}};
    net::add_service_token(req, service_token);
    auto resp = conn.request(req, timeout_ms);
    if (!resp || resp->status != 200) {
      site.error = "/dal/v1/tx: " + (resp ? "answered " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200)
                                          : resp.status().message());
      return site;
    }
    auto rows = parse_order_rows(resp->body);
    if (!rows) {
      site.error = rows.status().message();
      return site;
    }
    site.rows.insert(site.rows.end(), rows->begin(), rows->end());
  }
  return site;
}

ReplicationWait wait_for_replication(const std::vector<HostPort>& admins, const std::string& admin_token,
                                     double wait_s, int64_t timeout_ms, const net::TlsContextPtr& tls) {
  ReplicationWait out;
  if (admins.empty()) {
    out.lag = "no --admins given: replication not awaited";
    return out;
  }
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  while (true) {
    out.lag = replication_round(admins, admin_token, timeout_ms, tls);
    out.waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (out.lag.empty()) {
      out.caught_up = true;
      return out;
    }
    if (std::chrono::steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(kReplicationPollMs));
  }
}

VerifyResult verify_sites(const std::vector<HostPort>& nodes, const std::vector<AckedOrder>& acked, size_t batch,
                          const std::string& service_token, int64_t timeout_ms, const net::TlsContextPtr& tls) {
  std::vector<SiteRows> sites;
  for (const HostPort& n : nodes) sites.push_back(read_site(n, acked, batch, service_token, timeout_ms, tls));
  return diff_orders(acked, sites);
}

Status save_acked(const std::string& path, const std::vector<AckedOrder>& acked) {
  std::ofstream out(path);
  out << "id,shard,user_id,merchant_id,amount_cents,state,maybe_state\n";
  for (const AckedOrder& o : acked) {
    out << o.id << ',' << o.shard << ',' << o.user_id << ',' << o.merchant_id << ',' << o.amount_cents << ','
        << o.state << ',' << o.maybe_state << '\n';
  }
  out.close();
  if (!out) return Status(Errc::io_error, "cannot write " + path);
  return Status::ok();
}

}  // namespace ezone::loadgen
