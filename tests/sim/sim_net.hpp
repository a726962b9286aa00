// The simulator's network and timers: one queue of messages and timers
// ordered by (delivery time, send order), and a directed link between every
// pair of nodes that drops, delays (so reorders) and partitions.
//
// Nodes are numbered: sites 0..n-1, then the metadata store, then the
// coordinator. A message is a closure run at its delivery time on the
// simulation thread; whether the receiver is still the process that was
// addressed is the closure's business (sites carry an incarnation).
//
// Everything random comes from the world's one seeded RNG, in a fixed call
// order, so a seed replays exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace ezone::sim {

using Rng = std::mt19937_64;

inline double uniform01(Rng& rng) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
inline int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {  // [lo, hi]
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
inline bool chance(Rng& rng, double p) { return uniform01(rng) < p; }

struct Link {
  bool up = true;           // false: partitioned in this direction
  double drop = 0;          // probability that one message is lost
  int64_t delay_min_ms = 1;
  int64_t delay_max_ms = 20;  // must stay well under the sites' retry intervals
};

class Net {
 public:
  Net(Rng& rng, int nodes) : rng_(rng), nodes_(nodes), links_(static_cast<size_t>(nodes * nodes)) {}

  int nodes() const { return nodes_; }
  Link& link(int from, int to) { return links_[static_cast<size_t>(from * nodes_ + to)]; }
  bool up(int from, int to) { return from == to || link(from, to).up; }

  // Sends fn from `from` to `to`. Returns false when the message is lost at
  // once (link down or dropped); otherwise fn runs at the delivery time if
  // the link is still up then (a partition also cuts messages in flight).
  bool send(int64_t now, int from, int to, std::function<void()> fn) {
    Link& l = link(from, to);
    if (!l.up || chance(rng_, l.drop)) return false;
    const int64_t at = now + uniform_int(rng_, l.delay_min_ms, l.delay_max_ms);
    queue_.emplace(std::make_tuple(at, seq_++), Msg{from, to, std::move(fn)});
    return true;
  }
  // A synchronous call from a to b and back (a probe): both directions up
  // and neither message dropped.
  bool call(int a, int b) {
    if (!up(a, b) || !up(b, a)) return false;
    if (chance(rng_, link(a, b).drop)) return false;
    return !chance(rng_, link(b, a).drop);
  }
  // A timer: fn runs at `at` whatever the links.
  void at(int64_t at, std::function<void()> fn) { queue_.emplace(std::make_tuple(at, seq_++), Msg{-1, -1, std::move(fn)}); }

  // Runs every message and timer due by `now`, in order; ones they add that
  // are due too run in the same call.
  void run_due(int64_t now) {
    while (!queue_.empty() && std::get<0>(queue_.begin()->first) <= now) {
      Msg m = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      if (m.from >= 0 && !up(m.from, m.to)) continue;
      m.fn();
    }
  }

  void heal_all() {
    for (Link& l : links_) l.up = true;
  }

 private:
  struct Msg {
    int from, to;
    std::function<void()> fn;
  };
  Rng& rng_;
  int nodes_;
  std::vector<Link> links_;
  std::map<std::tuple<int64_t, uint64_t>, Msg> queue_;
  uint64_t seq_ = 0;
};

}  // namespace ezone::sim
