#include "tools/ezctl/drill_load.hpp"

#include <chrono>

namespace ezctl {

namespace loadgen = ezone::loadgen;
using ezone::Errc;
using ezone::Result;
using ezone::Status;

LoadRun::LoadRun(loadgen::Options options, drill::AckLog& log) : options_(std::move(options)) {
  hooks_.on_call = [&log](const loadgen::CallEvent& e) { log.record(e); };
  hooks_.before_verify = [this](const std::vector<loadgen::AckedOrder>&) {
    std::unique_lock<std::mutex> lock(mutex_);
    load_done_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(900), [this] { return release_; });
  };
  thread_ = std::thread([this] {
    auto r = loadgen::run_loadgen(options_, hooks_);
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = std::move(r);
    load_done_ = finished_ = true;
    cv_.notify_all();
  });
}

LoadRun::~LoadRun() {
  release();
  if (thread_.joinable()) thread_.join();
}

bool LoadRun::wait_load_done(int64_t bound_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, std::chrono::milliseconds(bound_ms), [this] { return load_done_; });
}

bool LoadRun::finished() {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

void LoadRun::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_ = true;
  cv_.notify_all();
}

Result<loadgen::RunResult> LoadRun::join() {
  release();
  if (thread_.joinable()) thread_.join();
  return result_ ? std::move(*result_) : Result<loadgen::RunResult>(Status(Errc::internal, "the load did not run"));
}

}  // namespace ezctl
