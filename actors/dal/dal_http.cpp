#include "actors/dal/dal_http.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone {
namespace {

using nlohmann::json;

struct Statement {
  std::string sql;
  std::vector<dal::Value> params;
};

struct TxRequest {
  dal::TxTarget target;
  std::vector<Statement> statements;
};

Result<dal::Value> to_value(const json& j, const std::string& where) {
  if (j.is_null()) return dal::Value(std::monostate{});
  if (j.is_boolean()) return dal::Value(int64_t{j.get<bool>() ? 1 : 0});
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Status(Errc::invalid_argument, where + ": integer out of the 64-bit range");
    }
    return dal::Value(j.get<int64_t>());
  }
  if (j.is_number_float()) return dal::Value(j.get<double>());
  if (j.is_string()) return dal::Value(j.get<std::string>());
  if (j.is_object() && j.size() == 1 && j.contains("blob") && j["blob"].is_string()) {
    const std::string& hex = j["blob"].get_ref<const std::string&>();
    if (hex.size() % 2) return Status(Errc::invalid_argument, where + ": blob hex has an odd length");
    dal::Blob b;
    for (size_t i = 0; i < hex.size(); i += 2) {
      int v = 0;
      for (size_t k = 0; k < 2; ++k) {
        const char c = hex[i + k];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return Status(Errc::invalid_argument, where + ": blob is not hex");
        v = v * 16 + d;
      }
      b.bytes += static_cast<char>(v);
    }
    return dal::Value(std::move(b));
  }
  return Status(Errc::invalid_argument, where + ": expected null, a number, a string or {\"blob\": hex}");
}

json from_value(const dal::Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* b = std::get_if<dal::Blob>(&v)) {
    const std::string text = dal::value_text(*b);  // x'..'
    return json{{"blob", text.substr(2, text.size() - 3)}};
  }
  return nullptr;
}

Result<TxRequest> parse_request(const std::string& body) {
  auto parsed = parse_json(body);
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, why); };
  if (!parsed) return bad("the body is not JSON: " + parsed.status().message());
  json& j = *parsed;
  if (!j.is_object()) return bad("the body must be a JSON object");
  TxRequest req;
  for (auto& [key, value] : j.items()) {
    if (key == "shard") {
      if (value.is_null()) continue;
      if (!value.is_number_unsigned() || value.get<uint64_t>() > kShardIdMax) return bad("'shard' must be null or 0.." + std::to_string(kShardIdMax));
      req.target.shard = static_cast<ShardId>(value.get<uint64_t>());
    } else if (key == "epoch") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) return bad("'epoch' must be a non-negative integer");
      req.target.epoch = value.get<int64_t>();
    } else if (key != "statements") {
      return bad("unknown key '" + key + "' (expected shard, epoch, statements)");
    }
  }
  const json& stmts = j.contains("statements") ? j["statements"] : json();
  if (!stmts.is_array() || stmts.empty()) return bad("'statements' must be a non-empty array");
  if (stmts.size() > kDalHttpStatementsMax) return bad("more than " + std::to_string(kDalHttpStatementsMax) + " statements");
  for (size_t i = 0; i < stmts.size(); ++i) {
    const std::string where = "statements[" + std::to_string(i) + "]";
    const json& s = stmts[i];
    if (!s.is_object() || !s.contains("sql") || !s["sql"].is_string()) return bad(where + ": needs \"sql\", a string");
    Statement st{s["sql"].get<std::string>(), {}};
    for (auto& [key, value] : s.items()) {
      if (key != "sql" && key != "params") return bad(where + ": unknown key '" + key + "'");
    }
    if (s.contains("params")) {
      const json& p = s["params"];
      if (!p.is_array()) return bad(where + ".params must be an array");
      if (p.size() > kDalHttpParamsMax) return bad(where + ": more than " + std::to_string(kDalHttpParamsMax) + " params");
      for (size_t k = 0; k < p.size(); ++k) {
        auto v = to_value(p[k], where + ".params[" + std::to_string(k) + "]");
        if (!v) return v.status();
        st.params.push_back(std::move(v.value()));
      }
    }
    req.statements.push_back(std::move(st));
  }
  if (!j.contains("epoch") && req.target.shard) return bad("'epoch' is required with a shard (the epoch your route came from)");
  return req;
}

