#include "tools/ezctl/schema_command.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "tools/ezctl/admin_client.hpp"
#include "zones/data/column_map.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

// "id INTEGER 1;state TEXT 0" -> {"id INTEGER (key)", "state TEXT"}, in
// order; the fingerprint itself when it is malformed.
std::vector<std::string> column_names(const std::string& fingerprint) {
  auto columns = ezone::data::parse_fingerprint(fingerprint);
  if (!columns) return {fingerprint};
  std::vector<std::string> out;
  for (const ezone::data::ColumnDef& c : columns.value()) {
    out.push_back(c.name + (c.type.empty() ? "" : " " + c.type) + (c.pk > 0 ? " (key)" : ""));
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

SchemaReport format_schema_report(const std::vector<SiteSchema>& sites) {
  SchemaReport report;
  report.agreed = true;
  std::string& out = report.text;
  // table -> ezone -> (columns, migrations); tables in the first site's order.
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, std::pair<std::string, int64_t>>> tables;
  std::vector<std::string> answered;
  std::string halted;
  for (const SiteSchema& s : sites) {
    if (!s.error.empty() || !s.drc.is_object() || !s.drc.contains("tables")) {
      out += "UNREACHABLE " + s.ezone + ": " + (s.error.empty() ? "its answer is not DRC status" : s.error) + "\n";
      report.agreed = false;
      continue;
    }
    // A field of another type (a node of another build, a proxy's page)
    // makes the site's answer unusable, not ezctl crash.
    try {
      for (const json& t : s.drc["tables"]) {
        if (!t.is_object()) continue;
        const std::string name = t.value("name", "?");
        if (!tables.count(name)) order.push_back(name);
        tables[name][s.ezone] = {t.value("columns", ""), t.value("migrations", int64_t{0})};
      }
      for (const json& h : s.drc.value("halted", json::array())) {
        if (!h.is_object()) continue;
        halted += "HALTED at " + s.ezone + ": " + h.value("table", "?") + " from " + h.value("origin", "?") + ", " +
                  std::to_string(h.value("parked_rows", int64_t{0})) + " rows parked: " + h.value("reason", "") + "\n";
      }
    } catch (const json::exception& e) {
      out += "UNREACHABLE " + s.ezone + ": its answer is malformed (" + e.what() + ")\n";
      report.agreed = false;
      for (auto& [name, at] : tables) at.erase(s.ezone);
      continue;
    }
    answered.push_back(s.ezone);
  }
  for (const std::string& name : order) {
    const auto& at = tables[name];
    // Each site's columns, read once; and how many sites have each.
    std::map<std::string, std::vector<std::string>> cols_at;
    std::map<std::string, size_t> sites_with;
    std::set<std::string> columns_seen;
    for (const auto& [ezone, c] : at) {
      columns_seen.insert(c.first);
      cols_at[ezone] = column_names(c.first);
      for (const std::string& col : std::set<std::string>(cols_at[ezone].begin(), cols_at[ezone].end())) {
        ++sites_with[col];
      }
    }
    std::vector<std::string> missing;
    for (const std::string& ezone : answered) {
      if (!at.count(ezone)) missing.push_back(ezone);
    }
    if (columns_seen.size() == 1 && missing.empty()) {
      const auto& first = at.begin()->second;
      out += name + ": the same at " + join(answered, ", ") + " (" + std::to_string(first.second) + " migration" +
             (first.second == 1 ? "" : "s") + "): " + join(cols_at.begin()->second, ", ") + "\n";
      continue;
    }
    report.agreed = false;
    std::set<std::vector<std::string>> sets;
    for (auto [ezone, cols] : cols_at) {
      std::sort(cols.begin(), cols.end());
      sets.insert(cols);
    }
    out += name + (sets.size() == 1 && missing.empty()
                       ? ": DIFFERS: the same columns in another order (a ddl that was edited instead of a migration "
                         "listed); rows replicate by name, consistency checks skip it\n"
                       : ": DIFFERS between sites (a migration has not run everywhere)\n");
    for (const std::string& ezone : answered) {
      auto it = at.find(ezone);
      if (it == at.end()) {
        out += "  " + ezone + "  does not replicate it\n";
        continue;
      }
      const std::vector<std::string>& mine = cols_at[ezone];
      const std::set<std::string> have(mine.begin(), mine.end());
      std::vector<std::string> more, less;
      for (const std::string& col : mine) {
        if (sites_with[col] < at.size()) more.push_back("+" + col);
      }
      for (const auto& [col, n] : sites_with) {
        if (!have.count(col)) less.push_back("-" + col);
      }
      more.insert(more.end(), less.begin(), less.end());
      out += "  " + ezone + "  " + std::to_string(it->second.second) + " migration" +
             (it->second.second == 1 ? "" : "s") + (more.empty() ? "" : "  " + join(more, " ")) + "\n";
    }
  }
  if (!halted.empty()) report.agreed = false;
  out += halted;
  out += report.agreed ? "every site has the same columns, and no table is halted\n"
                       : "the sites do not agree yet: run the same migrations at every site (see above)\n";
  return report;
}

int run_schema(const Options& options) {
  if (options.args.size() != 1) return fail("schema", "the command is `schema` (no arguments)");
  auto sites = cluster_admins(options);
  if (!sites) return fail("schema", sites.status().message());
  std::vector<SiteSchema> answers;
  for (const auto& [ezone, address] : *sites) {
    Options at = options;
    at.node = address;
    SiteSchema s{ezone, json(), ""};
    auto reply = admin_call(at, "GET", "/admin/v1/drc");
    if (!reply) s.error = reply.status().message();
    else if (reply->status != 200) s.error = reply_error(*reply);
    else s.drc = reply->body;
    answers.push_back(std::move(s));
  }
  const SchemaReport report = format_schema_report(answers);
  if (options.json) {
    json doc{{"agreed", report.agreed}, {"sites", json::array()}};
    for (const SiteSchema& s : answers) {
      doc["sites"].push_back(s.error.empty() ? json{{"ezone", s.ezone}, {"tables", s.drc.value("tables", json::array())},
                                                   {"halted", s.drc.value("halted", json::array())}}
                                             : json{{"ezone", s.ezone}, {"error", s.error}});
    }
    std::printf("%s\n", doc.dump(2).c_str());
  } else {
    std::fputs(report.text.c_str(), stdout);
  }
  return report.agreed ? 0 : 1;
}

}  // namespace ezctl
