#include "config/toml_reader.hpp"

#include <sstream>

namespace ezone::config_internal {

Status config_error(const std::string& where, const std::string& key, const std::string& problem,
                    const std::string& fix) {
  return Status(Errc::invalid_argument, where + ": key '" + key + "': " + problem + ". Fix: " + fix);
}

Result<toml::table> parse_toml(const std::string& text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status(Errc::parse_error, source + ": not valid TOML at " + where.str() + ": " +
                                         std::string(e.description()) +
                                         ". Fix: correct the syntax at that line");
  }
}

void resolve_path(const std::string& source, std::string* path) {
  auto slash = source.rfind('/');
  if (!path->empty() && path->front() != '/' && slash != std::string::npos)
    *path = source.substr(0, slash) + "/" + *path;
}

Status optional_section(const toml::table& root, const std::string& name, const std::string& source,
                        const toml::table** out) {
  const toml::node* node = root.get(name);
  *out = node ? node->as_table() : nullptr;
  if (node && !*out) return config_error(source, name, "must be a table", "write [" + name + "]");
  return Status::ok();
}

const toml::node* TableReader::get(const std::string& name) {
  known_.insert(name);
  return table_ ? table_->get(name) : nullptr;
}

Status TableReader::string(const std::string& name, bool required, std::string* out,
                           const std::string& fix) {
  const toml::node* node = get(name);
  if (!node) return required ? error(name, "missing", fix) : Status::ok();
  auto value = node->value<std::string>();
  if (!value) return error(name, "must be a string", fix);
  *out = *value;
  return Status::ok();
}

Status TableReader::integer(const std::string& name, int64_t* out, int64_t min, int64_t max) {
  const toml::node* node = get(name);
  if (!node) return Status::ok();  // every integer has a default
  auto value = node->value<int64_t>();
  std::string fix = "set " + key(name) + " to an integer in " + std::to_string(min) + ".." +
                    std::to_string(max);
  if (!value || node->type() != toml::node_type::integer) return error(name, "must be an integer", fix);
  if (*value < min || *value > max)
    return error(name, "value " + std::to_string(*value) + " is out of range", fix);
  *out = *value;
  return Status::ok();
}

Status TableReader::boolean(const std::string& name, bool* out) {
  const toml::node* node = get(name);
  if (!node) return Status::ok();
  auto value = node->value<bool>();
  if (!value || node->type() != toml::node_type::boolean)
    return error(name, "must be true or false", "write " + key(name) + " = true");
  *out = *value;
  return Status::ok();
}

Status TableReader::no_unknown_keys(const std::string& allowed) const {
  if (!table_) return Status::ok();
  for (const auto& [k, v] : *table_) {
    std::string name(k.str());
    if (!known_.count(name))
      return error(name, "unknown key", "remove it or correct its spelling; keys allowed here: " + allowed);
  }
  return Status::ok();
}

}  // namespace ezone::config_internal
