#include "actors/gzs/gzs.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/json.hpp"
#include "storage/lmdb/route_cache.hpp"
#include "storage/route/route_store.hpp"
#include "storage/route/route_watcher.hpp"
#include "zones/geo/geo_fences.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone {

using geo::ShardConfig;
using geo::ShardSpec;

namespace {

// Merchant updates are cluster-wide: the admin API writes them to etcd and
// every node applies them from its watch. Value: {"shard": S, "fence": F}.
constexpr const char* kMerchantPrefix = "/ezone/v1/merchants/";

Status gzs_error(const NodeConfig& c, const std::string& key, const Status& s) {
  return Status(s.code(), c.source + ": key '" + key + "': " + s.message());
}

// The table a fresh cluster starts from: the shard config's owners, and the
// router address of every ezone this node knows.
Result<RouteTable> initial_table(const NodeConfig& c, const ShardConfig& shards) {
  std::vector<ShardRoute> routes;
  for (const ShardSpec& s : shards.shards) routes.push_back({s.id, s.name, s.owner, ShardState::active});
  std::map<std::string, HostPort> sites{{c.ezone, c.http}};
  for (const PeerConfig& p : c.peers) {
    if (p.http.port == 0)
      return Status(Errc::invalid_argument, c.source + ": key 'peers': peer '" + p.ezone +
                                                "' has no http address. Fix: set its http so "
                                                "misrouted requests can be forwarded to it");
    sites[p.ezone] = p.http;
  }
  return RouteTable::create(1, std::move(routes), std::move(sites));
}

Result<MerchantRoute> decode_merchant(const meta::KeyValue& kv) {
  std::string id_text = kv.key.substr(std::string(kMerchantPrefix).size());
  auto id = parse_key_id(id_text, "merchant");
  if (!id) return id.status();
  auto doc = parse_json_or_discarded(kv.value);
  if (!doc.is_object() || !doc.contains("shard") || !doc["shard"].is_number_unsigned())
    return Status(Errc::parse_error, "merchant record " + kv.key + " is not {\"shard\": N, ...}");
  MerchantRoute route;
  route.merchant_id = *id;
  route.shard = doc["shard"].get<ShardId>();
  route.fence_id = doc.value("fence", kNoFence);
  return route;
}

}  // namespace

struct Gzs::Impl {
  NodeConfig config;
  meta::MetaStore* store = nullptr;
  Metrics* metrics = nullptr;
  std::shared_ptr<spdlog::logger> logger;
  GzsOptions options;
  std::shared_ptr<const geo::GeoFences> geo;  // null without [gzs] fences
  std::shared_ptr<const MerchantMap> merchants;  // atomic_load/atomic_store only
  RouteTableHolder routes;
  std::unique_ptr<RouteCache> cache;
  std::unique_ptr<OrderIdMinter> minter;
  std::optional<LmdbKv> minter_kv;       // holds the resume point
  std::atomic<int64_t> minter_saved_ms{-1};
  std::mutex minter_save;
  // Keeps the saved resume point ahead of the clock, so that minting on a
  // router I/O thread does not wait for LMDB's fsync (it still saves itself
  // if this thread ever falls behind).
  std::thread minter_saver;
  std::mutex minter_saver_mutex;
  std::condition_variable minter_saver_wake;
  bool minter_saver_stopping = false;
  std::unique_ptr<RouteStore> route_store;
  std::unique_ptr<RouteWatcher> route_watch;
  std::unique_ptr<meta::Watch> merchant_watch;
  std::mutex merchant_write;  // serialises copy-on-write merchant updates
  // The etcd revision of the record each merchant's route came from (under
  // merchant_write): this node applies its own updates at once, and the
  // watch later delivers them again, possibly after a newer one.
  std::unordered_map<uint64_t, int64_t> merchant_revisions;
  Counter* resolve_errors_no_fence = nullptr;
  Counter* resolve_errors_no_merchant = nullptr;
  Counter* resolve_errors_bad_order = nullptr;
  Counter* route_errors = nullptr;

