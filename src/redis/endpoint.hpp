#pragma once
// Where Redis is, parsed from a `redis://` URL. Pure values, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace ymy::redis {

// From `redis://[[user]:password@]host[:port][/db]`.
struct Endpoint {
  std::string host;           // a name, an IPv4 address, or an IPv6 address (written in [] in the URL)
  std::uint16_t port = 6379;  // when the URL has none
  std::string username;       // Redis 6 ACL user; empty = AUTH with the password only
  std::string password;       // empty = no AUTH
  int db = 0;                 // SELECTed when not 0

  // "redis://host:port/db", with the password masked: safe for logs.
  std::string describe() const;
};

// Parses a --redis URL. User and password may be percent-encoded. Errors
// (kInvalidArgument) name the part that is wrong and never echo the password.
Result<Endpoint> parseUrl(std::string_view url);

}  // namespace ymy::redis
