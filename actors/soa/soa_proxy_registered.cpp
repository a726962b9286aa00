// The SOA proxy's instance sets: the file's instances, and the registered
// ones that SoaRegistry adds and removes (soa_proxy.hpp, "Registered
// instances").
#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "actors/soa/soa_proxy_state.hpp"

namespace ezone {

using soa_internal::wall_ms;

Service* SoaProxy::State::find_service(const std::string& name) const {
  for (const auto& s : services)
    if (s->config.name == name) return s.get();
  return nullptr;
}

Gauge* SoaProxy::State::up_gauge(Service& service, const std::string& zone) {
  Gauge*& g = service.up_gauges[zone];
  if (!g)
    g = &metrics->gauge("ezone_soa_instances_up", "Instances up, by service and the ezone they run in",
                        {{"service", service.config.name}, {"instance_ezone", zone}});
  return g;
}

std::shared_ptr<Instance> SoaProxy::State::make_instance(Service& service, const std::string& zone,
                                                         const HostPort& address, bool registered) {
  auto in = std::make_shared<Instance>();
  in->ezone = zone;
  in->address = address;
  in->registered = registered;
  in->up_gauge = up_gauge(service, zone);
  in->since_wall_ms = wall_ms();
  in->up_gauge->add(1);
  return in;
}

void SoaProxy::State::retire(Instance& instance) {
  std::lock_guard<std::mutex> lock(transitions);
  instance.removed = true;
  if (instance.up.exchange(false)) instance.up_gauge->add(-1);
}

Status SoaProxy::add_registered(const SoaRegistration& r) {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.registry_mutex);
  return st.add_registered_locked(r);
}

Status SoaProxy::State::add_registered_locked(const SoaRegistration& r) {
  auto refuse = [&](std::string why) {
    registered_refused->inc();
    return Status(Errc::invalid_argument, "soa: registered instance " + r.address.to_string() + " of '" +
                                              r.service + "' in ezone " + r.ezone + " not served: " + why);
  };
  Service* service = find_service(r.service);
  if (!service) return refuse("no service '" + r.service + "' is declared in this node's [soa]");
  if (std::find(zones.begin(), zones.end(), r.ezone) == zones.end())
    return refuse("'" + r.ezone + "' is not an ezone of this cluster");
  auto current = std::atomic_load(&service->set);
  const bool local = r.ezone == ezone;
  const auto& list = local ? current->local : current->peers;
  size_t registered_here = 0;
  for (const auto& in : list) {
    if (in->ezone != r.ezone) continue;
    if (in->address == r.address) return Status::ok();  // served already
    registered_here += in->registered ? 1 : 0;
  }
  if (registered_here >= static_cast<size_t>(settings.registered_per_zone_max))
    return refuse(std::to_string(registered_here) + " are registered there already (registered_per_zone_max)");
  auto next = std::make_shared<InstanceSet>(*current);
  auto in = make_instance(*service, r.ezone, r.address, true);
  (local ? next->local : next->peers).push_back(in);
  std::atomic_store(&service->set, std::shared_ptr<const InstanceSet>(std::move(next)));
  if (logger)
    logger->info("event=soa_instance_registered ezone={} service={} instance_ezone={} instance={}", ezone, r.service,
                 r.ezone, r.address.to_string());
  // Probe it now rather than at the next round: it starts up, on trust.
  io->run_after(0, 0, [weak = weak_from_this(), service, in] {
    auto alive = weak.lock();
    if (alive && !alive->stopped.load()) alive->probe(*service, in);
  });
  return Status::ok();
}

bool SoaProxy::remove_registered(const SoaRegistration& r) {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.registry_mutex);
  return st.remove_registered_locked(r);
}

bool SoaProxy::State::remove_registered_locked(const SoaRegistration& r) {
  Service* service = find_service(r.service);
  if (!service) return false;
  auto current = std::atomic_load(&service->set);
  auto next = std::make_shared<InstanceSet>(*current);
  auto& list = r.ezone == ezone ? next->local : next->peers;
  auto it = std::find_if(list.begin(), list.end(), [&](const std::shared_ptr<Instance>& in) {
    return in->registered && in->ezone == r.ezone && in->address == r.address;
  });
  if (it == list.end()) return false;
  std::shared_ptr<Instance> gone = *it;
  list.erase(it);
  std::atomic_store(&service->set, std::shared_ptr<const InstanceSet>(std::move(next)));
  retire(*gone);
  if (logger)
    logger->info("event=soa_instance_deregistered ezone={} service={} instance_ezone={} instance={}", ezone,
                 r.service, r.ezone, r.address.to_string());
  return true;
}

size_t SoaProxy::set_registered(const std::vector<SoaRegistration>& all) {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.registry_mutex);
  std::set<SoaRegistration> wanted(all.begin(), all.end());
  for (const auto& service : st.services) {
    auto current = std::atomic_load(&service->set);
    for (const auto* list : {&current->local, &current->peers})
      for (const auto& in : *list) {
        SoaRegistration r{service->config.name, in->ezone, in->address};
        if (in->registered && !wanted.count(r)) st.remove_registered_locked(r);
      }
  }
  size_t refused = 0;
  for (const auto& r : wanted) refused += st.add_registered_locked(r).is_ok() ? 0 : 1;
  return refused;
}

bool SoaProxy::serves(const std::string& service) const { return state_->find_service(service) != nullptr; }

const SoaSettings& SoaProxy::settings() const { return state_->settings; }

}  // namespace ezone