  Status load_geo();
  Status load_routes();
  Status start_minter(const std::shared_ptr<LmdbEnv>& env);
  Status save_minter_point();
  void run_minter_saver();
  void stop_minter_saver();
  ~Impl() { stop_minter_saver(); }  // also when start fails half-way
  void install(std::shared_ptr<const RouteTable> table, const char* source);
  void apply_merchant(const meta::KeyValue& kv, bool removed);
  Status load_merchant_overrides();
  Result<Resolution> owner_of(ShardId shard, Resolution r) const;
};

Status Gzs::Impl::load_geo() {
  const GzsConfig& g = config.gzs;
  auto merchants_map = g.merchants_file.empty() ? Result<MerchantMap>(MerchantMap())
                                                : MerchantMap::load_csv(g.merchants_file);
  if (!merchants_map) return gzs_error(config, "gzs.merchants_file", merchants_map.status());
  std::atomic_store(&merchants, std::make_shared<const MerchantMap>(std::move(*merchants_map)));
  if (g.fences_dir.empty()) return Status::ok();
  auto loaded = geo::load_geo_fences(g.fences_dir, g.shards_file);
  if (!loaded) return gzs_error(config, "gzs.fences_dir", loaded.status());
  geo = std::move(*loaded);
  metrics->gauge("ezone_gzs_fences", "Geo-fences loaded").set(static_cast<int64_t>(geo->fences.size()));
  metrics->gauge("ezone_gzs_index_bytes", "Memory of the fence index").set(
      static_cast<int64_t>(geo->index.memory_bytes()));
  logger->info("event=gzs_fences_loaded ezone={} fences={} index_bytes={} build_ms={:.0f} report=\"{}\"",
               config.ezone, geo->fences.size(), geo->index.memory_bytes(), geo->index.stats().build_ms,
               geo->report.summary());
  return Status::ok();
}

void Gzs::Impl::install(std::shared_ptr<const RouteTable> table, const char* source) {
  Epoch epoch = table->epoch();
  if (!routes.install(table)) return;
  metrics->gauge("ezone_route_epoch", "Epoch of the route table this node serves").set(epoch);
  logger->info("event=route_table_installed ezone={} epoch={} source={}", config.ezone, epoch, source);
  if (cache) {
    Status saved = cache->save(*table);
    if (!saved && saved.code() != Errc::conflict) {
      route_errors->inc();
      logger->warn("event=route_cache_save_failed ezone={} epoch={} error=\"{}\"", config.ezone, epoch,
                   saved.to_string());
    }
  }
  if (options.on_epoch) options.on_epoch(epoch);
}

Status Gzs::Impl::load_routes() {
  auto env = LmdbEnv::open(LmdbOptions{config.data_dir + "/lmdb"});
  if (!env) return gzs_error(config, "node.data_dir", env.status());
  auto opened = RouteCache::open(*env);
  if (!opened) return gzs_error(config, "node.data_dir", opened.status());
  cache = std::move(*opened);
  if (Status s = start_minter(*env); !s) return s;
  if (auto cached = cache->load()) install(std::make_shared<const RouteTable>(std::move(*cached)), "lmdb");
  route_store = std::make_unique<RouteStore>(*store, metrics);
  Result<RouteTable> current = Status(Errc::not_found, "no shard config");
  if (geo || !config.gzs.shards_file.empty()) {
    // Without fences the shard config is still the cluster's first table.
    auto shards = geo ? Result<ShardConfig>(geo->shards) : geo::load_shard_config(config.gzs.shards_file);
    if (!shards) return gzs_error(config, "gzs.shards_file", shards.status());
    auto initial = initial_table(config, *shards);
    if (!initial) return initial.status();
    current = route_store->bootstrap(*initial);
  } else {
    current = route_store->load();
  }
  if (current) install(std::make_shared<const RouteTable>(std::move(*current)), "etcd");
  else logger->warn("event=route_table_unavailable ezone={} error=\"{}\"", config.ezone, current.status().to_string());
  RouteWatchCallbacks callbacks;
  callbacks.on_table = [this](std::shared_ptr<const RouteTable> t) { install(std::move(t), "watch"); };
  callbacks.on_status = [this](const Status& s) {
    if (!s) logger->warn("event=route_watch ezone={} status=\"{}\"", config.ezone, s.to_string());
  };
  auto watch = route_store->watch(RouteWatchOptions{routes.epoch()}, std::move(callbacks));
  if (!watch) return watch.status();
  route_watch = std::move(*watch);
  return Status::ok();
}

