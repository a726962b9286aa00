// MembershipSlot: where the cluster actor publishes immutable snapshots of
// its MembershipView for readers on other threads (admin HTTP, Node API).
#pragma once

#include <memory>
#include <mutex>

#include "zones/membership.hpp"

namespace ezone {

class MembershipSlot {
 public:
  void publish(const MembershipView& view) {
    auto copy = std::make_shared<const MembershipView>(view);
    std::lock_guard<std::mutex> lock(mutex_);
    view_ = std::move(copy);
  }
  // Never null once spawn_cluster_actor() has returned; readers keep the
  // snapshot as long as they need it.
  std::shared_ptr<const MembershipView> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return view_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const MembershipView> view_;
};

}  // namespace ezone
