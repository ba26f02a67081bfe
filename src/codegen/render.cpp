// The only translation unit that includes the Mustache library.

#include <charconv>
#include <string_view>
#include <system_error>

#include <kainjow/mustache.hpp>

#include <boost/json/serialize.hpp>

#include "codegen/internal.hpp"

namespace ymy::codegen::detail {

namespace {

namespace mu = kainjow::mustache;

mu::data toData(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      mu::data out{mu::data::type::object};
      for (const auto& [key, member] : value.get_object()) out.set(std::string(key), toData(member));
      return out;
    }
    case boost::json::kind::array: {
      mu::data out{mu::data::type::list};
      for (const auto& item : value.get_array()) out.push_back(toData(item));
      return out;
    }
    case boost::json::kind::string:
      return mu::data{std::string(value.get_string())};
    case boost::json::kind::bool_:
      return value.get_bool() ? mu::data{mu::data::type::bool_true} : mu::data{mu::data::type::bool_false};
    case boost::json::kind::null:
      return mu::data{mu::data::type::bool_false};
    case boost::json::kind::double_: {
      // Shortest text that reads back the same ("2.5", not Boost's "2.5E0").
      char buffer[32];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.get_double());
      return mu::data{ec == std::errc{} ? std::string(buffer, end) : boost::json::serialize(value)};
    }
    default:
      // Integers: their decimal text.
      return mu::data{boost::json::serialize(value)};
  }
}

// Mustache drops a line that holds only a section tag ("standalone"), but
// kainjow keeps the newline of such a line when the section is skipped, and
// drops a blank line that follows a section. Instead, each standalone tag gets
// a marker after it, so the library sees no standalone lines at all, and the
// marker with its newline is cut from the output: the specified result.
constexpr char kMarker = '\x01';

std::string markStandaloneTags(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    const bool newline = end != std::string::npos;
    if (!newline) end = text.size();
    std::size_t first = text.find_first_not_of(" \t", start);
    std::size_t last = end;
    while (last > start && (text[last - 1] == ' ' || text[last - 1] == '\t' || text[last - 1] == '\r')) --last;
    const bool standalone = first != std::string::npos && first + 5 <= last && text.compare(first, 2, "{{") == 0 &&
                            std::string_view("#^/!").find(text[first + 2]) != std::string_view::npos &&
                            text.compare(last - 2, 2, "}}") == 0 && text.find("}}", first) == last - 2;  // one tag only
    if (standalone) {
      out.append(text, first, last - first);
      out += kMarker;
    } else {
      out.append(text, start, end - start);
    }
    if (newline) out += '\n';
    start = end + 1;
  }
  return out;
}

std::string dropMarkers(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != kMarker) {
      out += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
    }
  }
  return out;
}

}  // namespace

Result<std::string> renderMustache(const std::string& name, const std::string& text, const boost::json::value& data) {
  mu::mustache tmpl{markStandaloneTags(text)};
  if (!tmpl.is_valid()) return fail(ErrorCode::kInternal, "template " + name + ": " + tmpl.error_message());
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  std::string out = tmpl.render(toData(data));
  if (!tmpl.is_valid()) return fail(ErrorCode::kInternal, "template " + name + ": " + tmpl.error_message());
  return dropMarkers(out);
}

}  // namespace ymy::codegen::detail