namespace {
constexpr const char* kMinterKey = "order_minter_resume_ms";
// How far ahead of the latest id the saved point is set: one fsync per this
// interval at most.
constexpr int64_t kMinterSaveAheadMs = 2000;
}  // namespace

Status Gzs::Impl::start_minter(const std::shared_ptr<LmdbEnv>& env) {
  auto kv = env->database("minter");
  if (!kv) return gzs_error(config, "node.data_dir", kv.status());
  minter_kv.emplace(std::move(*kv));
  OrderIdMinterOptions options;
  options.minter = static_cast<uint32_t>(config.gzs.minter_id);
  auto saved = minter_kv->get(kMinterKey);
  if (saved) {
    char* end = nullptr;
    const long long v = std::strtoll(saved->c_str(), &end, 10);
    if (*end != '\0' || v < -1) {
      return gzs_error(config, "node.data_dir", Status(Errc::parse_error, "the saved order-id resume point '" +
                                                                              *saved + "' is not a number"));
    }
    options.resume_after_ms = v;
  } else if (saved.status().code() != Errc::not_found) {
    return gzs_error(config, "node.data_dir", saved.status());
  }
  minter_saved_ms = options.resume_after_ms;
  auto created = OrderIdMinter::create(SystemClock::instance(), options);
  if (!created) return gzs_error(config, "gzs.minter_id", created.status());
  minter = std::move(*created);
  minter_saver = std::thread([this] { run_minter_saver(); });
  return Status::ok();
}

void Gzs::Impl::run_minter_saver() {
  std::unique_lock<std::mutex> lock(minter_saver_mutex);
  while (!minter_saver_wake.wait_for(lock, std::chrono::milliseconds(kMinterSaveAheadMs / 8),
                                     [this] { return minter_saver_stopping; })) {
    lock.unlock();
    // Renew once less than half of the lead is left.
    if (SystemClock::instance().wall_ms() + kMinterSaveAheadMs / 2 > minter_saved_ms.load()) {
      std::lock_guard<std::mutex> save(minter_save);
      if (Status s = save_minter_point(); !s)
        logger->error("event=order_minter_save_failed ezone={} error=\"{}\"", config.ezone, s.to_string());
    }
    lock.lock();
  }
}

void Gzs::Impl::stop_minter_saver() {
  {
    std::lock_guard<std::mutex> lock(minter_saver_mutex);
    minter_saver_stopping = true;
  }
  minter_saver_wake.notify_all();
  if (minter_saver.joinable()) minter_saver.join();
}

Status Gzs::Impl::save_minter_point() {
  const int64_t point = minter->resume_point_ms(kMinterSaveAheadMs);
  if (Status s = minter_kv->put(kMinterKey, std::to_string(point)); !s) return s;
  minter_saved_ms = point;
  return Status::ok();
}

void Gzs::Impl::apply_merchant(const meta::KeyValue& kv, bool removed) {
  std::lock_guard<std::mutex> lock(merchant_write);
  auto id = parse_key_id(kv.key.substr(std::string(kMerchantPrefix).size()), "merchant");
  if (id && kv.mod_revision > 0) {
    int64_t& seen = merchant_revisions[*id];
    if (kv.mod_revision <= seen) return;  // this record, or a newer one, is already in the map
    seen = kv.mod_revision;
  }
  auto current = std::atomic_load(&merchants);
  Result<MerchantMap> next = Status(Errc::internal, "unset");
  if (removed) {
    next = id ? current->without(*id) : Result<MerchantMap>(id.status());
  } else {
    auto route = decode_merchant(kv);
    next = route ? current->with_update(*route) : Result<MerchantMap>(route.status());
  }
  if (!next) {
    if (next.status().code() == Errc::not_found) return;  // removing one we never had
    route_errors->inc();
    logger->warn("event=merchant_update_rejected ezone={} key={} error=\"{}\"", config.ezone, kv.key,
                 next.status().to_string());
    return;
  }
  std::atomic_store(&merchants, std::make_shared<const MerchantMap>(std::move(*next)));
}

