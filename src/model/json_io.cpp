#include "model/json_io.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace ymy::json {

namespace bj = boost::json;

namespace {
// Boost.JSON reads a number beyond a double's range (1e309) as infinity,
// which no JSON writer can write back: refuse it where it is read.
std::optional<std::string> firstNonFinite(const bj::value& v, std::string& path) {
  switch (v.kind()) {
    case bj::kind::double_:
      if (!std::isfinite(v.get_double())) return path.empty() ? std::string("the document") : path;
      return std::nullopt;
    case bj::kind::array: {
      const auto& a = v.get_array();
      for (std::size_t i = 0; i < a.size(); ++i) {
        const auto size = path.size();
        path += "[" + std::to_string(i) + "]";
        if (auto found = firstNonFinite(a[i], path)) return found;
        path.resize(size);
      }
      return std::nullopt;
    }
    case bj::kind::object:
      for (const auto& [key, value] : v.get_object()) {
        const auto size = path.size();
        if (!path.empty()) path += '.';
        path.append(key.data(), key.size());
        if (auto found = firstNonFinite(value, path)) return found;
        path.resize(size);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}
}  // namespace

Result<bj::value> parse(std::string_view text, std::string_view what) {
  bj::parse_options options;
  options.max_depth = 64;
  bj::stream_parser parser({}, options);
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    ec = bj::error::extra_data;
  }
  if (!ec) {
    parser.finish(ec);
  }
  if (ec) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::ostringstream out;
    out << what << ": invalid JSON at line " << line << ", column " << column << ": "
        << ec.message();
    return ymy::fail(ErrorCode::kInvalidArgument, out.str());
  }
  bj::value value = parser.release();
  std::string path;
  if (auto at = firstNonFinite(value, path)) {
    return ymy::fail(ErrorCode::kInvalidArgument,
                     std::string(what) + ": " + *at + ": a number too large to represent (at most about 1.8e308)");
  }
  return value;
}

