#include "tests/support/etcd_process.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "storage/net/http_client.hpp"
#include "tests/support/ports.hpp"

namespace ezone::test {
namespace {

// Ports can be taken by another process between choosing and binding them.
constexpr int kStartAttemptsMax = 4;
constexpr int64_t kHealthProbeTimeoutMs = 500;
constexpr auto kHealthPollInterval = std::chrono::milliseconds(50);

std::string url(const EtcdPlacement& placement, uint16_t port, bool tls = false) {
  return (tls ? "https://" : "http://") + placement.host + ":" + std::to_string(port);
}

EtcdPlacement placement_of(const EtcdOptions& options, size_t member) {
  return member < options.placements.size() ? options.placements[member] : EtcdPlacement{};
}

Result<std::string> make_temp_dir() {
  std::string pattern = "/tmp/ezone-etcd-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    return Status(Errc::io_error, "mkdtemp " + pattern + " failed");
  return pattern;
}

std::string unique_token() {
  static int counter = 0;
  return "ezone-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// Reads /health once; ok only for {"health":"true"}.
Status probe_health(const HostPort& endpoint, const net::TlsContextPtr& tls) {
  auto response = net::http_request(endpoint, "GET", "/health", "", "", kHealthProbeTimeoutMs, tls);
  if (!response.ok()) return response.status();
  if (response->status == 200 && response->body.find("\"true\"") != std::string::npos)
    return Status::ok();
  return Status(Errc::unavailable, "etcd " + endpoint.to_string() + " /health answered " +
                                       std::to_string(response->status) + ": " + response->body);
}

std::vector<std::string> etcd_args(const std::string& program, const EtcdOptions& options,
                                   const EtcdMemberSpec& spec, const std::string& data_dir) {
  const bool tls = !options.tls_dir.empty();
  std::vector<std::string> args = {
      program,
      "--name", spec.name,
      "--data-dir", data_dir,
      "--listen-client-urls", url(spec.placement, spec.client_port, tls),
      "--advertise-client-urls", url(spec.placement, spec.client_port, tls),
      "--listen-peer-urls", url(spec.placement, spec.peer_port),
      "--initial-advertise-peer-urls", url(spec.placement, spec.peer_port),
      "--initial-cluster", spec.initial_cluster,
      "--initial-cluster-token", spec.cluster_token,
      "--initial-cluster-state", "new",
      "--heartbeat-interval", std::to_string(options.heartbeat_ms),
      "--election-timeout", std::to_string(options.election_ms),
      "--logger", "zap",
  };
  if (tls) {
    const std::string& d = options.tls_dir;
    args.insert(args.end(), {"--cert-file", d + "/node.crt", "--key-file", d + "/node.key"});
    if (options.tls_client_certs)
      args.insert(args.end(), {"--trusted-ca-file", d + "/ca.crt", "--client-cert-auth"});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  return args;
}

EtcdMemberSpec single_member_spec(const EtcdOptions& options) {
  EtcdMemberSpec spec;
  spec.name = options.name;
  spec.placement = placement_of(options, 0);
  spec.client_port = free_loopback_port();
  spec.peer_port = free_loopback_port();
  spec.initial_cluster = spec.name + "=" + url(spec.placement, spec.peer_port);
  spec.cluster_token = unique_token();
  return spec;
}

}  // namespace

EtcdProcess::EtcdProcess(EtcdOptions options, EtcdMemberSpec spec, std::string root_dir)
    : options_(std::move(options)),
      spec_(std::move(spec)),
      root_dir_(std::move(root_dir)),
      data_dir_(root_dir_ + "/data"),
      log_path_(root_dir_ + "/etcd.log") {}

EtcdProcess::~EtcdProcess() {
  child_.reset();  // kills and reaps
  std::error_code ignored;
  std::filesystem::remove_all(root_dir_, ignored);
}

Result<std::unique_ptr<EtcdProcess>> EtcdProcess::launch(const EtcdOptions& options,
                                                         EtcdMemberSpec spec) {
  auto root = make_temp_dir();
  if (!root.ok()) return root.status();
  std::unique_ptr<EtcdProcess> etcd(new EtcdProcess(options, std::move(spec), *root));
  if (const std::string& d = options.tls_dir; !d.empty()) {
    const bool certs = options.tls_client_certs;
    auto tls = net::TlsContext::client({certs ? d + "/client.crt" : "", certs ? d + "/client.key" : "", d + "/ca.crt"});
    if (!tls.ok()) return tls.status();
    etcd->client_tls_ = *tls;
  }
  Status spawned = etcd->spawn();
  if (!spawned) return spawned;
  return etcd;
}

Status EtcdProcess::spawn() {
  auto program = find_program(options_.program);
  if (!program.ok() && options_.program == "etcd") program = find_program("/usr/bin/etcd");
  if (!program.ok()) return program.status();
  ChildOptions child;
  child.argv = etcd_args(*program, options_, spec_, data_dir_);
  child.log_path = log_path_;
  child.netns = spec_.placement.netns;
  auto started = ChildProcess::start(child);
  if (!started.ok()) return started.status();
  child_ = std::move(started).value();
  return Status::ok();
}

Result<std::unique_ptr<EtcdProcess>> EtcdProcess::start(const EtcdOptions& options) {
  Status last;
  for (int attempt = 0; attempt < kStartAttemptsMax; ++attempt) {
    auto etcd = launch(options, single_member_spec(options));
    if (!etcd.ok()) return etcd.status();
    last = (*etcd)->wait_healthy(options.start_timeout_ms);
    if (last) return etcd;
    // A member that exited early most likely lost its port: try new ports.
    if ((*etcd)->running()) break;
  }
  return last;
}

bool EtcdProcess::running() { return child_ && child_->running(); }

void EtcdProcess::stop(int64_t grace_ms) {
  if (child_) child_->terminate(grace_ms);
}

void EtcdProcess::kill9() {
  if (child_) child_->kill9();
}

bool EtcdProcess::sigstop() { return child_ && child_->sigstop(); }

bool EtcdProcess::sigcont() { return child_ && child_->sigcont(); }

Status EtcdProcess::restart(bool wait_until_healthy) {
  if (running()) stop();
  Status spawned = spawn();
  if (!spawned || !wait_until_healthy) return spawned;
  return wait_healthy(options_.start_timeout_ms);
}

Status EtcdProcess::wait_healthy(int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last(Errc::unavailable, "not probed yet");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running())
      return Status(Errc::unavailable, "etcd " + spec_.name + " exited (code " +
                                           std::to_string(child_ ? child_->exit_code().value_or(-1) : -1) +
                                           "); log tail:\n" + log_tail());
    last = probe_health(endpoint(), client_tls_);
    if (last) return last;
    std::this_thread::sleep_for(kHealthPollInterval);
  }
  return Status(Errc::unavailable, "etcd " + spec_.name + " at " + endpoint().to_string() +
                                       " not healthy after " + std::to_string(timeout_ms) +
                                       " ms (" + last.message() + "); log tail:\n" + log_tail());
}

std::string EtcdProcess::log_tail(size_t bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() <= bytes ? all : all.substr(all.size() - bytes);
}

Result<std::unique_ptr<EtcdCluster>> EtcdCluster::start(size_t members,
                                                        const EtcdOptions& options) {
  Status last;
  for (int attempt = 0; attempt < kStartAttemptsMax; ++attempt) {
    std::vector<EtcdMemberSpec> specs(members);
    std::string initial_cluster;
    std::string token = unique_token();
    for (size_t i = 0; i < members; ++i) {
      specs[i].name = options.name + "-" + std::to_string(i);
      specs[i].placement = placement_of(options, i);
      specs[i].client_port = free_loopback_port();
      specs[i].peer_port = free_loopback_port();
      specs[i].cluster_token = token;
      initial_cluster += (i ? "," : "") + specs[i].name + "=" + url(specs[i].placement, specs[i].peer_port);
    }
    std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
    for (auto& spec : specs) {
      spec.initial_cluster = initial_cluster;
      auto member = EtcdProcess::launch(options, spec);
      if (!member.ok()) return member.status();
      cluster->members_.push_back(std::move(member).value());
    }
    last = cluster->wait_healthy(options.start_timeout_ms);
    if (last) return cluster;
    bool all_running = true;
    for (auto& member : cluster->members_) all_running = all_running && member->running();
    if (all_running) break;
  }
  return last;
}

std::vector<HostPort> EtcdCluster::endpoints() const {
  std::vector<HostPort> out;
  for (const auto& member : members_) out.push_back(member->endpoint());
  return out;
}

Status EtcdCluster::wait_healthy(int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& member : members_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    Status healthy = member->wait_healthy(std::max<int64_t>(left.count(), 1));
    if (!healthy) return healthy;
  }
  return Status::ok();
}

}  // namespace ezone::test