Status Gzs::Impl::load_merchant_overrides() {
  meta::WatchCallbacks callbacks;
  callbacks.on_events = [this](const std::vector<meta::WatchEvent>& events) {
    for (const auto& e : events) apply_merchant(e.kv, e.type == meta::WatchEvent::Type::del);
  };
  callbacks.on_status = [](const Status&) {};
  auto existing = store->range(kMerchantPrefix, true);
  if (!existing) {
    logger->warn("event=merchant_overrides_unavailable ezone={} error=\"{}\"", config.ezone,
                 existing.status().to_string());
    return Status::ok();  // the base map still answers; etcd may come back
  }
  for (const auto& kv : existing->kvs) apply_merchant(kv, false);
  auto watch = store->watch(kMerchantPrefix, true, existing->revision + 1, std::move(callbacks));
  if (watch) merchant_watch = std::move(*watch);
  return Status::ok();
}

Result<Resolution> Gzs::Impl::owner_of(ShardId shard, Resolution r) const {
  auto table = routes.current();
  if (!table) return Status(Errc::unavailable, "this node has no route table yet");
  const ShardRoute* route = table->find(shard);
  if (!route) return Status(Errc::invalid_argument, "shard " + std::to_string(shard) + " is not in the route table");
  const HostPort* site = table->site(route->owner);
  r.shard = shard;
  r.shard_name = route->name;
  r.owner = route->owner;
  if (site) r.owner_http = *site;
  r.write_forbidden = route->state == ShardState::write_forbidden;
  r.epoch = table->epoch();
  return r;
}


Result<std::unique_ptr<Gzs>> Gzs::start(const NodeConfig& config, meta::MetaStore& store, Metrics& metrics,
                                        std::shared_ptr<spdlog::logger> logger, GzsOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->store = &store;
  impl->metrics = &metrics;
  impl->logger = std::move(logger);
  impl->options = std::move(options);
  auto reason = [&](const char* r) {
    return &metrics.counter("ezone_gzs_resolve_errors_total", "Keys that could not be resolved", {{"reason", r}});
  };
  impl->resolve_errors_no_fence = reason("no_fence");
  impl->resolve_errors_no_merchant = reason("unknown_merchant");
  impl->resolve_errors_bad_order = reason("bad_order_id");
  impl->route_errors = &metrics.counter("ezone_gzs_errors_total", "Route cache and merchant update errors");
  if (Status s = impl->load_geo(); !s) return s;
  if (Status s = impl->load_routes(); !s) return s;
  if (Status s = impl->load_merchant_overrides(); !s) return s;
  return std::unique_ptr<Gzs>(new Gzs(std::move(impl)));
}

Gzs::Gzs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gzs::~Gzs() { stop(); }

void Gzs::stop() {
  impl_->stop_minter_saver();
  impl_->route_watch.reset();
  impl_->merchant_watch.reset();
}

Result<Resolution> Gzs::resolve(const ShardingKey& key) const {
  Resolution r;
  switch (key.kind) {
    case ShardingKey::Kind::geo: {
      auto hit = impl_->geo ? impl_->geo->locate(key.point.lat, key.point.lon) : std::nullopt;
      if (!hit) {
        impl_->resolve_errors_no_fence->inc();
        return Status(Errc::not_found, "no fence contains " + key.to_string());
      }
      r.fence_id = hit->fence->id;
      r.fence_name = hit->fence->name;
      return impl_->owner_of(hit->shard->id, std::move(r));
    }
    case ShardingKey::Kind::merchant: {
      auto m = std::atomic_load(&impl_->merchants)->find(key.id);
      if (!m) {
        impl_->resolve_errors_no_merchant->inc();
        std::string message = "unknown merchant " + std::to_string(key.id);
        // Apps often mint merchant ids as the takeout sample does (with
        // mint_order_id): such an id names its shard itself.
        if (auto minted = decode_recent_order_id(key.id, SystemClock::instance().wall_ms()))
          message += " (not in the merchant map; an id minted with mint_order_id routes as order=" +
                     std::to_string(key.id) + ", shard " + std::to_string(minted->shard) + ")";
        return Status(Errc::not_found, message);
      }
      r.fence_id = m->fence_id;
      const auto* fences = impl_->geo ? &impl_->geo->fences : nullptr;
      if (fences && m->fence_id >= 0 && static_cast<size_t>(m->fence_id) < fences->size())
        r.fence_name = fences->fence(static_cast<geo::FenceId>(m->fence_id)).name;
      return impl_->owner_of(m->shard, std::move(r));
    }
    case ShardingKey::Kind::order: {
      auto parts = decode_order_id(key.id);
      if (!parts) {
        impl_->resolve_errors_bad_order->inc();
        return Status(Errc::invalid_argument, "order id " + std::to_string(key.id) + ": " + parts.status().message());
      }
      return impl_->owner_of(parts->shard, std::move(r));
    }
    case ShardingKey::Kind::ezone: {
      auto table = impl_->routes.current();
      if (!table) return Status(Errc::unavailable, "this node has no route table yet");
      const HostPort* site = table->site(key.ezone);
      if (!site) return Status(Errc::not_found, "ezone '" + key.ezone + "' is not in the route table");
      r.has_shard = false;
      r.owner = key.ezone;
      r.owner_http = *site;
      r.epoch = table->epoch();
      return r;
    }
  }
  return Status(Errc::internal, "unknown key kind");
}

