#include "tests/integration/local_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/shared_token.hpp"
#include "storage/net/http_client.hpp"
#include "tests/support/ports.hpp"

namespace ezone::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : text.substr(text.size() - bytes);
}

}  // namespace

Result<std::unique_ptr<LocalCluster>> LocalCluster::start(LocalClusterOptions options) {
  if (options.bin_dir.empty()) options.bin_dir = EZONE_TEST_BIN_DIR;
  std::unique_ptr<LocalCluster> c(new LocalCluster(std::move(options)));
  char tmpl[] = "/tmp/ezone-cluster-XXXXXX";
  if (!::mkdtemp(tmpl)) return Status(Errc::io_error, "mkdtemp failed");
  c->dir_ = tmpl;
  if (const std::string& d = c->options_.tls_dir; !d.empty()) {
    if (c->options_.netns) return Status(Errc::invalid_argument, "tls_dir: the test certificates name 127.0.0.1 only");
    const bool certs = c->options_.tls_client_certs;
    auto tls = net::TlsContext::client({certs ? d + "/client.crt" : "", certs ? d + "/client.key" : "", d + "/ca.crt"});
    if (!tls) return tls.status();
    c->admin_tls_ = *tls;
  }
  if (c->options_.netns)
    if (Status s = c->start_netns(); !s) return s;
  if (Status s = c->start_etcd(); !s) return s;
  if (Status s = c->write_configs(); !s) return s;
  for (const auto& ezone : c->options_.ezones)
    if (Status s = c->start_zone(ezone); !s) return s;
  for (const auto& ezone : c->options_.ezones)
    if (Status s = c->wait_ready(ezone, c->options_.ready_timeout_ms); !s) return s;
  return c;
}