int http_status(const dal::TxOutcome& out) {
  switch (out.status.code()) {
    case Errc::ok: return 200;
    case Errc::invalid_argument:
    case Errc::parse_error: return 400;
    case Errc::conflict:
    case Errc::not_found: return 409;
    // A handler statement that ran past dal.statement_ms_max: the same
    // statement would run as long again, so no 503 and no Retry-After.
    case Errc::timeout: return 422;
    case Errc::unavailable: return 503;
    default: return 500;
  }
}

Counter& bad_requests(Metrics& metrics) {
  return metrics.counter("ezone_dal_http_bad_requests_total", "Malformed POST /dal/v1/tx and /dal/v1/read requests");
}

HttpResponse answer(const dal::TxOutcome& out, const json& results) {
  if (out.ok()) {
    return HttpResponse::json(200, dump_json(json{{"committed", true}, {"outbox_seq", out.outbox_seq}, {"hlc", out.hlc},
                                        {"results", results}}) + "\n");
  }
  const int code = http_status(out);
  HttpResponse r = HttpResponse::json(code, dump_json(json{{"committed", false},
                                                 {"refusal", dal::refusal_name(out.refusal)},
                                                 {"error", out.status.message()}}) + "\n");
  if (code == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

Endpoint dal_tx_endpoint(dal::Dal& dal, Metrics& metrics) {
  Endpoint e;
  e.method = "POST";
  e.pattern = "/dal/v1/tx";
  e.entrance = Entrance::internal;
  e.key = KeyExtractor{};  // not routed: the DAL judges the named shard
  e.access = Access::write;
  Counter& bad = bad_requests(metrics);
  e.handler = [&dal, &bad](HttpRequest&& http, HttpResponder respond) {
    auto req = parse_request(http.body);
    if (!req) {
      bad.inc();
      respond(HttpResponse::json(400, dump_json(json{{"committed", false}, {"refusal", "bad_request"},
                                           {"error", req.status().message()}}) + "\n"));
      return;
    }
    req.value().target.trace = trace_of(http);
    auto statements = std::make_shared<std::vector<Statement>>(std::move(req.value().statements));
    auto results = std::make_shared<json>(json::array());
    dal.submit(
        req.value().target,
        [statements, results](dal::Tx& tx) -> Status {
          *results = json::array();  // the handler runs once, but keep it clean
          for (size_t i = 0; i < statements->size(); ++i) {
            const Statement& s = (*statements)[i];
            auto rows = tx.query(s.sql, s.params);
            if (!rows) return Status(rows.status().code(), "statements[" + std::to_string(i) + "]: " + rows.status().message());
            json out_rows = json::array();
            for (const dal::Row& row : rows.value()) {
              json r = json::array();
              for (const dal::Value& v : row) r.push_back(from_value(v));
              out_rows.push_back(std::move(r));
            }
            results->push_back(json{{"changes", tx.changes()}, {"rows", std::move(out_rows)}});
          }
          return Status::ok();
        },
        [respond, results](dal::TxOutcome out) { respond(answer(out, *results)); });
  };
  return e;
}

namespace {

// The replicated tables' layouts, read once: they are fixed when the DAL opens.
using Layouts = std::map<std::string, dal::Dal::TableLayout>;

struct ReadRequest {
  std::string table;
  dal::Row key;
  const dal::Dal::TableLayout* layout = nullptr;  // in the endpoint's Layouts
};

Result<ReadRequest> parse_read(const Layouts& layouts, const std::string& body) {
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, why); };
  auto parsed = parse_json(body);
  if (!parsed) return bad("the body is not JSON: " + parsed.status().message());
  const json& j = *parsed;
  if (!j.is_object()) return bad("the body must be a JSON object");
  for (auto& [k, v] : j.items())
    if (k != "table" && k != "key") return bad("unknown key '" + k + "' (expected table, key)");
  if (!j.contains("table") || !j["table"].is_string()) return bad("'table' must be a string");
  ReadRequest req;
  req.table = j["table"].get<std::string>();
  auto layout = layouts.find(req.table);
  if (layout == layouts.end()) return bad("'" + req.table + "' is not a replicated table of this site's schema");
  req.layout = &layout->second;
  const json& key = j.contains("key") ? j["key"] : json();
  if (!key.is_array() || key.size() != req.layout->key.size())
    return bad("'key' must be an array of " + std::to_string(req.layout->key.size()) + " value(s): " +
               dump_json(req.layout->key));
  for (size_t i = 0; i < key.size(); ++i) {
    auto v = to_value(key[i], "key[" + std::to_string(i) + "]");
    if (!v) return v.status();
    req.key.push_back(std::move(*v));
  }
  return req;
}

// The row as a JSON object, by column name.
std::string row_json(const dal::Dal::TableLayout& layout, const dal::Row& row) {
  json out = json::object();
  for (size_t i = 0; i < row.size() && i < layout.columns.size(); ++i) out[layout.columns[i]] = from_value(row[i]);
  return dump_json(out);
}

HttpResponse found(const std::string& row, bool cached) {
  return HttpResponse::json(200, std::string("{\"found\":true,\"cached\":") + (cached ? "true" : "false") +
                                     ",\"row\":" + row + "}\n");
}

}  // namespace

