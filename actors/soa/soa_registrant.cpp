#include "actors/soa/soa_registrant.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/shared_token.hpp"

namespace ezone {
namespace {

const std::string kBase = "/admin/v1/soa/instances";

std::string why(const Result<net::HttpResponse>& r) {
  if (!r.ok()) return r.status().message();
  auto doc = nlohmann::json::parse(r->body, nullptr, false);
  std::string text = doc.is_object() && doc.contains("error") && doc["error"].is_string()
                         ? doc["error"].get<std::string>()
                         : r->body.substr(0, 200);
  return std::to_string(r->status) + " " + text;
}

}  // namespace

SoaRegistrant::SoaRegistrant(SoaRegistrantOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

SoaRegistrant::~SoaRegistrant() { stop(); }

void SoaRegistrant::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SoaRegistrantState SoaRegistrant::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void SoaRegistrant::note(const std::string& line) {
  if (line == last_line_) return;
  last_line_ = line;
  if (options_.on_change) options_.on_change(line);
}

bool SoaRegistrant::sleep_ms(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

void SoaRegistrant::run() {
  int64_t wait_ms = 0;  // before the next renewal
  for (;;) {
    int64_t lease = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
      lease = state_.lease;
    }
    if (lease == 0) {
      if (register_once()) wait_ms = keepalive_ms_;
      else if (!sleep_ms(options_.retry_ms)) break;
      continue;
    }
    if (!sleep_ms(wait_ms)) break;
    // A failed renewal is tried again sooner; a lost lease is registered
    // again at once (the loop sees lease 0).
    wait_ms = renew_once() ? keepalive_ms_ : std::min(options_.retry_ms, keepalive_ms_);
  }
  deregister();
}

std::string SoaRegistrant::admin_token() {
  if (options_.admin_token_file.empty()) return options_.admin_token;
  auto read = read_token_file(options_.admin_token_file, "admin token");
  if (read) file_token_ = read->sent();
  else note("cannot read the admin token file (" + read.status().message() + "); sending the last token read");
  return file_token_;
}

Result<net::HttpResponse> SoaRegistrant::call(const std::string& method, const std::string& target,
                                              const std::string& body) {
  net::HttpRequest request{method, target, body, body.empty() ? "" : "application/json", {}};
  net::add_bearer_token(request, admin_token());
  return net::HttpConnection(options_.node, options_.tls).request(request, options_.request_timeout_ms);
}

bool SoaRegistrant::register_once() {
  nlohmann::json body{{"service", options_.service}, {"address", options_.address}, {"ttl_s", options_.ttl_s}};
  auto r = call("POST", kBase, body.dump());
  auto doc = r.ok() ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  if (!r.ok() || r->status != 201 || !doc.is_object() || !doc["lease"].is_number_integer()) {
    std::string error = why(r);
    // A 401 with a token file may pass once the file has the node's token.
    const bool refused = r.ok() && (r->status == 400 || (r->status == 401 && options_.admin_token_file.empty()));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      state_.last_error = error;
      state_.refused = refused;
      if (refused) stopping_ = true;  // it cannot succeed: end the thread
    }
    note((refused ? "refused: cannot register " : "cannot register ") + options_.address + " (" +
         options_.service + ") with " + options_.node.to_string() + ": " + error);
    return false;
  }
  const int64_t lease = doc["lease"].get<int64_t>();
  keepalive_ms_ = std::max<int64_t>(100, doc.value("keepalive_ms", int64_t{1000}));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.registered = true;
    state_.lease = lease;
    state_.last_error.clear();
    ++state_.registrations;
  }
  note("registered " + options_.address + " (" + options_.service + ") with " + options_.node.to_string() +
       " under lease " + std::to_string(lease));
  return true;
}

bool SoaRegistrant::renew_once() {
  int64_t lease = state().lease;
  auto r = call("POST", kBase + "/" + std::to_string(lease) + "/keepalive", "");
  if (r.ok() && r->status == 200) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.registered = true;
    state_.last_error.clear();
    return true;
  }
  const bool gone = r.ok() && r->status == 404;
  std::string error = why(r);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.last_error = error;
    if (gone) {
      state_.registered = false;
      state_.lease = 0;
    }
  }
  note(gone ? "lease " + std::to_string(lease) + " is gone; registering again"
            : "cannot renew lease " + std::to_string(lease) + ": " + error);
  return false;
}

void SoaRegistrant::deregister() {
  const int64_t lease = state().lease;
  if (lease == 0) return;
  auto r = call("DELETE", kBase + "/" + std::to_string(lease), "");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.registered = false;
    state_.lease = 0;
  }
  note(r.ok() && (r->status == 200 || r->status == 404)
           ? "deregistered " + options_.address + " (" + options_.service + ")"
           : "could not deregister (" + why(r) + "); lease " + std::to_string(lease) + " expires by itself");
}

}  // namespace ezone
