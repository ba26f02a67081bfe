#include "redis/endpoint.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace ymy::redis {

std::string Endpoint::describe() const {
  std::string s = "redis://";
  if (!password.empty()) s += username + ":***@";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ":" + std::to_string(port) + "/" + std::to_string(db);
  return s;
}

namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// %XX decoding of user and password; nullopt on a malformed escape.
std::optional<std::string> percentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

Result<Endpoint> parseUrl(std::string_view url) {
  static constexpr std::string_view kForm = "redis://[[user]:password@]host[:port][/db]";
  // Error messages show the URL with its password replaced.
  std::string shown(url);
  auto bad = [&](const std::string& what) -> Result<Endpoint> {
    return fail(ErrorCode::kInvalidArgument,
                "redis URL \"" + shown + "\": " + what + " (expected " + std::string(kForm) + ")");
  };
  if (url.empty()) return bad("is empty");

  const auto schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos) return bad("has no scheme; it must start with redis://");
  std::string scheme(url.substr(0, schemeEnd));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });

  const std::string_view rest = url.substr(schemeEnd + 3);
  const auto authorityEnd = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authorityEnd);
  const std::string_view tail = authorityEnd == std::string_view::npos ? std::string_view{} : rest.substr(authorityEnd);
  const auto at = authority.rfind('@');
  const std::string_view userinfo = at == std::string_view::npos ? std::string_view{} : authority.substr(0, at);
  const std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (at != std::string_view::npos) {
    const auto colon = userinfo.find(':');
    // Without a colon the whole userinfo may be a password: hide all of it.
    const std::string user = colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
    shown = std::string(url.substr(0, schemeEnd + 3)) + user + "@" + std::string(hostport) + std::string(tail);
  }

  if (scheme == "rediss") return bad("TLS (rediss://) is not supported");
  if (scheme == "unix") return bad("unix sockets are not supported");
  if (scheme != "redis") return bad("scheme \"" + scheme + "\" is not redis");

  Endpoint e;
  if (at != std::string_view::npos) {
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return bad("credentials must be written :password@ or user:password@");
    auto user = percentDecode(userinfo.substr(0, colon));
    auto password = percentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return bad("credentials contain a malformed %-escape");
    if (password->empty()) return bad("password is empty");
    e.username = std::move(*user);
    e.password = std::move(*password);
  }

  std::string_view portText;
  bool hasPort = false;
  if (hostport.empty()) return bad("host is missing");
  if (hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad("IPv6 host has no closing ]");
    e.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected \"" + std::string(after) + "\" after the IPv6 host");
      portText = after.substr(1);
      hasPort = true;
    }
  } else {
    const auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos && hostport.substr(0, colon).find(':') != std::string_view::npos) {
      return bad("IPv6 hosts must be written in brackets, as [::1]:6379");
    }
    e.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = hostport.substr(colon + 1);
      hasPort = true;
    }
  }
  if (e.host.empty()) return bad("host is missing");
  if (hasPort) {
    if (portText.empty()) return bad("port is empty");
    if (!allDigits(portText) || portText.size() > 5 || std::stoi(std::string(portText)) < 1 ||
        std::stoi(std::string(portText)) > 65535) {
      return bad("port \"" + std::string(portText) + "\" is not a number from 1 to 65535");
    }
    e.port = static_cast<std::uint16_t>(std::stoi(std::string(portText)));
  }

  if (!tail.empty()) {
    if (tail.front() != '/' || tail.find_first_of("?#") != std::string_view::npos) {
      return bad("query strings and fragments are not supported");
    }
    const std::string_view db = tail.substr(1);
    if (!db.empty()) {
      if (!allDigits(db) || db.size() > 6) return bad("database \"" + std::string(db) + "\" is not a number from 0");
      e.db = std::stoi(std::string(db));
    }
  }
  return e;
}

}  // namespace ymy::redis
