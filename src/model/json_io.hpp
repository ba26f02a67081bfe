#pragma once
// Reading JSON from users with errors that name the field path
// ("canvas.nodes[2].position.x: expected a number, got a string").
//
// Reader walks a parsed value; its accessors throw ShapeError, which the
// public parse functions of this module catch at their boundary and return as
// Error values. Nothing outside `model` sees the exception.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy::json {

struct ShapeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses text; on failure the error says where ("line 3, column 14").
// `what` names the document in the message ("canvas file x.json").
Result<boost::json::value> parse(std::string_view text, std::string_view what);

// Reads and parses a file, refusing files larger than `maxBytes`.
Result<boost::json::value> parseFile(const std::filesystem::path& path, std::string_view what,
                                     std::uintmax_t maxBytes = 16u << 20);

// Read-only view of a value at a path. Cheap to copy; refers into the value.
class Reader {
 public:
  Reader(const boost::json::value& value, std::string path);

  const std::string& path() const { return path_; }
  const boost::json::value& value() const { return *value_; }

  // Required member; throws "path.key: required field is missing".
  Reader at(std::string_view key) const;
  // Optional member: nullopt when absent or null.
  std::optional<Reader> find(std::string_view key) const;

  const boost::json::object& object() const;
  std::vector<Reader> items() const;  // elements of an array
  std::string str() const;
  double number() const;
  std::int64_t integer() const;
  bool boolean() const;
  std::vector<std::string> strings() const;  // array of strings

  // Optional members with defaults.
  std::string strOr(std::string_view key, std::string fallback) const;
  double numberOr(std::string_view key, double fallback) const;
  bool booleanOr(std::string_view key, bool fallback) const;
  std::vector<std::string> stringsOr(std::string_view key) const;

  [[noreturn]] void fail(const std::string& message) const;

 private:
  const boost::json::value* value_;
  std::string path_;
};

// Name of a JSON kind for messages: "an object", "a string", ...
const char* kindName(const boost::json::value& value);

// Runs a reading function, turning ShapeError into an invalid-argument Error.
template <class F>
auto guarded(F&& read) -> Result<decltype(read())> {
  try {
    return read();
  } catch (const ShapeError& e) {
    return ymy::fail(ErrorCode::kInvalidArgument, e.what());
  }
}

// Pretty-printed JSON (2-space indent), for files and terminal output.
std::string pretty(const boost::json::value& value);
// One-line JSON; like pretty(), doubles print as "0.9", not "9E-1".
std::string compact(const boost::json::value& value);

}  // namespace ymy::json