Resolver Gzs::resolver() const {
  return [this](const ShardingKey& key) { return resolve(key); };
}

std::shared_ptr<const RouteTable> Gzs::routes() const { return impl_->routes.current(); }
Epoch Gzs::epoch() const { return impl_->routes.epoch(); }
size_t Gzs::fence_count() const { return impl_->geo ? impl_->geo->fences.size() : 0; }
size_t Gzs::merchant_count() const { return std::atomic_load(&impl_->merchants)->size(); }

Result<uint64_t> Gzs::mint_order_id(ShardId shard) {
  Impl& im = *impl_;
  auto id = im.minter->mint(shard);
  if (!id) return id.status();
  auto parts = decode_order_id(*id);
  if (!parts) return parts.status();
  if (parts->time_ms > im.minter_saved_ms.load()) {
    std::lock_guard<std::mutex> lock(im.minter_save);
    if (parts->time_ms > im.minter_saved_ms.load()) {
      if (Status s = im.save_minter_point(); !s) {
        im.logger->error("event=order_minter_save_failed ezone={} error=\"{}\"", im.config.ezone, s.to_string());
        return Status(Errc::unavailable, "cannot save the order-id resume point: " + s.message());
      }
    }
  }
  return *id;
}

Result<RouteTable> Gzs::move(const std::vector<std::string>& shards, const std::string& to, Epoch expected_epoch) {
  auto stored = impl_->route_store->load();
  if (!stored) return stored.status();
  Epoch expected = expected_epoch > 0 ? expected_epoch : epoch();
  if (stored->epoch() != expected)
    return Status(Errc::conflict, "route table epoch moved: expected " + std::to_string(expected) + ", now " +
                                      std::to_string(stored->epoch()) + "; re-read (ezctl routes) and retry");
  std::vector<ShardId> ids;
  for (const auto& text : shards) {
    auto id = stored->find_shard(text);
    if (!id) return id.status();
    ids.push_back(*id);
  }
  auto next = move_shards(*stored, ids, to);
  if (!next) return next.status();
  auto committed = impl_->route_store->commit(expected, *next);
  if (committed) impl_->install(std::make_shared<const RouteTable>(*committed), "move");
  return committed;
}

Status Gzs::set_merchant(const MerchantRoute& route) {
  auto table = routes();
  if (table && !table->find(route.shard))
    return Status(Errc::invalid_argument, "shard " + std::to_string(route.shard) + " is not in the route table");
  nlohmann::json value{{"shard", route.shard}, {"fence", route.fence_id}};
  meta::KeyValue kv;
  kv.key = kMerchantPrefix + std::to_string(route.merchant_id);
  kv.value = dump_json(value);
  auto put = impl_->store->put(kv.key, kv.value);
  if (!put) return put.status();
  // Read your writes: this node routes the merchant at once, not when its
  // own watch brings the update back.
  kv.mod_revision = *put;
  impl_->apply_merchant(kv, false);
  return Status::ok();
}

}  // namespace ezone
