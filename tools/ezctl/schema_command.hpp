// `ezctl schema`: each replicated table's columns at every site of the
// cluster (GET /admin/v1/drc at each), for rolling migrations
// (zones/data/table_schema.hpp, Migration). A table whose columns differ
// between sites is listed with what each site has more or less than the
// others, and every table halted at a site with its parked rows and why.
// Exit 0 when every site answered, has the same columns and halts nothing.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_schema(const Options& options);

// One site's answer: its /admin/v1/drc document, or why there is none.
struct SiteSchema {
  std::string ezone;
  nlohmann::json drc;
  std::string error;
};

struct SchemaReport {
  std::string text;
  bool agreed = false;  // every site answered, with the same columns, nothing halted
};
SchemaReport format_schema_report(const std::vector<SiteSchema>& sites);

}  // namespace ezctl
