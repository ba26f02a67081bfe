#include "llm/json_schema.hpp"

#include <boost/json.hpp>

#include "model/json_io.hpp"

namespace ymy::llm {
namespace {

namespace js = boost::json;

bool matchesType(const js::value& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_bool();
  if (type == "null") return v.is_null();
  if (type == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    return v.is_double() && v.as_double() == static_cast<double>(static_cast<long long>(v.as_double()));
  }
  if (type == "number") return v.is_number();
  return true;  // an unknown type name constrains nothing
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Validator {
 public:
  explicit Validator(std::size_t maxErrors) : maxErrors_(maxErrors) {}

  void check(const js::value& v, const js::value& schemaValue, const std::string& path) {
    if (errors_.size() >= maxErrors_ || !schemaValue.is_object()) return;
    const auto& schema = schemaValue.as_object();

    if (v.is_null()) {
      if (const auto* n = schema.if_contains("nullable"); n && n->is_bool() && n->as_bool()) return;
    }
    if (const auto* t = schema.if_contains("type")) {
      std::vector<std::string> types;
      if (t->is_string()) types.push_back(lower(t->as_string()));  // Gemini writes "OBJECT"
      if (t->is_array())
        for (const auto& x : t->as_array())
          if (x.is_string()) types.push_back(lower(x.as_string()));
      bool ok = types.empty();
      for (const auto& type : types) ok = ok || matchesType(v, type);
      if (!ok) {
        std::string want;
        for (const auto& type : types) want += (want.empty() ? "" : " or ") + type;
        add(path + ": expected " + want + ", got " + json::kindName(v));
        return;
      }
    }
    if (const auto* e = schema.if_contains("enum"); e && e->is_array()) {
      bool found = false;
      for (const auto& x : e->as_array()) found = found || x == v;
      if (!found) add(path + ": " + js::serialize(v) + " is not one of " + js::serialize(*e));
    }
    if (v.is_object()) checkObject(v.as_object(), schema, path);
    if (v.is_array()) checkArray(v.as_array(), schema, path);
  }

  std::vector<std::string> take() { return std::move(errors_); }

 private:
  void checkObject(const js::object& o, const js::object& schema, const std::string& path) {
    const js::object* properties = nullptr;
    if (const auto* p = schema.if_contains("properties"); p && p->is_object()) properties = &p->as_object();
    if (const auto* r = schema.if_contains("required"); r && r->is_array()) {
      for (const auto& name : r->as_array()) {
        if (name.is_string() && !o.contains(name.as_string()))
          add(path + "." + std::string(name.as_string()) + ": required field is missing");
      }
    }
    const auto* additional = schema.if_contains("additionalProperties");
    for (const auto& [key, value] : o) {
      const std::string child = path + "." + std::string(key);
      if (properties) {
        if (const auto* s = properties->if_contains(key)) {
          check(value, *s, child);
          continue;
        }
      }
      if (additional && additional->is_bool() && !additional->as_bool()) {
        add(child + ": unexpected field");
      } else if (additional && additional->is_object()) {
        check(value, *additional, child);
      }
    }
  }

  void checkArray(const js::array& a, const js::object& schema, const std::string& path) {
    if (const auto* m = schema.if_contains("minItems"); m && m->is_number() && a.size() < m->to_number<double>())
      add(path + ": expected at least " + js::serialize(*m) + " items, got " + std::to_string(a.size()));
    if (const auto* m = schema.if_contains("maxItems"); m && m->is_number() && a.size() > m->to_number<double>())
      add(path + ": expected at most " + js::serialize(*m) + " items, got " + std::to_string(a.size()));
    if (const auto* items = schema.if_contains("items")) {
      for (std::size_t i = 0; i < a.size(); ++i) check(a[i], *items, path + "[" + std::to_string(i) + "]");
    }
  }

  void add(std::string message) {
    if (errors_.size() < maxErrors_) errors_.push_back(std::move(message));
  }

  const std::size_t maxErrors_;
  std::vector<std::string> errors_;
};

}  // namespace

std::vector<std::string> validateJson(const boost::json::value& value, const boost::json::value& schema,
                                      std::size_t maxErrors) {
  Validator v(maxErrors);
  v.check(value, schema, "$");
  return v.take();
}

}  // namespace ymy::llm