LocalCluster::~LocalCluster() {
  for (auto& [ezone, zone] : zones_)
    if (zone.process) zone.process->terminate(3000);
  etcd_.reset();
  etcd_cluster_.reset();
  netns_.reset();  // after the processes in it; returns this thread to its namespace
  if (!dir_.empty() && !std::getenv("EZONE_KEEP_TEST_DIRS"))
    std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string LocalCluster::etcd_site(size_t member) const {
  return member < options_.ezones.size() ? options_.ezones[member] : "witness" + std::to_string(member);
}

Status LocalCluster::start_netns() {
  if (options_.etcd_members < options_.ezones.size())
    return Status(Errc::invalid_argument, "netns needs an etcd member per zone");
  NetnsTopology::sweep_stale();
  std::vector<std::string> members;
  for (size_t i = 0; i < options_.etcd_members; ++i) members.push_back(etcd_site(i));
  members.push_back("client");
  auto topology = NetnsTopology::create(members);
  if (!topology) return topology.status();
  netns_ = std::move(*topology);
  return netns_->join("client");
}

Status LocalCluster::start_etcd() {
  EtcdOptions etcd_options;
  if (options_.etcd_tls) {
    if (options_.tls_dir.empty()) return Status(Errc::invalid_argument, "etcd_tls needs tls_dir");
    etcd_options.tls_dir = options_.tls_dir;
    etcd_options.tls_client_certs = true;
  }
  for (size_t i = 0; netns_ && i < options_.etcd_members; ++i)
    etcd_options.placements.push_back({netns_->address(etcd_site(i)), netns_->ns_path(etcd_site(i))});
  if (options_.etcd_members > 1) {
    auto etcd = EtcdCluster::start(options_.etcd_members, etcd_options);
    if (!etcd) return etcd.status();
    etcd_cluster_ = std::move(*etcd);
  } else {
    auto etcd = EtcdProcess::start(etcd_options);
    if (!etcd) return etcd.status();
    etcd_ = std::move(*etcd);
  }
  return Status::ok();
}

Status LocalCluster::write_configs() {
  for (const auto& ezone : options_.ezones) {
    Zone& z = zones_[ezone];
    const std::string host = netns_ ? netns_->address(ezone) : "127.0.0.1";
    z.addr = {{host, free_loopback_port()}, {host, free_loopback_port()}, {host, free_loopback_port()}};
    z.config = dir_ + "/" + ezone + ".toml";
    z.log = dir_ + "/" + ezone + ".log";
  }
  for (const auto& [name, token] : {std::pair<std::string, std::string>{"admin_token", options_.admin_token},
                                     {"service_token", options_.service_token}}) {
    if (token.empty()) continue;
    std::ofstream out(dir_ + "/" + name);
    out << token << "\n";
    if (!out) return Status(Errc::io_error, "cannot write " + dir_ + "/" + name);
  }
  int minter = 1;
  size_t zone_index = 0;
  for (const auto& ezone : options_.ezones) {
    const Zone& z = zones_[ezone];
    std::ostringstream toml;
    toml << "[node]\nezone = \"" << ezone << "\"\nhttp = \"" << z.addr.http.to_string()
         << "\"\nadmin = \"" << z.addr.admin.to_string() << "\"\ncluster = \""
         << z.addr.cluster.to_string() << "\"\ndata_dir = \"" << dir_ << "/data-" << ezone
         << "\"\nlog_level = \"" << options_.log_level << "\"\n";
    for (const auto& [peer, pz] : zones_) {
      if (peer == ezone) continue;
      toml << "\n[[peers]]\nezone = \"" << peer << "\"\ncluster = \"" << pz.addr.cluster.to_string()
           << "\"\nadmin = \"" << pz.addr.admin.to_string() << "\"\nhttp = \""
           << pz.addr.http.to_string() << "\"\n";
    }
    toml << "\n[etcd]\nendpoints = [" << etcd_endpoints_toml(zone_index++) << "]\n";
    if (options_.etcd_tls) {
      const std::string& d = options_.tls_dir;
      toml << "ca_file = \"" << d << "/ca.crt\"\ncert_file = \"" << d << "/node.crt\"\nkey_file = \"" << d
           << "/node.key\"\n";
    }
    toml << "\n[timeouts]\n" << options_.timeouts_toml << "\n";
    if (!options_.gzs_toml.empty())
      toml << "\n[gzs]\n" << options_.gzs_toml << "\nminter_id = " << minter++ << "\n";
    toml << "\n" << options_.extra_toml << "\n";
    if (!options_.admin_toml.empty() || !options_.admin_token.empty())
      toml << "\n[admin]\n" << options_.admin_toml << "\n";
    if (!options_.admin_token.empty()) toml << "token_file = \"" << dir_ << "/admin_token\"\n";
    if (!options_.service_token.empty()) toml << "\n[router]\nservice_token_file = \"" << dir_ << "/service_token\"\n";
    if (!options_.tls_dir.empty()) {
      const std::string& d = options_.tls_dir;
      toml << "\n[tls]\ncert_file = \"" << d << "/node.crt\"\nkey_file = \"" << d << "/node.key\"\nca_file = \"" << d
           << "/ca.crt\"\nclient_certs = " << (options_.tls_client_certs ? "true" : "false")
           << "\nhttp = " << (options_.tls_http ? "true" : "false")
           << "\ncluster = " << (options_.tls_cluster ? "true" : "false") << "\n";
    }
    std::ofstream out(z.config);
    out << toml.str();
    if (!out) return Status(Errc::io_error, "cannot write " + z.config);
  }
  return Status::ok();
}

std::string LocalCluster::etcd_endpoints_toml(size_t zone_index) const {
  // Written as etcd's own URLs when it speaks TLS.
  const std::string scheme = options_.etcd_tls ? "https://" : "";
  auto quoted = [&](const HostPort& endpoint) { return "\"" + scheme + endpoint.to_string() + "\""; };
  if (etcd_) return quoted(etcd_->endpoint());
  // The zone's own member first, as in a real IDC; the others to fail over to.
  std::vector<HostPort> all = etcd_cluster_->endpoints();
  std::string out = quoted(all.at(zone_index % all.size()));
  for (size_t i = 0; i < all.size(); ++i)
    if (i != zone_index % all.size()) out += ", " + quoted(all[i]);
  return out;
}

Status LocalCluster::start_zone(const std::string& ezone, std::vector<std::pair<std::string, std::string>> env) {
  Zone& z = zones_.at(ezone);
  if (z.process) z.process->kill9();
  ChildOptions o;
  o.env = std::move(env);
  o.argv = {options_.bin_dir + "/ezoned", "--config", z.config};
  o.log_path = z.log;
  if (netns_) o.netns = netns_->ns_path(ezone);
  auto child = ChildProcess::start(o);
  if (!child) return child.status();
  z.process = std::move(*child);
  return Status::ok();
}

Status LocalCluster::wait_ready(const std::string& ezone, int64_t timeout_ms) {
  Zone& z = zones_.at(ezone);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = net::http_request(z.addr.admin, "GET", "/healthz", "", "", 500, admin_tls_);
    if (r && r->status == 200) return Status::ok();
    if (!z.process->running())
      return Status(Errc::unavailable, ezone + ": ezoned exited: " + log_tail(ezone));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status(Errc::timeout, ezone + ": not ready in time: " + log_tail(ezone));
}

std::string LocalCluster::log_tail(const std::string& ezone, size_t bytes) const {
  return tail(read_file(zones_.at(ezone).log), bytes);
}

Status LocalCluster::rotate_admin_token(const std::string& text, const std::string& client_token, bool signal) {
  if (options_.admin_token.empty()) return Status(Errc::invalid_argument, "the cluster has no admin token file");
  const std::string path = dir_ + "/admin_token", temporary = path + ".new";
  {
    std::ofstream out(temporary);
    out << text;
    if (!out) return Status(Errc::io_error, "cannot write " + temporary);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) return Status(Errc::io_error, "cannot rename " + temporary);
  options_.admin_token = client_token;
  if (!signal) return Status::ok();
  for (const auto& ezone : options_.ezones)
    if (zones_.at(ezone).process && zones_.at(ezone).process->running()) ::kill(zones_.at(ezone).process->pid(), SIGHUP);
  return Status::ok();
}

size_t LocalCluster::reloads_logged(const std::string& ezone) const {
  const std::string log = read_file(zones_.at(ezone).log);
  size_t n = 0;
  for (size_t at = log.find("event=tokens_reloaded"); at != std::string::npos; at = log.find("event=tokens_reloaded", at + 1))
    ++n;
  return n;
}

Result<net::HttpResponse> LocalCluster::admin_request(const std::string& ezone, const std::string& method,
                                                      const std::string& target, const std::string& body,
                                                      int64_t timeout_ms) const {
  net::HttpRequest req{method, target, body, body.empty() ? "" : "application/json", {}};
  net::add_bearer_token(req, options_.admin_token);
  return net::HttpConnection(zones_.at(ezone).addr.admin, admin_tls_).request(req, timeout_ms);
}

Result<nlohmann::json> LocalCluster::status(const std::string& ezone, int64_t timeout_ms) const {
  auto r = admin_request(ezone, "GET", "/admin/v1/cluster", "", timeout_ms);
  if (!r) return r.status();
  auto doc = nlohmann::json::parse(r->body, nullptr, false);
  if (doc.is_discarded()) return Status(Errc::parse_error, "not JSON: " + r->body);
  return doc;
}

std::pair<int, std::string> LocalCluster::run_binary(const std::string& name, const std::vector<std::string>& args,
                                                     int64_t wait_ms,
                                                     std::vector<std::pair<std::string, std::string>> env) const {
  static int counter = 0;
  std::string out_path = dir_ + "/" + name + "-" + std::to_string(++counter) + ".out";
  ChildOptions o;
  o.argv = {options_.bin_dir + "/" + name};
  o.env = std::move(env);
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.log_path = out_path;
  auto child = ChildProcess::start(o);
  if (!child) return {-1, child.status().to_string()};
  auto code = (*child)->wait(wait_ms);
  return {code ? *code : -1, read_file(out_path)};
}

std::pair<int, std::string> LocalCluster::run_ezctl(const std::vector<std::string>& args, int64_t wait_ms,
                                                    const std::string& node_env) const {
  // Not the test runner's.
  auto env = tls_env();
  env.insert(env.end(), {{"EZCTL_NODE", node_env},
                         {kAdminTokenEnv, options_.admin_token},
                         {kServiceTokenEnv, options_.service_token}});
  return run_binary("ezctl", args, wait_ms, std::move(env));
}

std::vector<std::pair<std::string, std::string>> LocalCluster::tls_env() const {
  const std::string& d = options_.tls_dir;
  const bool certs = !d.empty() && options_.tls_client_certs;
  return {{"EZONE_TLS_CA_FILE", d.empty() ? "" : d + "/ca.crt"},
          {"EZONE_TLS_CERT_FILE", certs ? d + "/client.crt" : ""},
          {"EZONE_TLS_KEY_FILE", certs ? d + "/client.key" : ""}};
}

std::pair<int, std::string> LocalCluster::run_ezctl_env(const std::vector<std::string>& args,
                                                        std::vector<std::pair<std::string, std::string>> env,
                                                        int64_t wait_ms) const {
  return run_binary("ezctl", args, wait_ms, std::move(env));
}

std::pair<int, std::string> LocalCluster::run_ezoned(const std::vector<std::string>& args, int64_t wait_ms) const {
  return run_binary("ezoned", args, wait_ms, {});
}

std::pair<int, std::string> LocalCluster::ezctl(const std::string& ezone, std::vector<std::string> args,
                                               int64_t wait_ms) const {
  args.insert(args.begin(), {"--node", zones_.at(ezone).addr.admin.to_string()});
  return run_ezctl(args, wait_ms);
}

Result<nlohmann::json> LocalCluster::ezctl_status(const std::string& ezone) const {
  auto [code, out] = run_ezctl({"--node", zones_.at(ezone).addr.admin.to_string(), "status", "--json"});
  if (code != 0) return Status(Errc::unavailable, "ezctl exited " + std::to_string(code) + ": " + out);
  auto doc = nlohmann::json::parse(out, nullptr, false);
  if (doc.is_discarded()) return Status(Errc::parse_error, "ezctl printed no JSON: " + out);
  return doc;
}

nlohmann::json LocalCluster::peer_entry(const nlohmann::json& status, const std::string& peer) {
  if (!status.contains("peers")) return {};
  for (const auto& p : status["peers"])
    if (p.value("ezone", "") == peer) return p;
  return {};
}

}  // namespace ezone::test
