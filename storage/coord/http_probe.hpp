// HttpSiteProbe: the SiteProbe of real nodes. It asks each ezone's node
// through its admin API (GET /admin/v1/coord/site, served by
// actors/node/admin_coord.cpp) over a keep-alive connection, finding the
// admin address in the node's registration in etcd.
//
// Thread-safety: every method may be called from any thread (one request at
// a time per probe).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/shared_token.hpp"
#include "storage/coord/journal.hpp"
#include "storage/coord/site_probe.hpp"
#include "storage/net/http_client.hpp"

namespace ezone::coord {

// What a node reports at GET /admin/v1/coord/site.
struct SiteReport {
  std::string ezone;
  Epoch acknowledged_epoch = 0;
  uint64_t outbox_head = 0;
  uint64_t lineage = 0;  // of this site's outbox (storage/dal/timeline_check.hpp); 0: not reported
  std::map<std::string, uint64_t> applied;          // origin -> last applied sequence
  std::map<std::string, uint64_t> applied_lineage;  // origin -> the lineage of that cursor (0: unknown)
};
std::string encode_site_report_json(const SiteReport& report);
// parse_error naming the field for anything malformed.
Result<SiteReport> decode_site_report_json(const std::string& text);

class HttpSiteProbe final : public SiteProbe {
 public:
  // journal must outlive the probe. timeout_ms bounds each request.
  // admin_token (core/shared_token.hpp) goes with every request when it is
  // not empty: the cluster's nodes share one. A reload of its file applies
  // from the next request. With tls (a client context) the nodes' admin
  // APIs are called over TLS.
  HttpSiteProbe(WorkflowJournal& journal, int64_t timeout_ms, LiveToken admin_token = {},
                net::TlsContextPtr tls = nullptr);
  ~HttpSiteProbe() override;

  Result<Epoch> acknowledged_epoch(const std::string& ezone) override;
  Result<uint64_t> outbox_head(const std::string& ezone) override;
  Result<uint64_t> applied(const std::string& ezone, const std::string& origin) override;

 private:
  Result<SiteReport> report(const std::string& ezone);
  Result<HostPort> admin_of(const std::string& ezone);
  // The lineage of ezone's outbox as last reported (asked when unknown).
  Result<uint64_t> lineage_of(const std::string& ezone);

  WorkflowJournal& journal_;
  const int64_t timeout_ms_;
  const LiveToken admin_token_;
  const net::TlsContextPtr tls_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<net::HttpConnection>> connections_;  // by ezone
  std::map<std::string, uint64_t> lineages_;  // by ezone: its outbox's lineage in its last report
};

}  // namespace ezone::coord
