#include "zones/coord/workflow.hpp"
#include "core/json.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace ezone::coord {
namespace {

using json = nlohmann::json;

// A journal record is a few KiB; anything far larger is not one.
constexpr size_t kWorkflowJsonBytesMax = 1u << 20;

const char* const kKinds[] = {"switchover", "failover"};
const char* const kSteps[] = {"forbid",   "await_acks", "await_apply", "await_lease_expiry",
                              "transfer", "restore",    "finished"};
const char* const kOutcomes[] = {"running", "done", "cancelled", "failed"};

template <typename E, size_t N>
bool parse_enum(const std::string& text, const char* const (&names)[N], E* out) {
  for (size_t i = 0; i < N; ++i) {
    if (text == names[i]) {
      *out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

struct Bad {
  std::string message;
};

// Field readers that throw Bad naming the field; decode catches them.
const json& field(const json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end()) throw Bad{std::string(name) + ": missing"};
  return *it;
}
std::string get_string(const json& doc, const char* name) {
  const json& v = field(doc, name);
  if (!v.is_string()) throw Bad{std::string(name) + ": not a string"};
  return v.get<std::string>();
}
int64_t get_int(const json& doc, const char* name, int64_t min = 0) {
  const json& v = field(doc, name);
  if (!v.is_number_integer()) throw Bad{std::string(name) + ": not an integer"};
  int64_t n = v.get<int64_t>();
  if (n < min) throw Bad{std::string(name) + ": " + std::to_string(n) + " is below " + std::to_string(min)};
  return n;
}
bool get_bool(const json& doc, const char* name) {
  const json& v = field(doc, name);
  if (!v.is_boolean()) throw Bad{std::string(name) + ": not a boolean"};
  return v.get<bool>();
}
template <typename E, size_t N>
E get_enum(const json& doc, const char* name, const char* const (&names)[N]) {
  std::string text = get_string(doc, name);
  E out{};
  if (!parse_enum(text, names, &out)) throw Bad{std::string(name) + ": '" + text + "' is not known"};
  return out;
}

std::map<ShardId, std::string> get_owner_map(const json& doc, const char* name) {
  const json& v = field(doc, name);
  if (!v.is_object()) throw Bad{std::string(name) + ": not an object"};
  std::map<ShardId, std::string> out;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    char* end = nullptr;
    unsigned long id = std::strtoul(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || id > kShardIdMax)
      throw Bad{std::string(name) + ": '" + key + "' is not a shard id"};
    if (!it.value().is_string()) throw Bad{std::string(name) + "." + key + ": not a string"};
    out[static_cast<ShardId>(id)] = it.value().get<std::string>();
  }
  return out;
}

json owner_map_json(const std::map<ShardId, std::string>& m) {
  json out = json::object();
  for (const auto& [shard, owner] : m) out[std::to_string(shard)] = owner;
  return out;
}

Workflow decode(const json& doc) {
  if (!doc.is_object()) throw Bad{"the document is not an object"};
  Workflow w;
  w.id = get_string(doc, "id");
  if (Status s = validate_workflow_id(w.id); !s) throw Bad{"id: " + s.message()};
  w.kind = get_enum<WorkflowKind>(doc, "kind", kKinds);
  w.step = get_enum<Step>(doc, "step", kSteps);
  w.outcome = get_enum<Outcome>(doc, "outcome", kOutcomes);
  const json& shards = field(doc, "shards");
  if (!shards.is_array() || shards.empty()) throw Bad{"shards: not a non-empty array"};
  for (const json& s : shards) {
    if (!s.is_number_unsigned() || s.get<uint64_t>() > kShardIdMax) throw Bad{"shards: an entry is not a shard id"};
    w.shards.push_back(s.get<ShardId>());
  }
  if (!std::is_sorted(w.shards.begin(), w.shards.end()) ||
      std::adjacent_find(w.shards.begin(), w.shards.end()) != w.shards.end())
    throw Bad{"shards: not ascending and unique"};
  w.from = get_owner_map(doc, "from");
  w.to = get_owner_map(doc, "to");
  for (ShardId s : w.shards) {
    if (!w.from.count(s) || !w.to.count(s))
      throw Bad{"shard " + std::to_string(s) + " has no owner in 'from' or 'to'"};
  }
  if (w.from.size() != w.shards.size() || w.to.size() != w.shards.size())
    throw Bad{"'from' and 'to' must name exactly the shards"};
  w.dead_ezone = get_string(doc, "dead_ezone");
  w.force = get_bool(doc, "force");
  w.cancel_requested = get_bool(doc, "cancel_requested");
  w.base_epoch = get_int(doc, "base_epoch", 1);
  w.forbid_epoch = get_int(doc, "forbid_epoch");
  w.final_epoch = get_int(doc, "final_epoch");
  const json& hw = field(doc, "high_water");
  if (!hw.is_object()) throw Bad{"high_water: not an object"};
  for (auto it = hw.begin(); it != hw.end(); ++it) {
    if (!it.value().is_number_unsigned()) throw Bad{"high_water." + it.key() + ": not a sequence number"};
    w.high_water[it.key()] = it.value().get<uint64_t>();
  }
  w.created_wall_ms = get_int(doc, "created_wall_ms");
  w.forbid_wall_ms = get_int(doc, "forbid_wall_ms");
  w.final_wall_ms = get_int(doc, "final_wall_ms");
  w.step_wall_ms = get_int(doc, "step_wall_ms");
  w.lease_gone_wall_ms = get_int(doc, "lease_gone_wall_ms");
  w.detail = get_string(doc, "detail");
  const json& events = field(doc, "events");
  if (!events.is_array() || events.size() > kWorkflowEventsMax) throw Bad{"events: not an array of at most 64"};
  for (const json& e : events) {
    if (!e.is_object()) throw Bad{"events: an entry is not an object"};
    w.events.push_back(StepEvent{get_enum<Step>(e, "step", kSteps), get_int(e, "wall_ms"), get_string(e, "note")});
  }
  return w;
}

}  // namespace

const char* workflow_kind_name(WorkflowKind kind) { return kKinds[static_cast<int>(kind)]; }
const char* step_name(Step step) { return kSteps[static_cast<int>(step)]; }
const char* outcome_name(Outcome outcome) { return kOutcomes[static_cast<int>(outcome)]; }

std::vector<std::string> Workflow::old_owners() const {
  std::set<std::string> owners;
  for (const auto& [shard, owner] : from) owners.insert(owner);
  return {owners.begin(), owners.end()};
}

void Workflow::enter(Step next, int64_t wall_ms, std::string note) {
  if (next != step || events.empty()) step_wall_ms = wall_ms;
  step = next;
  events.push_back(StepEvent{next, wall_ms, std::move(note)});
  if (events.size() > kWorkflowEventsMax) events.erase(events.begin());
}

bool Workflow::operator==(const Workflow& o) const {
  return id == o.id && kind == o.kind && step == o.step && outcome == o.outcome && shards == o.shards &&
         from == o.from && to == o.to && dead_ezone == o.dead_ezone && force == o.force &&
         cancel_requested == o.cancel_requested && base_epoch == o.base_epoch &&
         forbid_epoch == o.forbid_epoch && final_epoch == o.final_epoch && high_water == o.high_water &&
         created_wall_ms == o.created_wall_ms && forbid_wall_ms == o.forbid_wall_ms &&
         final_wall_ms == o.final_wall_ms && step_wall_ms == o.step_wall_ms &&
         lease_gone_wall_ms == o.lease_gone_wall_ms && detail == o.detail && events == o.events;
}

Status validate_workflow_id(const std::string& id) {
  if (id.empty() || id.size() > 64)
    return Status(Errc::invalid_argument, "a workflow id has 1 to 64 characters; got " + std::to_string(id.size()));
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return Status(Errc::invalid_argument, "workflow id '" + id + "': use only a-z, 0-9, '_' and '-'");
  }
  return Status::ok();
}

