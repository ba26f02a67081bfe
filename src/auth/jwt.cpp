#include "auth/jwt.hpp"

#include <sodium.h>

#include <cmath>
#include <limits>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ymy::auth {

namespace {

constexpr std::string_view kHeaderJson = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::size_t kMacBytes = crypto_auth_hmacsha256_BYTES;

tl::unexpected<Error> invalid(std::string reason) {
  return fail(ErrorCode::kUnauthenticated, "invalid token: " + std::move(reason));
}

// A NumericDate (RFC 7519 section 2): integer or not, as whole seconds.
std::optional<std::int64_t> numericDate(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (!std::isfinite(d) || std::fabs(d) > 9.0e15) return std::nullopt;
    return static_cast<std::int64_t>(std::floor(d));
  }
  return std::nullopt;
}

Result<boost::json::object> parseObject(std::string_view json, const char* what) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return invalid(std::string(what) + " is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace

struct JwtCodec::HmacState {
  crypto_auth_hmacsha256_state state;
};

std::string base64UrlEncode(std::span<const unsigned char> bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string base64UrlEncode(std::string_view text) {
  return base64UrlEncode(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

Result<std::string> base64UrlDecode(std::string_view text) {
  std::string out(text.size() * 3 / 4 + 1, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, "not base64url without padding");
  }
  out.resize(length);
  return out;
}

Result<std::unique_ptr<JwtCodec>> JwtCodec::create(std::span<const unsigned char> key, JwtOptions options,
                                                   const Clock& clock) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (key.empty()) return fail(ErrorCode::kInvalidArgument, "jwt: the signing key is empty");
  if (options.ttl <= std::chrono::seconds::zero()) return fail(ErrorCode::kInvalidArgument, "jwt.ttl must be positive");
  if (options.leeway < std::chrono::seconds::zero()) {
    return fail(ErrorCode::kInvalidArgument, "jwt.leeway must not be negative");
  }
  if (options.maxTokenBytes < 64) return fail(ErrorCode::kInvalidArgument, "jwt.maxTokenBytes must be at least 64");
  auto keyed = std::make_unique<HmacState>();
  crypto_auth_hmacsha256_init(&keyed->state, key.data(), key.size());
  return std::unique_ptr<JwtCodec>(new JwtCodec(std::move(keyed), std::move(options), clock));
}

JwtCodec::JwtCodec(std::unique_ptr<HmacState> keyed, JwtOptions options, const Clock& clock)
    : keyed_(std::move(keyed)), options_(std::move(options)), clock_(clock) {}

JwtCodec::~JwtCodec() {
  if (keyed_) sodium_memzero(&keyed_->state, sizeof keyed_->state);
}

void JwtCodec::mac(std::string_view signingInput, unsigned char out[32]) const {
  // The key's inner and outer pads were hashed once in create(); each token
  // continues from a copy of that state.
  crypto_auth_hmacsha256_state state = keyed_->state;
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signingInput.data()),
                                signingInput.size());
  crypto_auth_hmacsha256_final(&state, out);
  sodium_memzero(&state, sizeof state);
}

std::string JwtCodec::signRaw(std::string_view headerJson, std::string_view payloadJson) const {
  return signSegments(base64UrlEncode(headerJson), base64UrlEncode(payloadJson));
}

std::string JwtCodec::signSegments(std::string_view headerSegment, std::string_view payloadSegment) const {
  std::string token(headerSegment);
  token += '.';
  token += payloadSegment;
  unsigned char signature[kMacBytes];
  mac(token, signature);
  token += '.';
  token += base64UrlEncode(std::span<const unsigned char>(signature, kMacBytes));
  return token;
}

std::string JwtCodec::signPayload(const boost::json::object& payload) const {
  return signRaw(kHeaderJson, boost::json::serialize(payload));
}

std::string JwtCodec::issue(std::string_view subject, std::string_view tier) const {
  const std::int64_t now = clock_.epochMillis() / 1000;
  boost::json::object payload;
  payload["iss"] = options_.issuer;
  if (!options_.audience.empty()) payload["aud"] = options_.audience;
  payload["sub"] = subject;
  if (!tier.empty()) payload["tier"] = tier;
  payload["iat"] = now;
  payload["nbf"] = now;
  payload["exp"] = now + options_.ttl.count();
  return signPayload(payload);
}

