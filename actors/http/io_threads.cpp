#include "actors/http/io_threads.hpp"

#include <pthread.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "actors/http/io_threads_impl.hpp"
#include "core/assert.hpp"

namespace ezone {
namespace {

// Which pool and lane the current thread runs: lets a handler find its own
// lane without being told, so request paths stay on one thread.
thread_local const IoThreads::Impl* tl_pool = nullptr;
thread_local IoLane* tl_lane = nullptr;
thread_local int tl_lane_index = -1;

void name_thread(const std::string& name, int index) {
  // Linux limits thread names to 15 bytes.
  std::string full = (name + "/" + std::to_string(index)).substr(0, 15);
  pthread_setname_np(pthread_self(), full.c_str());
}

}  // namespace

void IoLane::watch(std::weak_ptr<Deadline> d) {
  watched.push_back(std::move(d));
  if (!sweeping) arm_sweep();
}

void IoLane::arm_sweep() {
  sweeping = true;
  sweep_timer.expires_after(std::chrono::milliseconds(kDeadlineTickMs));
  sweep_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    sweep();
    // An idle lane stops ticking until something is watched again.
    if (watched.empty())
      sweeping = false;
    else
      arm_sweep();
  });
}

void IoLane::sweep() {
  int64_t now = steady_now_ms();
  // Indexes, not iterators: on_deadline may watch more (push_back).
  for (size_t i = 0; i < watched.size();) {
    std::shared_ptr<Deadline> d = watched[i].lock();
    if (!d) {
      watched[i] = std::move(watched.back());
      watched.pop_back();
      continue;
    }
    ++i;
    if (d->deadline_ms_ != 0 && now >= d->deadline_ms_) {
      d->deadline_ms_ = 0;
      d->on_deadline();
    }
  }
}

IoLane* IoThreads::Impl::current() const { return tl_pool == this ? tl_lane : nullptr; }

IoLane& IoThreads::Impl::current_or_next() {
  IoLane* lane = current();
  return lane ? *lane : next_lane();
}

IoThreads::IoThreads(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::shared_ptr<IoThreads> IoThreads::start(int threads, const std::string& name) {
  EZONE_ASSERT(threads >= 1, "IoThreads needs at least one thread");
  auto impl = std::make_unique<Impl>();
  for (int i = 0; i < threads; ++i) impl->lanes.push_back(std::make_unique<IoLane>());
  const Impl* pool = impl.get();
  for (int i = 0; i < threads; ++i) {
    IoLane* lane = impl->lanes[static_cast<size_t>(i)].get();
    lane->thread = std::thread([pool, lane, i, name] {
      tl_pool = pool;
      tl_lane = lane;
      tl_lane_index = i;
      name_thread(name, i);
      lane->io.run();
    });
  }
  return std::shared_ptr<IoThreads>(new IoThreads(std::move(impl)));
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::stop() {
  if (impl_->stopped.exchange(true)) return;
  EZONE_ASSERT(impl_->current() == nullptr, "IoThreads::stop called from its own lane");
  for (auto& lane : impl_->lanes) lane->io.stop();
  for (auto& lane : impl_->lanes)
    if (lane->thread.joinable()) lane->thread.join();
}

bool IoThreads::stopped() const { return impl_->stopped.load(); }

int IoThreads::lanes() const { return static_cast<int>(impl_->lanes.size()); }

int IoThreads::current_lane() const { return tl_pool == impl_.get() ? tl_lane_index : -1; }

void IoThreads::run_after(int lane, int64_t delay_ms, std::function<void()> fn) {
  EZONE_ASSERT(lane >= 0 && lane < lanes(), "run_after: no lane " + std::to_string(lane));
  IoLane& target = *impl_->lanes[static_cast<size_t>(lane)];
  if (delay_ms <= 0) {
    boost::asio::post(target.io, std::move(fn));
    return;
  }
  // The timer is created and armed on its own lane, so a lane's timers are
  // only ever touched by that lane's thread.
  auto arm = [&io = target.io, delay_ms, fn = std::move(fn)]() mutable {
    auto timer = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(delay_ms));
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  };
  if (impl_->current() == &target)
    arm();
  else
    boost::asio::post(target.io, std::move(arm));
}

}  // namespace ezone
