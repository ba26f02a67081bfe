#pragma once
// JSON Web Tokens, HS256 only (RFC 7519 with RFC 7515's compact form),
// signed with the server secret.
//
// issue() writes {"alg":"HS256","typ":"JWT"} and the claims iss, aud, sub,
// tier, iat, nbf and exp (iat = nbf = now, exp = now + ttl, seconds since the
// epoch from the injected Clock).
//
// verify() accepts a token only when every check below passes, in this order,
// and otherwise returns kUnauthenticated whose message starts "invalid token: "
// and names the reason:
//   - at most maxTokenBytes ("too large")
//   - exactly three non-empty base64url segments without padding
//     ("expected 3 segments", "... is not base64url")
//   - a header that is a JSON object whose "alg" is exactly "HS256": "none",
//     "hs256", "HS384", a missing or non-string alg are all refused
//     ("algorithm 'none' is not allowed"); "typ", when present, is "JWT"; a
//     "crit" header is refused (we understand no extensions)
//   - a 32-byte signature equal, in constant time, to HMAC-SHA256 of
//     "header.payload" ("bad signature")
//   - a payload that is a JSON object
//   - "exp" present and a number, now < exp + leeway ("expired")
//   - "nbf" and "iat", when present, numbers not after now + leeway
//     ("not yet valid", "issued in the future")
//   - "iss" equal to options.issuer; "aud" equal to, or an array containing,
//     options.audience (when the option is empty, aud is not checked)
//   - "sub" a non-empty string; "tier", when present, a string
// The header is checked before the signature (it is not secret and says how
// to check it); the payload is parsed only after the signature holds.
//
// Thread-safe: a codec is immutable after create().

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace ymy::auth {

struct JwtOptions {
  std::string issuer = "youmeyou";
  std::string audience = "youmeyou-api";  // empty: aud is not checked
  std::chrono::seconds leeway{30};        // clock skew allowed on exp, nbf and iat
  std::chrono::seconds ttl{3600};         // issued tokens' lifetime
  std::size_t maxTokenBytes = 8 * 1024;
};

struct Claims {
  std::string subject;         // sub: the user id
  std::string tier;            // empty when the token carries none
  std::int64_t issuedAt = 0;   // iat, epoch seconds (0 when absent)
  std::int64_t expiresAt = 0;  // exp, epoch seconds
  boost::json::object raw;     // the whole payload
};

// base64url without padding (RFC 7515 section 2), as JWT segments use it.
std::string base64UrlEncode(std::span<const unsigned char> bytes);
std::string base64UrlEncode(std::string_view text);
// nullopt-like error when `text` is not strict base64url without padding.
Result<std::string> base64UrlDecode(std::string_view text);

class JwtCodec {
 public:
  // `key`: the HMAC key (the server secret; any length, but secret.hpp
  // requires 32 bytes or more). kInvalidArgument for an empty key, ttl <= 0,
  // a negative leeway or maxTokenBytes under 64. `clock` must outlive the codec.
  static Result<std::unique_ptr<JwtCodec>> create(std::span<const unsigned char> key, JwtOptions options,
                                                  const Clock& clock);
  ~JwtCodec();
  JwtCodec(const JwtCodec&) = delete;
  JwtCodec& operator=(const JwtCodec&) = delete;

  // A signed token for `subject` (non-empty) and `tier`.
  std::string issue(std::string_view subject, std::string_view tier) const;
  // Signs any payload as given (tests use it to build tokens with odd claims).
  std::string signPayload(const boost::json::object& payload) const;
  // Signs raw segments: base64url(header) "." base64url(payload), signed as
  // they are. For tests that need malformed headers or payloads.
  std::string signRaw(std::string_view headerJson, std::string_view payloadJson) const;
  // Signs two segments exactly as given (not encoded): "h.p.signature".
  std::string signSegments(std::string_view headerSegment, std::string_view payloadSegment) const;

  Result<Claims> verify(std::string_view token) const;

  const JwtOptions& options() const { return options_; }

 private:
  struct HmacState;  // libsodium's HMAC-SHA256 state, keyed once
  JwtCodec(std::unique_ptr<HmacState> keyed, JwtOptions options, const Clock& clock);
  void mac(std::string_view signingInput, unsigned char out[32]) const;

  // Constant after construction.
  const std::unique_ptr<HmacState> keyed_;
  const JwtOptions options_;
  const Clock& clock_;
};

}  // namespace ymy::auth