Result<Claims> JwtCodec::verify(std::string_view token) const {
  if (token.size() > options_.maxTokenBytes) {
    return invalid("too large (" + std::to_string(token.size()) + " bytes; at most " +
                   std::to_string(options_.maxTokenBytes) + ")");
  }
  const auto firstDot = token.find('.');
  const auto secondDot = firstDot == std::string_view::npos ? firstDot : token.find('.', firstDot + 1);
  if (secondDot == std::string_view::npos || token.find('.', secondDot + 1) != std::string_view::npos) {
    return invalid("expected 3 segments separated by '.'");
  }
  const std::string_view headerPart = token.substr(0, firstDot);
  const std::string_view payloadPart = token.substr(firstDot + 1, secondDot - firstDot - 1);
  const std::string_view signaturePart = token.substr(secondDot + 1);
  if (headerPart.empty()) return invalid("header segment is empty");

  // Header: how the token claims to be signed.
  auto headerJson = base64UrlDecode(headerPart);
  if (!headerJson) return invalid("header is not base64url");
  auto header = parseObject(*headerJson, "header");
  if (!header) return tl::unexpected(header.error());
  const auto* alg = header->if_contains("alg");
  if (alg == nullptr) return invalid("header has no 'alg'");
  if (!alg->is_string()) return invalid("header 'alg' is not a string");
  if (alg->get_string() != "HS256") {
    return invalid("algorithm '" + std::string(alg->get_string().subview().substr(0, 32)) +
                   "' is not allowed (only HS256)");
  }
  if (const auto* typ = header->if_contains("typ");
      typ != nullptr && !(typ->is_string() && typ->get_string() == "JWT")) {
    return invalid("header 'typ' is not JWT");
  }
  if (header->contains("crit")) return invalid("header 'crit' names extensions this server does not understand");

  // Signature, compared in constant time. (An unsigned token, "alg":"none"
  // with an empty third segment, was refused above by its algorithm.)
  if (payloadPart.empty()) return invalid("payload segment is empty");
  if (signaturePart.empty()) return invalid("signature segment is empty");
  auto signature = base64UrlDecode(signaturePart);
  if (!signature) return invalid("signature is not base64url");
  if (signature->size() != kMacBytes) return invalid("bad signature (wrong length)");
  unsigned char expected[kMacBytes];
  mac(token.substr(0, secondDot), expected);
  if (sodium_memcmp(expected, signature->data(), kMacBytes) != 0) return invalid("bad signature");

  // Claims.
  auto payloadJson = base64UrlDecode(payloadPart);
  if (!payloadJson) return invalid("payload is not base64url");
  auto payload = parseObject(*payloadJson, "payload");
  if (!payload) return tl::unexpected(payload.error());

  const std::int64_t now = clock_.epochMillis() / 1000;
  const std::int64_t leeway = options_.leeway.count();
  Claims claims;
  const auto* exp = payload->if_contains("exp");
  if (exp == nullptr) return invalid("missing 'exp'");
  const auto expiresAt = numericDate(*exp);
  if (!expiresAt) return invalid("'exp' is not a number");
  if (now >= *expiresAt + leeway) return invalid("expired");
  claims.expiresAt = *expiresAt;
  if (const auto* nbf = payload->if_contains("nbf")) {
    const auto notBefore = numericDate(*nbf);
    if (!notBefore) return invalid("'nbf' is not a number");
    if (*notBefore > now + leeway) return invalid("not yet valid (nbf is in the future)");
  }
  if (const auto* iat = payload->if_contains("iat")) {
    const auto issuedAt = numericDate(*iat);
    if (!issuedAt) return invalid("'iat' is not a number");
    if (*issuedAt > now + leeway) return invalid("issued in the future (iat)");
    claims.issuedAt = *issuedAt;
  }

  const auto* iss = payload->if_contains("iss");
  if (iss == nullptr) return invalid("missing 'iss'");
  if (!iss->is_string() || iss->get_string() != options_.issuer) return invalid("wrong issuer");
  if (!options_.audience.empty()) {
    const auto* aud = payload->if_contains("aud");
    if (aud == nullptr) return invalid("missing 'aud'");
    bool match = false;
    if (aud->is_string()) {
      match = aud->get_string() == options_.audience;
    } else if (aud->is_array()) {
      for (const auto& a : aud->get_array()) match = match || (a.is_string() && a.get_string() == options_.audience);
    }
    if (!match) return invalid("wrong audience");
  }

  const auto* sub = payload->if_contains("sub");
  if (sub == nullptr || !sub->is_string() || sub->get_string().empty()) return invalid("missing 'sub'");
  claims.subject = std::string(sub->get_string());
  if (const auto* tier = payload->if_contains("tier")) {
    if (!tier->is_string()) return invalid("'tier' is not a string");
    claims.tier = std::string(tier->get_string());
  }
  claims.raw = std::move(*payload);
  return claims;
}

}  // namespace ymy::auth