std::string encode_workflow_json(const Workflow& w) {
  json hw = json::object();
  for (const auto& [zone, seq] : w.high_water) hw[zone] = seq;
  json events = json::array();
  for (const StepEvent& e : w.events) events.push_back(json{{"step", step_name(e.step)}, {"wall_ms", e.wall_ms}, {"note", e.note}});
  json doc{{"id", w.id},
           {"kind", workflow_kind_name(w.kind)},
           {"step", step_name(w.step)},
           {"outcome", outcome_name(w.outcome)},
           {"shards", w.shards},
           {"from", owner_map_json(w.from)},
           {"to", owner_map_json(w.to)},
           {"dead_ezone", w.dead_ezone},
           {"force", w.force},
           {"cancel_requested", w.cancel_requested},
           {"base_epoch", w.base_epoch},
           {"forbid_epoch", w.forbid_epoch},
           {"final_epoch", w.final_epoch},
           {"high_water", hw},
           {"created_wall_ms", w.created_wall_ms},
           {"forbid_wall_ms", w.forbid_wall_ms},
           {"final_wall_ms", w.final_wall_ms},
           {"step_wall_ms", w.step_wall_ms},
           {"lease_gone_wall_ms", w.lease_gone_wall_ms},
           {"window_ms", w.window_ms()},
           {"detail", w.detail},
           {"events", events}};
  return doc.dump();
}

Result<Workflow> decode_workflow_json(const std::string& text) {
  if (text.size() > kWorkflowJsonBytesMax)
    return Status(Errc::parse_error, "workflow JSON: " + std::to_string(text.size()) + " bytes is too large");
  auto parsed = parse_json(text);
  if (!parsed) return Status(Errc::parse_error, "workflow JSON: " + parsed.status().message());
  try {
    return decode(*parsed);
  } catch (const Bad& bad) {
    return Status(Errc::parse_error, "workflow JSON: " + bad.message);
  } catch (const json::exception& e) {
    return Status(Errc::parse_error, std::string("workflow JSON: ") + e.what());
  }
}

}  // namespace ezone::coord