Endpoint dal_read_endpoint(dal::Dal& dal, RowCache* cache, Metrics& metrics) {
  Endpoint e;
  e.method = "POST";
  e.pattern = "/dal/v1/read";
  e.entrance = Entrance::internal;
  e.key = KeyExtractor{};  // not routed: every site holds every row
  e.access = Access::read;
  Counter& bad = bad_requests(metrics);
  auto reads = [&metrics](const char* result) -> Counter& {
    return metrics.counter("ezone_dal_http_reads_total", "Rows read through POST /dal/v1/read, by result",
                           {{"result", result}});
  };
  Counter& hits = reads("hit");
  Counter& misses = reads("miss");
  Counter& absent = reads("not_found");
  auto layouts = std::make_shared<Layouts>();
  for (const data::TableSpec* t : dal.schema().replicated()) {
    auto layout = dal.layout(t->name);
    if (layout) layouts->emplace(t->name, std::move(*layout));
  }
  e.handler = [&dal, cache, layouts, &bad, &hits, &misses, &absent](HttpRequest&& http, HttpResponder respond) {
    auto req = parse_read(*layouts, http.body);
    if (!req) {
      bad.inc();
      return (void)respond(HttpResponse::json(400, dump_json(json{{"error", req.status().message()}}) + "\n"));
    }
    auto r = std::make_shared<ReadRequest>(std::move(*req));
    const std::string pk = dal::row_text(r->key);
    RowCache* const kept = cache && cache->caches(r->table) ? cache : nullptr;
    RowCache::Lookup cached;
    if (kept) cached = kept->get(r->table, pk);
    if (cached.value) {
      hits.inc();
      return (void)respond(found(*cached.value, true));
    }
    misses.inc();
    // On the writer, as the app's reads: a reader connection may be busy,
    // and an I/O thread must not wait for one.
    auto row = std::make_shared<std::optional<dal::Row>>();
    dal::TxTarget target;
    target.trace = trace_of(http);
    dal.submit(
        std::move(target),
        [r, row](dal::Tx& tx) -> Status {
          auto rows = tx.query(r->layout->select_by_key, r->key);
          if (!rows) return rows.status();
          if (!rows->empty()) *row = std::move(rows->front());
          return Status::ok();
        },
        [r, row, pk, kept, token = cached.token, &absent, respond](dal::TxOutcome out) {
          if (!out.ok()) {
            HttpResponse failed = HttpResponse::json(
                http_status(out), dump_json(json{{"found", false}, {"refusal", dal::refusal_name(out.refusal)},
                                                 {"error", out.status.message()}}) + "\n");
            if (failed.status == 503) failed.headers.emplace_back("Retry-After", "1");
            return (void)respond(std::move(failed));
          }
          if (!*row) {
            absent.inc();
            return (void)respond(HttpResponse::json(
                404, dump_json(json{{"found", false},
                                    {"error", "no row of '" + r->table + "' with key " + pk}}) + "\n"));
          }
          std::string text = row_json(*r->layout, **row);
          if (kept) kept->fill(r->table, pk, token, text);
          respond(found(text, false));
        });
  };
  return e;
}

}  // namespace ezone
