#include "zones/data/column_map.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace ezone::data {

namespace {

bool same_type(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<const ColumnDef*> key_of(const std::vector<ColumnDef>& columns) {
  std::vector<const ColumnDef*> key;
  for (const ColumnDef& c : columns) {
    if (c.pk > 0) key.push_back(&c);
  }
  std::sort(key.begin(), key.end(), [](const ColumnDef* a, const ColumnDef* b) { return a->pk < b->pk; });
  return key;
}

std::string key_text(const std::vector<const ColumnDef*>& key) {
  std::string out;
  for (const ColumnDef* c : key) out += (out.empty() ? "" : ", ") + c->name + " " + c->type;
  return "(" + out + ")";
}

}  // namespace

Result<std::vector<ColumnDef>> parse_fingerprint(const std::string& fingerprint) {
  std::vector<ColumnDef> out;
  if (fingerprint.empty()) return out;
  for (size_t start = 0; start <= fingerprint.size();) {
    size_t end = fingerprint.find(';', start);
    if (end == std::string::npos) end = fingerprint.size();
    const std::string item = fingerprint.substr(start, end - start);
    start = end + 1;
    const size_t first = item.find(' '), last = item.rfind(' ');
    const std::string pk = last == std::string::npos ? "" : item.substr(last + 1);
    if (first == std::string::npos || first == 0 || pk.empty() || pk.size() > 3 ||
        !std::all_of(pk.begin(), pk.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return Status(Errc::parse_error, "column '" + item + "' of the schema fingerprint is malformed");
    }
    ColumnDef c;
    c.name = item.substr(0, first);
    c.type = last > first ? item.substr(first + 1, last - first - 1) : "";
    c.pk = std::stoi(pk);
    out.push_back(std::move(c));
  }
  return out;
}

std::string fingerprint_of(const std::vector<ColumnDef>& columns) {
  std::string out;
  for (const ColumnDef& c : columns) {
    out += (out.empty() ? "" : ";") + c.name + " " + c.type + " " + std::to_string(c.pk);
  }
  return out;
}

Result<ColumnMap> map_columns(const std::string& table, const std::string& origin_ezone,
                              const std::vector<ColumnDef>& local, const std::set<std::string>& dropped,
                              const std::string& shard_column, const std::vector<ColumnDef>& origin) {
  const std::string where = "table '" + table + "' from ezone '" + origin_ezone + "': ";
  auto unfit = [&](const std::string& why) { return Status(Errc::invalid_argument, where + why); };
  const auto local_key = key_of(local), origin_key = key_of(origin);
  bool same_key = local_key.size() == origin_key.size();
  for (size_t i = 0; same_key && i < local_key.size(); ++i) {
    same_key = local_key[i]->name == origin_key[i]->name && same_type(local_key[i]->type, origin_key[i]->type);
  }
  if (!same_key) {
    return unfit("its primary key " + key_text(origin_key) + " is not this site's " + key_text(local_key) +
                 "; a migration cannot change a primary key");
  }
  std::map<std::string, int> here;
  for (size_t i = 0; i < local.size(); ++i) here[local[i].name] = static_cast<int>(i);
  ColumnMap map;
  map.identity = local.size() == origin.size();
  std::vector<bool> sent(local.size(), false);
  for (size_t i = 0; i < origin.size(); ++i) {
    const ColumnDef& c = origin[i];
    auto it = here.find(c.name);
    if (it == here.end()) {
      if (!dropped.count(c.name)) {
        return unfit("it has column '" + c.name + " " + c.type + "', which this site lacks; run the migration that adds "
                     "it here (its rows wait until then)");
      }
      map.local_of.push_back(-1);
      map.identity = false;
      continue;
    }
    const ColumnDef& mine = local[static_cast<size_t>(it->second)];
    if (!same_type(mine.type, c.type)) {
      return unfit("column '" + c.name + "' is " + c.type + " there and " + mine.type + " here");
    }
    map.local_of.push_back(it->second);
    sent[static_cast<size_t>(it->second)] = true;
    map.identity = map.identity && it->second == static_cast<int>(i) && mine.pk == c.pk;
    if (c.name == shard_column) map.shard_at = static_cast<int>(i);
  }
  if (!shard_column.empty() && map.shard_at < 0) {
    return unfit("its rows do not carry the shard column '" + shard_column + "'");
  }
  for (size_t i = 0; i < local.size(); ++i) {
    if (sent[i] || local[i].fillable) continue;
    return unfit("its rows do not carry column '" + local[i].name + "', which is NOT NULL without a default here; "
                 "give it a default, or add it there too");
  }
  return map;
}

}  // namespace ezone::data