Result<bj::value> parseFile(const std::filesystem::path& path, std::string_view what,
                            std::uintmax_t maxBytes) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return ymy::fail(ErrorCode::kNotFound, std::string(what) + " '" + path.string() + "' does not exist");
  }
  if (!std::filesystem::is_regular_file(status)) {
    return ymy::fail(ErrorCode::kInvalidArgument,
                     std::string(what) + " '" + path.string() + "' is not a regular file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > maxBytes) {
    return ymy::fail(ErrorCode::kInvalidArgument, std::string(what) + " '" + path.string() +
                                                      "' is " + std::to_string(size) +
                                                      " bytes; the limit is " + std::to_string(maxBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ymy::fail(ErrorCode::kIo, std::string(what) + " '" + path.string() + "' cannot be read");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), std::string(what) + " '" + path.string() + "'");
}

const char* kindName(const bj::value& value) {
  switch (value.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "a boolean";
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_: return "a number";
    case bj::kind::string: return "a string";
    case bj::kind::array: return "an array";
    case bj::kind::object: return "an object";
  }
  return "a value";
}

Reader::Reader(const bj::value& value, std::string path) : value_(&value), path_(std::move(path)) {}

void Reader::fail(const std::string& message) const {
  throw ShapeError((path_.empty() ? std::string("(root)") : path_) + ": " + message);
}

const bj::object& Reader::object() const {
  if (!value_->is_object()) fail(std::string("expected an object, got ") + kindName(*value_));
  return value_->get_object();
}

Reader Reader::at(std::string_view key) const {
  const auto& obj = object();
  auto it = obj.find(key);
  std::string child = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  if (it == obj.end()) throw ShapeError(child + ": required field is missing");
  return Reader(it->value(), std::move(child));
}

std::optional<Reader> Reader::find(std::string_view key) const {
  const auto& obj = object();
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null()) return std::nullopt;
  return Reader(it->value(), path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

std::vector<Reader> Reader::items() const {
  if (!value_->is_array()) fail(std::string("expected an array, got ") + kindName(*value_));
  std::vector<Reader> out;
  const auto& arr = value_->get_array();
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    out.emplace_back(arr[i], path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

std::string Reader::str() const {
  if (!value_->is_string()) fail(std::string("expected a string, got ") + kindName(*value_));
  return std::string(value_->get_string());
}

double Reader::number() const {
  switch (value_->kind()) {
    case bj::kind::int64: return static_cast<double>(value_->get_int64());
    case bj::kind::uint64: return static_cast<double>(value_->get_uint64());
    case bj::kind::double_: return value_->get_double();
    default: fail(std::string("expected a number, got ") + kindName(*value_));
  }
}

std::int64_t Reader::integer() const {
  double n = number();
  if (n != static_cast<double>(static_cast<std::int64_t>(n)) || n > 9e15 || n < -9e15) {
    fail("expected a whole number");
  }
  return static_cast<std::int64_t>(n);
}

bool Reader::boolean() const {
  if (!value_->is_bool()) fail(std::string("expected a boolean, got ") + kindName(*value_));
  return value_->get_bool();
}

std::vector<std::string> Reader::strings() const {
  std::vector<std::string> out;
  for (const auto& item : items()) out.push_back(item.str());
  return out;
}

std::string Reader::strOr(std::string_view key, std::string fallback) const {
  auto r = find(key);
  return r ? r->str() : std::move(fallback);
}

double Reader::numberOr(std::string_view key, double fallback) const {
  auto r = find(key);
  return r ? r->number() : fallback;
}

bool Reader::booleanOr(std::string_view key, bool fallback) const {
  auto r = find(key);
  return r ? r->boolean() : fallback;
}

std::vector<std::string> Reader::stringsOr(std::string_view key) const {
  auto r = find(key);
  return r ? r->strings() : std::vector<std::string>{};
}

namespace {

// Doubles as people write them ("0.9", "5000"), not Boost's "9E-1".
void numberInto(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  out += buf;
}

void compactInto(std::string& out, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::double_: numberInto(out, v.get_double()); return;
    case bj::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += bj::serialize(bj::value(kv.key()));
        out += ':';
        compactInto(out, kv.value());
      }
      out += '}';
      return;
    }
    case bj::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        compactInto(out, e);
      }
      out += ']';
      return;
    }
    default: out += bj::serialize(v);
  }
}

void prettyInto(std::string& out, const bj::value& v, int indent) {
  auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
  switch (v.kind()) {
    case bj::kind::object: {
      const auto& obj = v.get_object();
      if (obj.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      std::size_t i = 0;
      for (const auto& kv : obj) {
        pad(indent + 1);
        out += bj::serialize(bj::value(kv.key()));
        out += ": ";
        prettyInto(out, kv.value(), indent + 1);
        if (++i < obj.size()) out += ",";
        out += "\n";
      }
      pad(indent);
      out += "}";
      return;
    }
    case bj::kind::array: {
      const auto& arr = v.get_array();
      if (arr.empty()) {
        out += "[]";
        return;
      }
      bool scalars = true;
      for (const auto& e : arr) scalars = scalars && !e.is_object() && !e.is_array();
      if (scalars) {
        compactInto(out, v);
        return;
      }
      out += "[\n";
      for (std::size_t i = 0; i < arr.size(); ++i) {
        pad(indent + 1);
        prettyInto(out, arr[i], indent + 1);
        if (i + 1 < arr.size()) out += ",";
        out += "\n";
      }
      pad(indent);
      out += "]";
      return;
    }
    default:
      compactInto(out, v);
  }
}

}  // namespace

std::string compact(const bj::value& value) {
  std::string out;
  compactInto(out, value);
  return out;
}

std::string pretty(const bj::value& value) {
  std::string out;
  prettyInto(out, value, 0);
  return out;
}

}  // namespace ymy::json
